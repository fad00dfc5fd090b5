"""Requests and events between the app (or CLI) and the runner, one JSON object per line.

request   {"id": 7, "method": "run", "params": {...}}
event     {"id": 7, "event": "progress", "what": "launch", "info": {...}}
response  {"id": 7, "result": {...}}  or  {"id": 7, "error": {"message": ..., "diagnostics": [...],
                                                              "fatal": false}}

Large arrays never travel in a line: they are written as .npy files in the workspace and
named by path. A request's method is the runner's ``do_<method>`` (``server.py``); any other is
answered "unknown method". This module imports nothing heavy, so the TUI process can use it.
"""

from __future__ import annotations

import json
from typing import Any

PROTOCOL_VERSION = 1


def encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, default=_default, allow_nan=True) + "\n").encode()


def decode(line: bytes | str) -> dict[str, Any]:
    return json.loads(line)


def _default(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if hasattr(value, "__fspath__"):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def level_name(level: str) -> str:
    """How a reason names a level: Python, TTIR, TTGIR, LLIR, PTX, CUBIN."""
    return "Python" if level == "python" else level.upper()


def version_name(version: str) -> str:
    return "original" if version == "original" else f"version {version}"


def diagnostic_line(d: dict) -> str:
    """A diagnostic as it came over the pipe, as the user reads it: ``FILE:LINE:COL: error: text``
    (a part that is unknown is left out, never printed as ``None``)."""
    where = ":".join(str(x) for x in (d.get("file"), d.get("line"), d.get("column", d.get("col")))
                     if x not in (None, ""))
    return f"{where}: {d.get('severity') or 'error'}: {d.get('message')}" if where else \
        f"{d.get('severity') or 'error'}: {d.get('message')}"


class RunnerError(Exception):
    """A request the runner answered with an error (bad input, a compile error, a fault)."""

    def __init__(self, message: str, diagnostics: list[dict] | None = None, fatal: bool = False,
                 kind: str = "error", traceback: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics = diagnostics or []
        self.fatal = fatal
        self.kind = kind
        self.traceback = traceback  # the runner's, where the error is a bug of ours

    def lines(self) -> list[str]:
        """Compiler-style lines, ``FILE:LINE:COL: error: text``."""
        if not self.diagnostics:
            return [f"error: {self.message}"]
        return [diagnostic_line(d) for d in self.diagnostics]


class RunnerCrashed(RunnerError):
    """The runner died or was stopped (a fault, a hang, a signal); it has been restarted."""

    def __init__(self, reason: str, diagnostics: list[dict] | None = None) -> None:
        super().__init__(reason, diagnostics, fatal=True, kind="crash")
        self.reason = reason

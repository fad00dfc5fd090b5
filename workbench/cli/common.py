"""What the commands share: exit codes, the script's time limit, the runner each command's work
goes to, and the tables."""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import re
import sys
from typing import Any, Callable, Iterator

from workbench.model.compile_table import AMD_STAGE_COLUMNS, STAGE_COLUMNS

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE_OR_INPUT = 0, 1, 2
DEFAULT_SCRIPT_TIMEOUT = 300.0

LEVEL_SUFFIXES = (".ttir", ".ttgir", ".llir", ".ptx", ".cubin", ".amdgcn", ".hsaco")

# what each command's user does when the system refuses a file (read-only, full)
ELSEWHERE = {"compile": "--out DIR writes the levels elsewhere", "run": "--workspace DIR puts the workspace elsewhere",
             "export": "--out DIR writes the export elsewhere"}


def add_script_timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument("--script-timeout", type=float, default=DEFAULT_SCRIPT_TIMEOUT, metavar="S",
                   help="the script is stopped after S seconds, at the line it is on; launches it made are "
                        f"kept (default {DEFAULT_SCRIPT_TIMEOUT:.0f} s)")


class RunnerFailed(Exception):
    """The command's runner gave no answer (it died or was stopped, or a bug of ours in it):
    said in ``lines``, exit ``status``."""

    def __init__(self, lines: list[str], status: int = EXIT_USAGE_OR_INPUT) -> None:
        super().__init__("\n".join(lines))
        self.lines, self.status = lines, status


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C, so the command's runner is stopped on the way out.
    ``stuck_at``: where the runner's script was, when it could not be interrupted."""

    stuck_at: str | None = None


@contextlib.contextmanager
def runner(command: str) -> Iterator[Callable[..., Any]]:
    """A runner of the command's own, which alone imports torch and triton: yields ``ask(method,
    **params)``. The script's prints (the runner's stderr) go on to stderr as they come; when the
    block ends the runner is gone and its last lines are out, so what the command says after
    comes after them. No limit but the script's (``--script-timeout``): a command takes as long as
    its work; no restart: the command ends with its request."""
    from workbench.runner.client import RunnerClient
    client = RunnerClient(kernel_timeout=math.inf, on_log=_PassOn(), restart=False)
    with client:
        try:
            yield functools.partial(_ask, client, ELSEWHERE.get(command, ""))
        except Stopped as e:
            e.stuck_at = client.interrupt()
            raise


# faulthandler's dump of the runner's stack: a header, then frames and blank lines
_DUMP_HEAD = re.compile(r"(Timeout \(\d+:\d\d:\d\d\)!|(Current thread|Thread) 0x[0-9a-f]+ |Stack \(most recent call first\))")
_DUMP_FRAME = re.compile(r'  File ".*", line \d+ in ')


class _PassOn:
    """The runner's stderr on to the command's, but for faulthandler's dumps of its stack (the
    client reads them from its log to say where a script was stuck)."""

    def __init__(self) -> None:
        self.in_dump = False

    def __call__(self, line: str) -> None:
        if _DUMP_HEAD.match(line):
            self.in_dump = True
        elif not (self.in_dump and (not line.strip() or _DUMP_FRAME.match(line))):
            self.in_dump = False
            print(line, file=sys.stderr, flush=True)


def _ask(client, elsewhere: str, method: str, **params) -> Any:
    """One request; an error the user can cause is a WorkbenchError (one line each, exit 2)."""
    from workbench.model.diagnostics import Diagnostic, WorkbenchError
    from workbench.runner.protocol import RunnerCrashed, RunnerError
    try:
        return client.call(method, timeout=math.inf, elsewhere=elsewhere, **params)
    except RunnerError as e:
        if e.diagnostics:
            raise WorkbenchError([Diagnostic(d.get("file") or "", d.get("line"), d.get("col", d.get("column")),
                                             d.get("message") or "", d.get("severity") or "error")
                                  for d in e.diagnostics]) from None
        if isinstance(e, RunnerCrashed):
            raise RunnerFailed([f"error: {e.reason}"]) from None
        # a bug of ours: its traceback, as the command printed it when the engine ran in its process
        raise RunnerFailed([*e.traceback.rstrip().splitlines(), f"error: {e.message}"], 1) from None


def diagnostic_line(d: dict) -> str:
    """A diagnostic the runner sent, as the command prints one: ``FILE:LINE:COL: error: text``."""
    from workbench.model.diagnostics import Diagnostic
    return str(Diagnostic(**d))


def said(answer: dict[str, Any]) -> None:
    """What the script's run left to say (its error, the notes), then what stopped the command."""
    from workbench.model.diagnostics import Diagnostic, WorkbenchError
    if answer.get("script_error"):
        print(diagnostic_line(answer["script_error"]), file=sys.stderr)
    for note in answer.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    if answer.get("error"):
        raise WorkbenchError([Diagnostic(**d) for d in answer["error"]["diagnostics"]])


STAGE_LABELS = {s: f"{s} ms" for s in STAGE_COLUMNS + AMD_STAGE_COLUMNS}


def print_table(rows: list[dict[str, Any]], target: str) -> None:
    if not rows:
        return
    print(f"target {target}")
    print_rows(rows)


def print_rows(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    headers = list(rows[0].keys())
    cols = [STAGE_LABELS.get(h, h) for h in headers]
    widths = [max(len(c), *(len(str(r[h])) for r in rows)) for c, h in zip(cols, headers)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip())
    for r in rows:
        print("  ".join(str(r[h]).ljust(w) for h, w in zip(headers, widths)).rstrip())

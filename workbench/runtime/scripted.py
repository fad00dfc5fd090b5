"""The user's script run for a request, with its runner's client told: a ``script`` event before
arms the client's backstop for the script's time limit (a script stuck in code that cannot be
interrupted), a ``compile`` event after disarms it (the compiles that follow have no such limit)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from workbench.runtime.capture.model import Capture
from workbench.runtime.capture.script import run_script

Progress = Callable[[str, dict], None]


def run_watched(script: str | Path, progress: Progress | None = None, **kwargs) -> Capture:
    """:func:`run_script` with ``progress`` (the runner's) said around it."""
    if progress is not None:
        progress("script", {"script": str(script), "mode": kwargs.get("mode", "auto")})
    try:
        return run_script(script, **kwargs)
    finally:
        if progress is not None:
            progress("compile", {})

"""The app in a real terminal: a tmux server of the test's own, and what its pane shows."""

from __future__ import annotations

import shutil
import subprocess
import time

TMUX = shutil.which("tmux")


def screen(socket: str, session: str) -> str:
    proc = subprocess.run([TMUX, "-L", socket, "capture-pane", "-p", "-t", session], capture_output=True, text=True)
    return proc.stdout


def wait_screen(socket: str, session: str, needle: str | tuple[str, ...], timeout: float = 120.0) -> str:
    needles = (needle,) if isinstance(needle, str) else needle
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(socket, session)
        if any(n in text for n in needles):
            return text
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never showed; the screen:\n{text}")

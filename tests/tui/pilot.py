"""Driving the real app through Textual's Pilot: waiting for what the screen says, the sizes and
bench options the app tests share. (Fixtures are in this folder's conftest.py.)"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from rich.console import Console
from textual.app import App

from helpers import has_cuda
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.code_view import CodeView

GPU = has_cuda()  # the test process (not the app's) may look
FAST_BENCH = {"warmup_ms": 1.0, "rep_ms": 5.0, "graph": False}
SIZE = (180, 50)


async def wait_for(pilot, condition, timeout: float = 90.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.05)
    log = "\n".join(pilot.app.log_view.lines_text[-20:])
    raise AssertionError(f"timed out waiting for {what or condition}; status: {pilot.app.status.message}; "
                         f"the Log's last lines:\n{log}")


async def opened(pilot) -> WorkbenchApp:
    app = pilot.app
    await wait_for(pilot, lambda: app.last_good is not None, what="the original's run")
    return app


async def edit_and_save(pilot, app, old: str, new: str, version: str = "1", level: str = "python"):
    """The user's edit in a pane: ``e``, ``old`` replaced by ``new`` in the editor, ctrl+s; then
    that version's result waited for. The pane."""
    pane = app.pane(level)
    pane.view.focus()
    await pilot.press("e")
    await pilot.pause()
    assert old in pane.editor.text, old
    pane.editor.load_text(pane.editor.text.replace(old, new))
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: app.last_good is not None and app.last_good.version == version,
                   what=f"version {version}")
    return pane


def line_of(view: CodeView, needle: str) -> int:
    return next(n for n in range(1, view.line_count + 1) if needle in view.line_text(n))


def title(app, level: str) -> str:
    return str(app.column(level).query_one(".level-title").render())


def outside_save(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def screen_text(app: App) -> str:
    """What the terminal holds now: the screen as its compositor last laid it out (as a
    screenshot draws it), in plain text."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True,
                      force_terminal=True, color_system=None, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()

"""The Sanitize tab: the version shown under NVIDIA's compute-sanitizer (``Z``).

The runner exports the version and the original (it holds the captured inputs; one export of
each serves the session: a version never changes); ``python -m workbench sanitize EXPORT
--original EXPORT --workspace W --json`` then runs in a process of its own (the tool replays the
kernel under instrumentation and takes seconds; the original's findings are kept in the
workspace), from a thread, so editing goes on. Its JSON fills the view: "no errors" with the
tools that ran, or each error in one row (new against the original, the access and where it
fell, the line of each level shown in the panes that it folds to, the first thread and block);
Enter on a row puts the panes' cursors on those lines.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from workbench.tui.widgets.table import TableView
from workbench.tui.widgets.tool_process import ToolProcess, error_line
from workbench.tui.format import LEVELS, version_label

EMPTY = ("no check yet: Z sanitizes the version shown under compute-sanitizer (memcheck; every tool: the "
         "palette's 'Sanitize under every tool')")
COLUMNS = ("new", "tool", "error", "lines", "first thread")   # (narrow: the thread goes out of sight first)


@dataclass
class Started:
    """What a check was asked for: the kernel (its name and spec id), the version, the tools."""

    kernel: str
    spec_id: str
    version: str
    tools: list[str]
    at: float = field(default_factory=time.time)


def said_tools(tools: list[str]) -> str:
    return ", ".join(tools)


def error_count(n: int) -> str:
    return f"{n} error{'s' if n != 1 else ''}"


class SanitizeView(ToolProcess, Vertical):
    DEFAULT_CSS = """
    SanitizeView > #sanitize-title { height: auto; padding: 0 1; }
    SanitizeView > DataTable { height: 1fr; }
    """

    class Done(Message):
        def __init__(self, started: Started, result: dict | None, error: str | None, seconds: float) -> None:
            super().__init__()
            self.started, self.result, self.error, self.seconds = started, result, error, seconds

    class Picked(Message):
        """An error chosen (Enter): each level's lines it folds to."""

        def __init__(self, lines: dict[str, list[int]]) -> None:
            super().__init__()
            self.lines = lines

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, id="sanitize-title", markup=False)
        yield TableView(id="sanitize-table", zebra_stripes=True, cursor_type="row")

    def on_mount(self) -> None:
        self.running: Started | None = None
        self.started: Started | None = None   # the check shown (or coming)
        self.result: dict[str, Any] | None = None
        self.rows: list[tuple[str, ...]] = []
        self._folds: list[dict[str, list[int]]] = []   # each row's lines, by level
        self.init_tool()
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        table.display = False

    # -- running -------------------------------------------------------------------------------

    def start(self, started: Started, workspace: str | None) -> None:
        self.running = self.started = started
        self.result = None
        self._show_title(f"sanitizing {started.kernel} {version_label(started.version)} under "
                         f"{said_tools(started.tools)}…")
        self._work(started, workspace)

    @work(exclusive=True, group="sanitize", exit_on_error=False)
    async def _work(self, started: Started, workspace: str | None) -> None:
        t0 = time.monotonic()
        try:
            folder = await self.export(started.spec_id, started.version)
            command = [sys.executable, "-m", "workbench", "sanitize", folder, "--json"]
            if started.version != "original":
                command += ["--original", await self.export(started.spec_id, "original")]
                command += ["--workspace", workspace] if workspace else []
            command += ["--all"] if len(started.tools) > 1 else ["--tool", started.tools[0]]
            # (compute-sanitizer's own process, minutes long: waited for on a thread)
            status, out, err = await asyncio.to_thread(self.run_tool, command)
        except Exception as e:  # noqa: BLE001 - the runner's answer (an export refused), shown as it is
            self.post_message(self.Done(started, None, getattr(e, "message", None) or str(e), time.monotonic() - t0))
            return
        try:
            result = json.loads(out)   # (exit status 1: the version has errors, said in the JSON)
        except ValueError:
            self.post_message(self.Done(started, None, error_line(err, status, "workbench sanitize"),
                                        time.monotonic() - t0))
            return
        self.post_message(self.Done(started, result, None, time.monotonic() - t0))

    def on_sanitize_view_done(self, msg: Done) -> None:
        """(It bubbles on to the app: its controller says so on the status line and in History.)"""
        self.running = None
        if msg.started is not self.started:
            return
        if msg.error is not None:
            self._show_title(f"{msg.started.kernel} {version_label(msg.started.version)}: {msg.error}")
            return
        self.result = msg.result
        self.refill()

    def clear(self) -> None:
        """Another kernel on screen: the empty state (a check still running is not shown when it ends)."""
        self.started, self.result = None, None
        self._show_title(EMPTY)

    # -- showing -------------------------------------------------------------------------------

    def title_text(self) -> str:
        return str(self.query_one("#sanitize-title", Static).render())

    def _show_title(self, text: str) -> None:
        self.query_one("#sanitize-title", Static).update(text)
        self.rows, self._folds = [], []
        table = self.query_one(DataTable)
        table.clear()
        table.display = False   # (its header alone under "no errors" says nothing)

    def refill(self) -> None:
        """The result, each error's lines at the levels the panes show now."""
        if self.result is None or self.started is None:
            return
        started, reports = self.started, self.result["version"]
        label = f"{started.kernel} {version_label(started.version)}"
        errors = [e for r in reports for e in r["errors"]]
        if not errors:
            self._show_title(f"{label}: no errors ({said_tools([r['tool'] for r in reports])})")
            return
        self._show_title(f"{label} under {said_tools([r['tool'] for r in reports])}: {summary(self.result)}; "
                         "Enter: the panes at its lines")
        shown = [lv for lv in LEVELS if lv in self.app.main.shown_levels]
        table = self.query_one(DataTable)
        table.display = True
        for e in errors:
            fold = folded(e["places"])
            new = {True: "new", False: ""}.get(e.get("new"), "-")
            who = "-" if not e.get("thread") else f"thread {xyz(e['thread'])} block {xyz(e['block'])}"
            if e.get("count", 1) > 1:
                who += f" (+{e['count'] - 1})"
            at = " · ".join(f"{self.app.family.title(lv)} {', '.join(map(str, fold[lv][:2]))}"
                            for lv in shown if fold.get(lv))
            row = (new, e["tool"], e["what"], at or "no line: " + e["line"].rsplit(": ", 1)[-1], who)
            self.rows.append(row)
            self._folds.append(fold)
            table.add_row(*row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self._folds):
            self.post_message(self.Picked(self._folds[event.cursor_row]))


def summary(result: dict) -> str:
    """``1 error, 1 new (the original: none, kept from an earlier check)``."""
    reports, originals = result["version"], result.get("original") or []
    n = sum(len(r["errors"]) for r in reports)
    out = error_count(n)
    if originals:
        new = sum(1 for r in reports for e in r["errors"] if e.get("new"))
        m = sum(len(o["errors"]) for o in originals)
        kept = all(o.get("cached") for o in originals)
        out += f", {new} new (the original: {error_count(m) if m else 'none'}" + \
               (", kept from an earlier check)" if kept else ")")
    return out


def folded(places: list[dict]) -> dict[str, list[int]]:
    """Each level's lines of an error's instructions (a race has two), in order, once each."""
    out: dict[str, list[int]] = {}
    for p in places:
        lines = dict(p.get("lines") or {})
        if p.get("python"):
            lines["python"] = [p["python"][1]]
        if p.get("sass_line") is not None:
            lines["sass"] = [p["sass_line"]]
        for level, ns in lines.items():
            out.setdefault(level, []).extend(n for n in ns if n not in out.get(level, []))
    return out


def xyz(t: list[int]) -> str:
    return "(" + ",".join(str(v) for v in t) + ")"

"""The Dumps tab: the value under the cursor (or typed in its field) dumped from inside the
kernel, and where a version's values first leave the original's (``app.dumps``)."""

from __future__ import annotations

import re

from workbench.tui import widgets as views
from workbench.tui.format import LEVELS, version_label
from workbench.tui.messages import DivergeDone, DumpDone
from workbench.tui.main_screen import after_rest
from workbench.tui.runner_link import worker
from workbench.tui.widgets.code_view import CodeView


class DumpsFeature:
    def __init__(self, app) -> None:
        self.app = app
        self.last_diverge: dict | None = None      # the last first-divergence answer

    def value_under_cursor(self) -> tuple[CodeView, str] | None:
        """The focused pane and the Python variable or SSA value / register under its cursor."""
        focused = self.app.focused
        if not isinstance(focused, CodeView) or self.app.current is None:
            self.app.notify("put the cursor on a value in a level pane first", severity="warning")
            return None
        if focused.level == "python":
            text = focused.line_text(focused.cursor_line)
            name = next((m.group(0) for m in re.finditer(r"[A-Za-z_]\w*", text)
                         if m.start() <= focused.cursor_column < m.end()), None)
            name = name or next(iter(re.findall(r"^\s*([A-Za-z_]\w*)\s*=", text)), None)
        else:
            name = focused.name_at()
        if not name:
            self.app.notify("no value under the cursor", severity="warning")
            return None
        return focused, name

    def action_dump_here(self) -> None:
        found = self.value_under_cursor()
        if found is None:
            return
        focused, name = found
        dumps = self.app.query_one(views.DumpsView)
        dumps.set_request(name, focused.level)
        self.app.main.action_results("dumps")
        self.dump(name, focused.level, focused.cursor_line if focused.level == "python" else None)

    def action_dumps_tab(self) -> None:
        """The Dumps tab, ready to type a value's name into."""
        self.app.main.action_results("dumps", field=True)

    def _ttir_value_for(self, name: str) -> str:
        """A Python variable's TTIR value. Triton names values after the variable they are
        assigned to (``%x``, ``%x_3``); of those from the Python line under the cursor the
        last is the variable's value (``x = tl.load(x_ptr + offsets)`` names the pointer
        ``%x`` and the loaded value after it)."""
        py = self.app.main.pane("python").view
        py_line = py.cursor_line if py.level == "python" else None
        pattern = re.compile(r"\s*(%" + re.escape(name) + r"(?:_\d+)?)\s*=")
        ttir = self.app.main.pane("ttir").view
        found = [(n, m.group(1)) for n in range(1, ttir.line_count + 1)
                 if (m := pattern.match(ttir.line_text(n)))]
        on_line = [v for n, v in found if any(line == py_line for _, line in self.app.main.map.sources("ttir", n))]
        return (on_line or [v for _, v in found] or [f"%{name}"])[-1]

    def on_dumps_view_requested(self, msg: views.DumpsView.Requested) -> None:
        py = self.app.main.pane("python").view
        self.dump(msg.value, msg.level, py.cursor_line if msg.level == "python" else None)

    def dump(self, value: str, level: str, line: int | None = None) -> None:
        """Dump a value. A Python variable (``line``: the line it is read after): without a GPU
        the interpreter runs the kernel and gives it at the Python level; with one, its TTIR value."""
        if self.app.current is None:
            return
        if level == "python" and not value.startswith("%") and (self.app.gpu or line is None):
            value, level, line = self._ttir_value_for(value), "ttir", None
        where = f"Python line {line}, interpreter" if line is not None else level
        self.app.query_one(views.DumpsView).show(f"dumping {value} ({where})…")
        self.dump_worker(value, level, line)

    @worker(group="dump", exclusive=True)
    async def dump_worker(self, value: str, level: str, line: int | None = None) -> None:
        extra = {"line": line} if line is not None else {}
        try:
            result = await self.app.link.request("dump", kernel=self.app.spec_id, level=level, values=[value], pid=[0, 0, 0],
                               timeout=300, on_event=self.app.link.progress, **extra)
        except Exception as e:  # noqa: BLE001 - the dump request is new: whatever it says is shown
            message = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
            self.app.post_message(DumpDone(value, level, error=message))
            return
        self.app.post_message(DumpDone(value, level, result))

    @after_rest
    def on_dump_done(self, msg: DumpDone) -> None:
        view = self.app.query_one(views.DumpsView)
        if msg.error is not None:
            view.show(f"dump of {msg.value} ({msg.level}) failed: {msg.error}")
            self.app.status.show(f"dump failed: {msg.error}", kind="error")
        else:
            view.show_result(msg.value, msg.level, msg.result)
            status = str((msg.result or {}).get("status", ""))
            ran = any(r.get("values") is not None for r in (msg.result or {}).get("results", []))
            if ran:
                self.app.status.show(f"dumped {msg.value} ({status})", kind="ok")
            else:
                notes = "; ".join((msg.result or {}).get("notes", []))
                self.app.status.show(f"{msg.value}: {status or 'nothing dumped'}" + (f" · {notes}" if notes else ""))

    def action_first_divergence(self) -> None:
        """Where the shown version's values first leave the original's (its outputs mismatch)."""
        if self.app.current is None:
            return
        version = self.app.last_version
        if version == "original":
            self.app.notify("first divergence is for an edited version: save an edit first", severity="warning")
            return
        self.app.status.show(f"first divergence of {version_label(version)}: dumping the chain in it and the original…",
                         busy=True)
        self.diverge_worker(self.app.spec_id, version)

    @worker(group="diverge", exclusive=True)
    async def diverge_worker(self, spec_id: str, version: str) -> None:
        try:
            result = await self.app.link.request("diverge", kernel=spec_id, version=version, timeout=600, on_event=self.app.link.progress)
        except Exception as e:  # noqa: BLE001 - whatever the runner says is shown
            self.app.post_message(DivergeDone(spec_id, error=getattr(e, "message", None) or f"{type(e).__name__}: {e}"))
            return
        self.app.post_message(DivergeDone(spec_id, result))

    @after_rest
    def on_diverge_done(self, msg: DivergeDone) -> None:
        if self.app.current is None or msg.spec_id != self.app.spec_id:
            return
        if msg.error is not None:
            self.app.status.show(f"first divergence failed: {msg.error}", kind="error")
            return
        self.last_diverge = result = msg.result or {}
        self.app.query_one(views.DumpsView).show_divergence(result)
        self.app.main.action_results("dumps")
        first = result.get("first") or {}
        message = re.sub(r"^\S*/", "", str(result.get("message", "")))   # the version's file by its name
        self.app.status.show(message, kind="error" if first else "")
        for level, lines in ((first.get("lines") or {}).get("version") or {}).items():
            if level in LEVELS and lines:
                self.app.main.pane(level).view.goto_line(int(lines[0]))

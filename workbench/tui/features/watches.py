"""Watched values (in the Dumps tab): the kernel's watch list, dumped on every save beside the
original's, and again for a version run or restored (``app.watches``)."""

from __future__ import annotations

import re

from workbench.model.results import RunResult
from workbench.tui import widgets as views
from workbench.tui.messages import WatchesDone
from workbench.tui.main_screen import after_rest
from workbench.tui.runner_link import worker
from workbench.tui.widgets.code_view import CodeView


class WatchesFeature:
    def __init__(self, app) -> None:
        self.app = app
        self.watch_words = ""                        # what the last save's watched values said

    def action_watch_here(self) -> None:
        """``w``: the value under the cursor joins the kernel's watch list (a Python variable as
        ``var@LINE`` when that line assigns it, else its first assignment; a TTIR/TTGIR line with no
        value from the cursor on as ``line:N``, the value that line defines)."""
        focused = self.app.focused
        if isinstance(focused, CodeView) and focused.level in ("ttir", "ttgir") and self.app.current is not None \
                and focused.name_at() is None:
            self.watch_add(self.app.spec_id, focused.level, f"line:{focused.cursor_line}")
            return
        found = self.app.dumps.value_under_cursor()
        if found is None:
            return
        focused, name = found
        if focused.level == "sass":
            self.app.notify("SASS values cannot be watched: watch the PTX or LLIR register", severity="warning")
            return
        if focused.level == "python" and re.match(rf"\s*(?:[\w\s,]*,\s*)?{re.escape(name)}\s*(?:,[\w\s,]*)?=[^=]",
                                                  focused.line_text(focused.cursor_line)):
            name = f"{name}@{focused.cursor_line}"
        self.watch_add(self.app.spec_id, focused.level, name)

    def on_dumps_view_watch_requested(self, msg: views.DumpsView.WatchRequested) -> None:
        if self.app.current is not None:
            self.watch_add(self.app.spec_id, msg.level, msg.value)

    def on_dumps_view_unwatch_requested(self, msg: views.DumpsView.UnwatchRequested) -> None:
        if self.app.current is not None:
            self.watch_remove(self.app.spec_id, msg.watch_id)

    @worker(group="watch")
    async def load_watches(self, spec_id: str) -> None:
        try:
            watches = await self.app.link.request("watch_list", kernel=spec_id)
            self.app.post_message(WatchesDone(spec_id, watches))
            if watches:
                await self._watch_values(spec_id)
        except Exception as e:  # noqa: BLE001 - a list that cannot be read is said, the app goes on
            self.app.post_message(WatchesDone(spec_id, None, error=getattr(e, "message", None) or str(e)))

    @worker(group="watch")
    async def watch_add(self, spec_id: str, level: str, value: str) -> None:
        try:
            added = await self.app.link.request("watch_add", kernel=spec_id, level=level, value=value)
            self.app.post_message(WatchesDone(spec_id, await self.app.link.request("watch_list", kernel=spec_id),
                                              added=added["id"]))
            await self._watch_values(spec_id)
        except Exception as e:  # noqa: BLE001 - no such value, or an unknown level: said in one line
            self.app.post_message(WatchesDone(spec_id, None, error=getattr(e, "message", None) or str(e)))

    @worker(group="watch")
    async def refresh_watch_values(self, spec_id: str) -> None:
        try:
            await self._watch_values(spec_id)
        except Exception as e:  # noqa: BLE001 - said in one line, the app goes on
            self.app.post_message(WatchesDone(spec_id, None, error=getattr(e, "message", None) or str(e)))

    async def _watch_values(self, spec_id: str) -> None:
        """The watch list dumped for the version shown, so its status, type and values are there
        before the next save (the original's side is kept for later saves)."""
        version = self.app.last_version
        entries = await self.app.link.request("watch_values", kernel=spec_id, version=version, timeout=300)
        self.app.post_message(WatchesDone(spec_id, None, entries=entries))

    @worker(group="watch")
    async def watch_remove(self, spec_id: str, watch_id: str) -> None:
        try:
            self.app.post_message(WatchesDone(spec_id, await self.app.link.request("watch_remove", kernel=spec_id, id=watch_id)))
        except Exception as e:  # noqa: BLE001
            self.app.post_message(WatchesDone(spec_id, None, error=getattr(e, "message", None) or str(e)))

    @after_rest
    def on_watches_done(self, msg: WatchesDone) -> None:
        if self.app.current is None or msg.spec_id != self.app.spec_id:
            return
        if msg.error is not None:
            self.app.status.show(f"watch: {msg.error}", kind="error")
            self.app.log_line(f"watch: {msg.error}", "red")
            return
        view = self.app.query_one(views.DumpsView)
        if msg.entries is not None:
            shown = all(str((e.get("version") or {}).get("label")) == self.app.last_version for e in msg.entries)
            if [e["id"] for e in msg.entries] != [w["id"] for w in view.watches]:
                return   # an older list
            if shown:
                view.set_entries(msg.entries)
            else:   # dumped for a version no longer current (a restore ran meanwhile): again, for this one
                self.refresh_watch_values(self.app.spec_id)
            return
        view.set_watches(msg.watches or [], select=msg.added)
        if msg.added is not None:
            self.app.main.action_results("dumps")
            label = next((w.get("label") for w in view.watches if w["id"] == msg.added), msg.added)
            self.app.status.show(f"watching {label}: dumped on every save, beside the original's", kind="ok")

    def follow(self) -> None:
        """A run (not a save) of a version the watched values shown are not of: dumped again for it."""
        view = self.app.query_one(views.DumpsView)
        if self.app.current is not None and any(str((e.get("version") or {}).get("label")) != self.app.last_version
                                            for e in view.entries.values()):
            self.load_watches(self.app.spec_id)

    def show_result(self, result: RunResult) -> str:
        """A save's watched values into the Dumps tab; the status line's words on them."""
        for note in result.watch_notes:
            self.app.log_line(f"watch: {note}", "red")
        if result.watches is None:
            return ""
        from workbench.tui.widgets.dumps_view import differs
        entries = result.watches
        self.app.query_one(views.DumpsView).set_entries(entries)
        n = sum(1 for e in entries if differs(e))
        missing = sum(1 for e in entries if not (e.get("version") or {}).get("found", True))
        words = []
        if n:
            words.append(f"{n} watched value{'s' if n > 1 else ''} differ{'' if n > 1 else 's'} from the original")
        if missing:
            words.append(f"{missing} watched value{'s' if missing > 1 else ''} not found in this version")
        return "".join(f" · {w}" for w in words)

"""The History tab: the versions of the kernel shown and their diffs (drawn as the tab comes in
sight), restoring and exporting the version selected (``app.history``)."""

from __future__ import annotations

from workbench.tui import widgets as views
from workbench.tui.format import version_label
from workbench.tui.messages import Exported, RunFailed
from workbench.tui.runner_link import worker


class HistoryFeature:
    def __init__(self, app) -> None:
        self.app = app
        self.stale = False          # versions changed while the History tab was not shown

    def show(self) -> None:
        """The version list and its diff, drawn when the History tab is in sight (a diff of a
        5 MB level takes seconds: a save never waits for it)."""
        self.stale = True
        if self.app.current is not None and self.app.rest_ready and self.app.main.results_tab() == "history":
            self.stale = False
            self.app.query_one(views.HistoryView).show_versions(self.app.kernel_name, self.app.current.folder,
                                                                self.app.edits.versions,
                                                                self.app.current.result,
                                                                self.app.sanitize.runs.get(self.app.spec_id, []))

    def action_history_tab(self) -> None:
        """The History tab with its table focused: r, o and m work at once."""
        self.app.main.action_results("history")
        self.app.query_one("#history-table").focus()

    def on_history_view_restore(self, msg: views.HistoryView.Restore) -> None:
        self.app.saves.restore(msg.version)

    def action_restore_selected(self) -> None:
        key = self.app.query_one(views.HistoryView).selected()
        if key is not None:
            self.app.saves.restore(key)

    def action_export_selected(self) -> None:
        """The version selected in History (the original when none is) as a reproducer folder."""
        if self.app.current is None:
            return
        version = self.app.query_one(views.HistoryView).selected() or "original"
        self.app.status.show(f"exporting {version_label(version)}…", busy=True)
        self.export_worker(self.app.spec_id, version)

    @worker(group="export")
    async def export_worker(self, spec_id: str, version: str) -> None:
        try:
            done = await self.app.link.request("export", kernel=spec_id, version=version, timeout=120)
        except Exception as e:  # noqa: BLE001
            self.app.post_message(RunFailed(e))
            return
        self.app.post_message(Exported(version, done))

    def on_exported(self, msg: Exported) -> None:
        self.app.status.show(f"exported {self.app.kernel_name} {version_label(msg.version)} to {msg.done['folder']}: "
                         f"run it with python {msg.done['run']}", kind="ok")
        self.app.log_line(f"exported {version_label(msg.version)} to {msg.done['folder']}")

"""The Profile tab: a version beside the original under ncu (``app.profile``); the panes'
heat columns follow its result (``MainScreen.heat``)."""

from __future__ import annotations

from workbench.tui import widgets as views


class ProfileFeature:
    def __init__(self, app) -> None:
        self.app = app

    def action_profile(self) -> None:
        """The version selected in History (else the last one) beside the original (or the
        version marked with ``m`` there), under ncu."""
        if self.app.current is None:
            return
        history = self.app.query_one(views.HistoryView)
        version = history.selected() or self.app.edits.current or "original"
        base = history.base if history.base != "previous" else "original"
        versions = list(dict.fromkeys([str(base), str(version)]))
        self.app.main.action_results("profile")
        self.app.query_one(views.ProfileView).start(self.app.spec_id, self.app.kernel_name, versions)

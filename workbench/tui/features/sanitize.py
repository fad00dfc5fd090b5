"""The Sanitize tab: the version shown under compute-sanitizer (``Z``: memcheck; every tool from
the palette), its errors at their lines in the panes, and each run a row in History."""

from __future__ import annotations

import time

from workbench.model.results import SanitizeRun
from workbench.tui import widgets as views
from workbench.tui.follow import place
from workbench.tui.format import version_label
from workbench.tui.main_screen import after_rest
from workbench.tui.runner_link import worker

TOOLS = ["memcheck", "racecheck", "initcheck", "synccheck"]   # (workbench.profile.sanitize.TOOLS: not imported here)
NO_GPU = "sanitizing needs an NVIDIA GPU to run the kernel on; this machine has none"


class SanitizeFeature:
    def __init__(self, app) -> None:
        self.app = app
        self.runs: dict[str, list[SanitizeRun]] = {}   # spec id -> its runs, for History (kept on disk too)

    def action_sanitize(self) -> None:
        self.sanitize(["memcheck"])

    def sanitize_all(self) -> None:
        self.sanitize(list(TOOLS))

    def sanitize(self, tools: list[str]) -> None:
        """The version shown (the last one run) under ``tools``, beside the original's findings."""
        app = self.app
        if app.current is None or not app.rest_ready:
            return
        if not app.gpu:
            app.status.show(NO_GPU, kind="error")
            return
        view = app.query_one(views.SanitizeView)
        if view.running is not None:
            app.status.show(f"sanitizing {version_label(view.running.version)}: its result comes to the Sanitize tab")
            return
        from workbench.tui.widgets.sanitize_view import Started, said_tools
        started = Started(app.kernel_name, app.spec_id, app.last_version, tools)
        folder = app.current.folder
        view.start(started, str(folder.parent) if folder is not None else None)
        app.main.action_results("sanitize")
        app.status.show(f"sanitizing {started.kernel} {version_label(started.version)} under {said_tools(tools)} "
                        "in a process of its own (seconds; editing goes on)…", busy=True)

    @after_rest
    def on_sanitize_view_done(self, msg) -> None:
        from workbench.tui.widgets.sanitize_view import error_count, said_tools
        app, started = self.app, msg.started
        label = f"{started.kernel} {version_label(started.version)}"
        result, lines = "failed", [msg.error or ""]
        if msg.error is not None:
            app.status.show(f"sanitize {label}: {msg.error}", kind="error")
        else:
            reports = msg.result["version"]
            errors = [e for r in reports for e in r["errors"]]
            ran = said_tools([r["tool"] for r in reports])
            new = sum(1 for e in errors if e.get("new"))
            compared = bool(msg.result.get("original"))
            result = "no errors" if not errors else error_count(len(errors)) + (f", {new} new" if compared else "")
            lines = [e["line"] for e in errors] or [f"no errors ({ran})"]
            said = f"no errors ({ran})" if not errors else \
                f"{error_count(len(errors))} under {ran}" + (f", {new} new" if compared else "") + " (the Sanitize tab)"
            app.status.show(f"sanitized {label} in {msg.seconds:.1f} s: {said}", kind="ok" if not errors else "error")
        run = SanitizeRun(started.version, started.tools, time.strftime("%H:%M:%S", time.localtime(started.at)),
                          result, lines)
        self.runs.setdefault(started.spec_id, []).append(run)
        self.keep(started.spec_id, run)
        if started.spec_id == app.spec_id:
            app.history.show()

    @worker(group="sanitize-keep")
    async def keep(self, spec_id: str, run: SanitizeRun) -> None:
        """The run kept beside its version in the workspace (by the runner, its one writer), so
        History lists it after the script is opened again."""
        try:
            await self.app.link.request("sanitize_keep", kernel=spec_id, run=run.to_json())
        except Exception as e:  # noqa: BLE001 - the runner's one line (a folder it cannot write)
            self.app.log_line(f"sanitize {version_label(run.version)} not kept in the workspace: "
                              f"{getattr(e, 'message', None) or e}", "red")

    def on_sanitize_view_picked(self, msg) -> None:
        """An error chosen: each pane shown at the line it folds to (the focus stays on the list)."""
        for level in self.app.main.shown_levels:
            if msg.lines.get(level):
                place(self.app.main.pane(level).view, msg.lines[level][0], cursor=True)

    def show(self) -> None:
        """The tab in sight: the errors' lines at the levels the panes show now."""
        if self.app.rest_ready and self.app.main.results_tab() == "sanitize":
            self.app.query_one(views.SanitizeView).refill()

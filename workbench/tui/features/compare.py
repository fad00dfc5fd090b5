"""The Compare tab: the kernel on screen under another Triton release (``V``): which release
(asked, the newest other one unpacked offered), ``workbench compare`` run beside the app, and
the result shown over the whole screen when it comes (Esc: back to the panes)."""

from __future__ import annotations

from textual.widgets import Input

from workbench.model.diagnostics import WorkbenchError
from workbench.tui import widgets as views
from workbench.tui.main_screen import after_rest
from workbench.tui.messages import Hello


class CompareFeature:
    def __init__(self, app) -> None:
        self.app = app
        self.triton: str | None = None   # the runner's release (its hello)

    def on_hello(self, msg: Hello) -> None:
        self.triton = msg.info.get("triton")

    def action_compare(self) -> None:
        """Ask which release, then compare the kernel on screen with it."""
        if self.app.current is None or not self.app.rest_ready:
            return
        view = self.app.query_one(views.CompareView)
        if view.running is not None:
            self.app.status.show(f"comparing with Triton {view.running.release}: its result comes to the Compare tab")
            return
        from workbench.compiler import releases   # (folders only: no Triton is imported)
        from workbench.tui.screens.release_screen import ReleaseScreen
        unpacked = releases.available()
        others = [v for v in unpacked if v != self.triton]
        self.app.push_screen(ReleaseScreen(self.app.kernel_name, self.triton, others[-1] if others else "", unpacked),
                             self.compare_with)

    def compare_with(self, release: str | None) -> None:
        if not release or self.app.current is None:
            return
        from workbench.compiler import releases
        try:
            releases.check_version(release)
        except WorkbenchError as e:
            self.app.status.show(e.diagnostics[0].message, kind="error")
            return
        app = self.app
        command = ["compare", str(app.script), "--triton", release, "--kernel", app.kernel_name]
        if app.opened is not None:
            command += ["--target", app.opened.target]
        command += ["--", *app.script_args] if app.script_args else []
        view = app.query_one(views.CompareView)
        from workbench.tui.widgets.compare_view import Started
        view.start(Started(release, app.kernel_name, app.spec_id), command)
        app.main.action_results("compare")
        app.status.show(f"comparing {app.kernel_name} with Triton {release} in a second runner "
                        "(seconds to a minute; editing goes on)…", busy=True)

    @after_rest
    def on_compare_view_done(self, msg) -> None:
        app, started = self.app, msg.started
        if msg.error is not None:
            app.status.show(f"Triton {started.release}: {msg.error}", kind="error")
            return
        view = app.query_one(views.CompareView)
        k, parted = view.kernel(), view.first_parted()
        # typing, or a dialog: the result waits in its tab
        from textual.widgets import TextArea   # (the panes' editors: mounted after the first frame)
        waits = isinstance(app.focused, (TextArea, Input)) or app.screen is not app.screen_stack[0]
        if k is None:
            errors = msg.result.get("errors") or ["nothing compared"]
            app.status.show(errors[0], kind="error")
        else:
            said = f"first pass whose output differs: {parted['pass']}" if parted else "the IR is the same after every pass"
            app.status.show(f"compared {started.kernel} with Triton {started.release} in {msg.seconds:.1f} s: {said}" +
                            (" (the Compare tab; z there: the whole screen)" if waits else ""), kind="ok")
        if not waits:
            self.show()

    def show(self) -> None:
        """The last comparison over the whole screen (Esc: back)."""
        if not self.app.rest_ready:
            return
        view = self.app.query_one(views.CompareView)
        self.app.main.action_results("compare")
        if self.app.screen.maximized is not view:
            self.app.screen.maximize(view, container=False)
        view.focus()
        view.refill()

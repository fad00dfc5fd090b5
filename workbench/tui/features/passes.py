"""The Passes tab: the kernel shown compiled pass by pass beside the current version, the pass
that made a line, and a pass's IR saved as a version that starts after it (``app.passes``)."""

from __future__ import annotations

from workbench.tui import widgets as views
from workbench.tui.editing import atomic_write, digest
from workbench.tui.main_screen import after_rest
from workbench.tui.widgets.code_view import CodeView


class PassesFeature:
    def __init__(self, app) -> None:
        self.app = app

    def action_passes_tab(self) -> None:
        self.app.main.action_results("passes")
        self.app.query_one("#passes-table").focus()

    def show(self, only_in_sight: bool = False) -> None:
        """The kernel on screen in the Passes tab, compared pass by pass with the current version
        (recorded by the runner the first time the tab shows it)."""
        if self.app.current is None or not self.app.rest_ready or \
                only_in_sight and self.app.main.results_tab() != "passes":
            return
        level = self.app.edits.level_of(self.app.last_version)
        self.app.query_one(views.PassesView).show_kernel(self.app.spec_id, (self.app.last_version, level) if level else None)

    def action_pass_of_line(self) -> None:
        """From a TTGIR or LLIR line to the pass that introduced it, in the Passes tab."""
        focused = self.app.focused
        if not isinstance(focused, CodeView) or focused.level not in ("ttgir", "llir") or self.app.current is None:
            self.app.notify("put the cursor on a TTGIR or LLIR line first", severity="warning")
            return
        original = self.app.current.folder / "original" / self.app.level_path(focused.level).name
        try:
            same = original.read_text() == focused.text
        except OSError:
            same = False
        if not same:
            self.app.notify(f"{self.app.family.title(focused.level)} is not the original's text: the passes are the original's",
                        severity="warning")
            return
        line = focused.cursor_line
        self.action_passes_tab()
        self.show()
        self.app.query_one(views.PassesView).jump_to_line(focused.level, line)

    def on_passes_view_jumped(self, msg: views.PassesView.Jumped) -> None:
        self.app.status.show(msg.sentence)

    def on_passes_view_mapped(self, msg: views.PassesView.Mapped) -> None:
        self.app.main.highlight_lines(self.app.main.map.lines_from(msg.sources))

    @after_rest
    def on_passes_view_save_pass(self, msg: views.PassesView.SavePass) -> None:
        """ctrl+s on a pass's IR: the file into edit/, compiled as a version started after that pass."""
        if self.app.current is None or self.app.edits is None:
            return
        if self.app.edits.running is not None or self.app.edits.runner_writes:
            self.app.notify("a compile is running: save the pass's IR again when it ends", severity="warning")
            return
        path = self.app.edit_dir / msg.file_name
        data = msg.text.encode("utf-8")
        try:
            atomic_write(path, data)
        except OSError as e:
            self.app.notify(f"could not save {path}: {e.strerror or e}", severity="error", timeout=15)
            return
        self.app.log_line(f"{path} saved: compiling a version that starts after its pass")
        self.app.saves.start_apply(self.app.edits.pass_saved(msg.level, path, digest(data)))

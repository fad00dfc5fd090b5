"""Drafts in the panes: text typed and not saved is asked about before it would be lost, and
kept in the kernel's drafts/ when the terminal goes away (back as drafts next time); the edit
session holds which levels have one (``app.drafting``)."""

from __future__ import annotations

from workbench.tui.format import LEVELS
from workbench.tui.messages import TerminalGone
from workbench.tui.widgets.level_pane import LevelPane


class Drafts:
    def __init__(self, app) -> None:
        self.app = app

    def on_level_pane_draft_changed(self, msg: LevelPane.DraftChanged) -> None:
        self.app.main.title(msg.level)
        if msg.text is None:
            self.forget_kept(msg.level)   # saved or discarded: no longer kept for a next session
        else:
            self.app.notify(f"{self.app.family.title(msg.level)}: your text is kept as a draft: e goes on editing, "
                        f"ctrl+s saves it, u discards it")

    def on_terminal_gone(self, _msg: TerminalGone) -> None:
        """Keep every draft in the kernel's folder (drafts/, beside edit/), then end: nobody is
        left to ask, and a process left behind would hold the workspace and a CPU."""
        kept = []
        if self.app.current is not None:
            kept = self.app.edits.keep_drafts({lv: self.app.main.pane(lv).draft_text() for lv in self.drafts()})
        self.app.hung_up = kept
        self.app.exit(return_code=129)

    def restore_kept(self) -> None:
        """Drafts kept by a session whose terminal went away come back into their panes, as
        drafts (titled so, e goes on, ctrl+s saves, u discards); the file goes once one of those is done."""
        back = []
        for level, text in self.app.edits.kept_drafts().items():
            pane = self.app.main.pane(level)
            if text == pane.view.text or pane.missing:
                self.app.edits.forget_kept_draft(level)   # saved meanwhile (or nothing to be a draft of): nothing kept
                continue
            pane.hold_draft(text)
            self.app.main.title(level)
            back.append(self.app.family.title(level))
        if back:
            names = ", ".join(back)
            self.app.log_line(f"drafts kept when the last session's terminal went away are back: {names}")
            self.app.notify(f"{names}: your draft from the last session (its terminal went away) is back: e goes on "
                        f"editing, ctrl+s saves it, u discards it", title="drafts back", timeout=15)

    def forget_kept(self, level: str) -> None:
        if self.app.edits is not None:
            self.app.edits.forget_kept_draft(level)

    def drafts(self) -> list[str]:
        """The levels holding text typed and not saved."""
        if not self.app.rest_ready:
            return []
        return [lv for lv in LEVELS if self.app.main.pane(lv).draft_text() is not None]

    def discard(self) -> None:
        for level in LEVELS:
            for column in self.app.query(f"#col-{level}"):
                pane = column.pane
                if pane.draft_text() is not None or pane.has_draft:
                    pane.has_draft = False
                    pane.editor.load_text(pane.view.text)
                    pane.stop_editing()
                    self.forget_kept(level)

    def unless(self, what: str, then, on_keep=None) -> None:
        """Do ``then``, asking first if a pane holds a draft (it would be lost)."""
        from workbench.tui.screens.choice_screen import ChoiceScreen
        drafts = self.drafts()
        if not drafts:
            then()
            return
        for level in drafts:
            self.app.main.title(level)     # the flow's drafts, from the panes
        names = self.app.edits.drafts_sentence() if self.app.edits else ", ".join(self.app.family.title(lv) for lv in drafts)

        def chosen(choice: str | None) -> None:
            if choice == "discard":
                self.discard()
                then()
            elif on_keep is not None:
                on_keep()
        self.app.push_screen(ChoiceScreen(f"Unsaved text (a draft) in {names}: {what} and lose it?",
                                      [("keep", "Keep editing (ctrl+s in a pane saves its draft)"),
                                       ("discard", f"Discard the draft and {what}")]), chosen)

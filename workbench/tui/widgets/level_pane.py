"""A level's pane: its :class:`CodeView`, a search bar under it, and an editor that swaps in.

Read-only until ``e`` makes it editable (a Textual ``TextArea`` with the same text); ``ctrl+s``
posts :class:`LevelPane.Save` with the text and the level; ``escape`` goes back to the view and
keeps what was typed as a draft (``e`` resumes it, ``u`` discards it): typed text is never
thrown away by a key meant to move. The pane writes no file: the app does, so that saving from
here and from an outside editor take the same path. A level whose file is missing is not
editable: its placeholder text is not the file's content.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from workbench.tui.widgets.code_view import CodeView

if TYPE_CHECKING:
    from textual.widgets import TextArea

PANE_MIN_WIDTH = 41   # a narrower pane shows a few tokens of an IR line: fewer panes instead
LIST_MIN_WIDTH = 30   # a results tab's table beside panes: narrower, it shows too little of a row


def width_beside_panes(width: int, natural: int, panes: int = 1) -> int:
    """A table's width in ``width`` columns beside ``panes`` panes of PANE_MIN_WIDTH: its
    ``natural`` width where they fit, narrower (down to LIST_MIN_WIDTH; it then scrolls sideways)
    to keep them."""
    return max(LIST_MIN_WIDTH, min(natural, width - panes * PANE_MIN_WIDTH))


class SearchBar(Input):
    """The search field: Enter searches in this very key's handler (``Input.Submitted`` would
    come after keys already typed, and they would land in the field being closed)."""

    async def action_submit(self) -> None:
        self.parent.search_submitted(self.value)


class LevelPane(Vertical):
    DEFAULT_CSS = """
    LevelPane { height: 1fr; }
    LevelPane > CodeView { height: 1fr; }
    LevelPane > TextArea { height: 1fr; display: none; }
    LevelPane > Input { display: none; height: 3; }
    LevelPane.-searching > Input { display: block; }
    LevelPane.-editing > TextArea { display: block; }
    LevelPane.-editing > CodeView { display: none; }
    """

    BINDINGS = [
        Binding("slash,ctrl+slash", "search", "Search", id="level_pane.search"),
        Binding("e", "edit", "Edit", id="level_pane.edit"),
        Binding("ctrl+s", "save", "Save", id="level_pane.save", priority=True),
        Binding("escape", "leave", "Back", show=False, id="level_pane.leave"),
        Binding("u", "discard", "Discard draft", show=False, id="level_pane.discard"),
    ]

    class _Text(Message):
        """A pane's text for its level, sent from the pane (its ``control``)."""

        def __init__(self, pane: "LevelPane", level: str, text: str | None) -> None:
            super().__init__()
            self.pane = pane
            self.level = level
            self.text = text

        @property
        def control(self) -> "LevelPane":
            return self.pane

    class Save(_Text):
        """The user saved the edited text of this pane's level (nothing is written yet)."""

    class DraftChanged(_Text):
        """The pane's draft began (``text``), changed, or ended (``text`` None: saved or discarded)."""

    def __init__(self, text: str = "", level: str = "text", **kwargs) -> None:
        super().__init__(**kwargs)
        self._initial = (text, level)
        self.missing: str | None = None   # why the level's file is not there (None: it is)
        self.loaded = bool(text)          # a level came (load); before it, nothing to edit
        self.has_draft = False            # the editor holds text typed and not saved
        self._tools: tuple[SearchBar, TextArea] | None = None   # (add_tools)

    def compose(self) -> ComposeResult:
        # the search bar and the editor come later (add_tools): three hidden TextAreas and Inputs
        # took a fifth of the first screen's time
        yield CodeView(*self._initial)

    def add_tools(self) -> None:
        """The search bar and the editor, mounted once: just after the first frame (MainScreen's
        mount_rest), or at once when a key asks for one before that."""
        if self._tools is None:
            from textual.widgets import TextArea
            self._tools = (SearchBar(placeholder="search", id="search"),
                           TextArea(id="editor", show_line_numbers=True, soft_wrap=False, tab_behavior="focus"))
            for tool in self._tools:
                tool.display = False
            self.mount(*self._tools)

    @property
    def view(self) -> CodeView:
        return self.query_one(CodeView)

    @property
    def search_bar(self) -> SearchBar:
        self.add_tools()
        return self._tools[0]

    @property
    def editor(self) -> TextArea:
        self.add_tools()
        return self._tools[1]

    @property
    def editing(self) -> bool:
        return self.has_class("-editing")

    def load(self, text: str, level: str, missing: str | None = None, lexer: str | None = None) -> None:
        """The file's text (or, with ``missing``, a placeholder saying why there is none), coloured
        by ``lexer`` (the level's own where not given); a draft in the editor stays."""
        typed = self.draft_text() is not None
        self.missing, self.loaded = missing, True
        self.view.load(text, level, lexer)
        if self.editing and not typed:   # (not editing: ``e`` gives the editor the view's text)
            self.editor.load_text(text)

    def hold_draft(self, text: str) -> None:
        """``text`` back in the editor as this pane's draft (typed earlier, kept elsewhere)."""
        self.editor.load_text(text)
        self.has_draft = True

    def draft_text(self) -> str | None:
        """Text typed and not saved (in the editor now, or kept from it), else None."""
        if (self.editing or self.has_draft) and self.editor.text != self.view.text:
            return self.editor.text
        return None

    def _mode(self, *, searching: bool = False, editing: bool = False) -> None:
        """Show the search bar / the editor. Inline display, not only the classes' CSS: it holds at
        once, so the widget can take the focus in this very key's handler."""
        self.set_class(searching, "-searching")
        self.set_class(editing, "-editing")
        self.search_bar.display = searching
        self.editor.display = editing
        self.view.display = not editing

    def stop_editing(self) -> None:
        self._mode()

    def action_search(self) -> None:
        if self.editing:
            return
        self._mode(searching=True)
        search = self.search_bar
        search.value = self.view.search_query
        self.screen.set_focus(search)   # now, not a frame later: keys typed right after go to it

    def search_submitted(self, query: str) -> None:
        self._mode()
        self.screen.set_focus(self.view)
        # from the view's own queue: a message made here would have this pane as its sender and
        # stop here (Textual's rule), and the status line would never hear "n of m"
        self.view.call_later(self.view.find, query)

    def action_edit(self) -> None:
        if self.editing:
            return
        if not self.loaded:   # (text typed then would have had nothing under it, and be lost)
            self.app.notify("the kernel is still opening: e edits its levels once they show", severity="warning")
            return
        if self.missing:
            self.app.notify(f"{self.missing}: not editable until restored (History, r)", severity="warning")
            return
        view, editor = self.view, self.editor
        if not self.has_draft:
            editor.load_text(view.text)
            editor.move_cursor((view.cursor_line - 1, view.cursor_column))
        self._mode(editing=True)
        self.screen.set_focus(editor)   # now, not a frame later: keys typed right after go to it
        self.call_after_refresh(self._scroll_editor)

    def _scroll_editor(self) -> None:
        """The cursor in view once the editor has its width: text typed before its first layout
        scrolled it sideways as if it were 0 columns wide."""
        self.editor.scroll_to(x=0, animate=False, immediate=True)
        self.editor.scroll_cursor_visible()

    def action_save(self) -> None:
        text = self.draft_text() if not self.editing else self.editor.text
        if text is not None and not self.missing:
            self.post_message(self.Save(self, self.view.level, text))

    def saved(self) -> None:
        """The app wrote the text: no draft any more."""
        if self.has_draft:
            self.has_draft = False
            self.post_message(self.DraftChanged(self, self.view.level, None))

    def action_leave(self) -> None:
        if self.has_class("-searching"):
            self._mode()
            self.screen.set_focus(self.view)
        elif self.editing:
            text = self.draft_text()
            self.has_draft = text is not None
            self._mode()
            self.screen.set_focus(self.view)
            if text is not None:
                self.post_message(self.DraftChanged(self, self.view.level, text))

    def action_discard(self) -> None:
        if self.has_draft and not self.editing:
            self.has_draft = False
            self.editor.load_text(self.view.text)
            self.post_message(self.DraftChanged(self, self.view.level, None))

"""One level in the side-by-side area: a title (level, file, state), its LevelPane, and a bar for
the compile error at a line of it."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from workbench.model.levels import title_of
from workbench.tui.widgets.level_pane import LevelPane


FOCUS_MARK = "▸ "   # before the focused pane's title: seen without colours too (NO_COLOR)


class LevelColumn(Vertical):
    DEFAULT_CSS = """
    LevelColumn { width: 1fr; height: 1fr; border-left: vkey $panel; }
    LevelColumn > .level-title { height: 1; background: $panel; color: $foreground; text-style: bold; padding: 0 1; }
    LevelColumn:focus-within > .level-title { background: $primary; color: $background; }
    LevelColumn > .level-error { height: auto; max-height: 4; display: none; background: $error 30%;
                                 color: $foreground; padding: 0 1; }
    LevelColumn.-error > .level-error { display: block; }
    """

    def __init__(self, level: str, **kwargs) -> None:
        super().__init__(id=f"col-{level}", **kwargs)
        self.level = level
        self.path: Path | None = None
        self.error: dict | None = None
        self._note = ""   # the title's word for what the pane shows (set_title)
        self.level_title = title_of(level)   # the open script's target's name for it (retitle)

    def compose(self) -> ComposeResult:
        yield Static(self.level_title, classes="level-title")
        yield LevelPane("", self.level, id=f"pane-{self.level}")
        yield Static("", classes="level-error")

    @property
    def pane(self) -> LevelPane:
        return self.query_one(LevelPane)

    def set_title(self, note: str = "") -> None:
        self._note = note
        self._draw_title()

    def retitle(self, level_title: str) -> None:
        """The level named as the open script's target names it (AMD's ptx pane: AMDGCN)."""
        if level_title != self.level_title:
            self.level_title = level_title
            if self.is_mounted:
                self._draw_title()

    def on_resize(self) -> None:
        self._draw_title()

    def on_descendant_focus(self) -> None:
        self._draw_title()

    def on_descendant_blur(self) -> None:
        self._draw_title()

    def _draw_title(self) -> None:
        name = self.path.name if self.path else ""
        width = self.size.width - 3   # (the border and the title's padding)
        mark = FOCUS_MARK if self.has_focus_within else ""
        text = mark + fit_title(self.level_title, name, self._note, width - len(mark))
        self.query_one(".level-title", Static).update(Text(text, no_wrap=True, overflow="ellipsis"),
                                                      layout=False)   # (one line, always)

    def show_error(self, diagnostic: dict | None, text: str = "") -> None:
        """A compile error at its line (None clears it)."""
        if diagnostic is None and self.error is None:
            return   # (nothing shown, nothing to show: no layout for it)
        self.error = diagnostic
        self.set_class(diagnostic is not None, "-error")
        self.query_one(".level-error", Static).update(Text(text))


def fit_title(level: str, name: str, note: str, width: int) -> str:
    """``level  name  note`` in ``width`` columns: the note (original, edited (vN), draft) is what
    a title is for, so the file's name gives way first, shortened in its middle, then left out."""
    tail = f"  {note}" if note else ""
    full = f"{level}  {name}{tail}"
    if width <= 0 or len(full) <= width:
        return full
    room = width - len(level) - 2 - len(tail)
    if name and room >= 8:
        keep = room - 1
        return f"{level}  {name[:keep - keep // 2]}…{name[len(name) - keep // 2:]}{tail}"
    return f"{level}{tail}"

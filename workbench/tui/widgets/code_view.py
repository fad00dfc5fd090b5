"""The read-only view of one level: highlighted text, line numbers, a cursor, search,
go to definition, and a set of highlighted ("mapped") lines for cross-level mapping.

Drawn with Textual's Line API: only the visible lines are rendered. Lexing happens in chunks of
lines, on first sight, and its tokens are kept, so a 20,000-line PTX opens by lexing one chunk,
and a keystroke never re-lexes anything. Levels whose lexer needs the whole file (Python's
triple-quoted strings) are lexed whole; they are small.

Line numbers in this API are 1-based, as in the gutter, ``file:line`` messages and
:class:`workbench.model.srcmap.SourceMap`. Columns are 0-based, on the tab-expanded text.
"""

from __future__ import annotations

import bisect
import re
from typing import Iterable

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.highlight import lexer_for_level
from workbench.tui.widgets.code_locs import HiddenLocs, cut_spans
from workbench.tui.widgets.code_search import CodeSearch

TAB_SIZE = 8
CHUNK_LINES = 200               # lines lexed together, on first sight
WHOLE_FILE_LEVELS = frozenset({"python", "gluon"})
_MAX_CACHED_LINES = 4096        # rendered-segment cache entries kept before it is dropped



class CodeView(CodeSearch, HiddenLocs, ScrollView, can_focus=True):
    """One level's text, read-only."""

    DEFAULT_CSS = """
    CodeView {
        background: $surface;
        color: $foreground;
        scrollbar-size-vertical: 1;
    }
    CodeView:focus {
        background-tint: $foreground 3%;
    }
    """

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="code_view.cursor_up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="code_view.cursor_down"),
        Binding("left,h", "cursor_left", "Left", show=False, id="code_view.cursor_left"),
        Binding("right,l", "cursor_right", "Right", show=False, id="code_view.cursor_right"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="code_view.page_up"),
        Binding("pagedown,ctrl+f,space", "page_down", "Page down", show=False, id="code_view.page_down"),
        Binding("home", "line_start", "Line start", show=False, id="code_view.line_start"),
        Binding("end", "line_end", "Line end", show=False, id="code_view.line_end"),
        Binding("ctrl+home,g", "first_line", "First line", show=False, id="code_view.first_line"),
        Binding("ctrl+end,G", "last_line", "Last line", show=False, id="code_view.last_line"),
        Binding("n,f3", "find_next", "Next match", show=False, id="code_view.find_next"),
        Binding("N,shift+f3", "find_previous", "Previous match", show=False, id="code_view.find_previous"),
        Binding("d,f12", "goto_definition", "Definition", id="code_view.goto_definition"),
        Binding("ctrl+o", "jump_back", "Back", show=False, id="code_view.jump_back"),
        Binding("right_square_bracket", "next_mapped", "Next mapped", show=False, id="code_view.next_mapped"),
        Binding("left_square_bracket", "previous_mapped", "Prev mapped", show=False,
                id="code_view.previous_mapped"),
        Binding("shift+up", "select_up", "Select lines up", show=False, id="code_view.select_up"),
        Binding("shift+down", "select_down", "Select lines down", show=False, id="code_view.select_down"),
        Binding("y", "copy", "Copy", id="code_view.copy"),
    ]

    cursor_line: reactive[int] = reactive(1, init=False, always_update=False)
    """The cursor's line, 1-based."""
    cursor_column: reactive[int] = reactive(0, init=False)

    class CursorMoved(Message):
        """The cursor went to another line (not posted for moves within a line)."""

        def __init__(self, code_view: "CodeView", line: int, column: int) -> None:
            super().__init__()
            self.code_view = code_view
            self.line = line            # 1-based
            self.column = column

        @property
        def control(self) -> "CodeView":
            return self.code_view

    class Jumped(Message):
        """A search or go-to-definition outcome, for a status line: ``found`` False says why not."""

        def __init__(self, code_view: "CodeView", what: str, found: bool, line: int | None, detail: str) -> None:
            super().__init__()
            self.code_view = code_view
            self.what = what            # "find" | "definition" | "mapped"
            self.found = found
            self.line = line
            self.detail = detail

        @property
        def control(self) -> "CodeView":
            return self.code_view

    def __init__(self, text: str = "", level: str = "text", *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._mapped: list[int] = []
        self._mapped_set: frozenset[int] = frozenset()
        self._search: re.Pattern | None = None
        self.search_query = ""
        self._jumps: list[tuple[int, int]] = []
        self._styles = None
        self.hide_locs = False
        self._anchor: int | None = None      # the other end of a line selection (shift+up/down)
        self._heat: dict[int, float] = {}    # line -> share of a profile's counts (the Profile tab)
        # drawn lines, by everything that changes how they look (the line's text and tokens too,
        # so a new version's text draws its unchanged lines from here: load keeps them)
        self._strips: dict[tuple, Strip] = {}
        self.load(text, level)

    # -- content ------------------------------------------------------------------------------

    @property
    def lexer(self):
        if self._lexer is None:
            self._lexer = lexer_for_level(self._lexer_name)
        return self._lexer

    _sized = None   # (size, container size, virtual size) the scrollbars were last set for

    def _size_updated(self, size, virtual_size, container_size, layout: bool = True) -> bool:
        """Textual sets every scroll view's scrollbars again on every layout of the screen (it
        compares the text's size with the viewport's, which always differ), and each redraws:
        a save's result paid for the scrollbars of every pane. Here only a change of this view's
        own sizes does."""
        sized = (size, container_size, self.virtual_size)
        if sized == self._sized:
            return False
        self._sized = sized
        return super()._size_updated(size, virtual_size, container_size, layout)

    def load(self, text: str, level: str = "text", lexer: str | None = None) -> None:
        """Show ``text`` as ``level`` (python, ttir, ttgir, llir, ptx, sass), coloured by ``lexer``
        (the level's own where not given; AMD's ptx pane holds AMDGCN); keeps the cursor line if it
        fits. The same text again changes nothing: nothing to lex or draw again."""
        lexer = (lexer or level).lower()
        if getattr(self, "_text", None) == text and self._level == level.lower() and self._lexer_name == lexer:
            return
        self._level, self._lexer_name = level.lower(), lexer
        self._lexer = None  # made on first use: its regexes compile then, not before the first frame
        self._lines: list[str] = [line.expandtabs(TAB_SIZE) if "\t" in line else line
                                  for line in text.splitlines()] or [""]
        self._text = text
        self._tokens: list[tuple | None] = [None] * len(self._lines)
        self._lexed_chunks: set[int] = set()
        self._chunk = len(self._lines) if self._level in WHOLE_FILE_LEVELS else CHUNK_LINES
        self._segments: dict[int, list[tuple[str, Style]]] = {}
        self._definitions: dict[str, int] | None = None
        self._jumps.clear()
        self._gutter_digits = len(str(len(self._lines)))
        self._rows = None
        if getattr(self, "hide_locs", False):
            self._hide_loc_lines()
        self.virtual_size = Size(self.gutter_width + max(map(len, self._lines)) + 1, self.row_count)
        if self.cursor_line > len(self._lines):
            self.set_reactive(CodeView.cursor_line, len(self._lines))
        self.refresh()

    @property
    def text(self) -> str:
        return self._text

    @property
    def level(self) -> str:
        return self._level

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line (tabs expanded)."""
        return self._lines[line - 1]

    @property
    def gutter_width(self) -> int:
        return self._gutter_digits + 3 + (HEAT_WIDTH if self._heat else 0)  # [heat], mark, digits, two spaces

    def set_heat(self, heat: dict[int, float] | None) -> None:
        """A heat column: each line's share of a profile's counts (none: no column)."""
        heat = dict(heat or {})
        if heat == self._heat:
            return
        self._heat = heat
        self._strips.clear()   # (every line's gutter changes)
        self.virtual_size = Size(self.gutter_width + max(map(len, self._lines)) + 1, self.row_count)
        self.refresh()

    @property
    def heat(self) -> dict[int, float]:
        return self._heat

    @property
    def lexed_lines(self) -> int:
        """How many lines have been lexed so far (for tests and the benchmark)."""
        return sum(1 for t in self._tokens if t is not None)

    # -- lexing -------------------------------------------------------------------------------

    def _line_tokens(self, index: int) -> tuple:
        tokens = self._tokens[index]
        if tokens is None and not self._lines[index]:
            return ()   # (an empty pane, before its level comes, makes no lexer: see warm_lexers)
        if tokens is None:
            self._lex_chunk(index // self._chunk)
            tokens = self._tokens[index]
        return tokens

    def _lex_chunk(self, chunk: int) -> None:
        start = chunk * self._chunk
        end = min(start + self._chunk, len(self._lines))
        text = "\n".join(self._lines[start:end]) + "\n"
        index, current = start, []
        for token, value in self.lexer.get_tokens(text):
            if "\n" not in value:
                current += (token, len(value))
                continue
            parts = value.split("\n")
            for i, part in enumerate(parts):
                if i:
                    if index < end:
                        self._tokens[index] = tuple(current)
                    index, current = index + 1, []
                if part:
                    current += (token, len(part))
        while index < end:  # lines the lexer did not end with a newline
            self._tokens[index] = tuple(current)
            index, current = index + 1, []
        self._lexed_chunks.add(chunk)

    # -- styles -------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self, _theme: str) -> None:
        self._styles = None
        self._segments.clear()
        self._strips.clear()
        self.refresh()

    def _get_styles(self):
        if self._styles is None:
            from workbench.tui.themes import themes_of
            theme = themes_of(self.app).for_app_theme(self.app.current_theme)
            styles = theme.syntax_styles()
            view = dict(styles.view)
            if self.app.no_color:  # NO_COLOR: marks that need no colour
                view.update(cursor_line=Style(underline=True), mapped_line=Style(bold=True),
                            search_match=Style(reverse=True), cursor=Style(reverse=True))
            self._styles = (styles, view)
        return self._styles

    def _line_segments(self, index: int) -> list[tuple[str, Style]]:
        segments = self._segments.get(index)
        if segments is None:
            styles, _ = self._get_styles()
            tokens, line, pos = self._line_tokens(index), self._lines[index], 0
            segments = []
            for i in range(0, len(tokens), 2):
                n = tokens[i + 1]
                segments.append((line[pos:pos + n], styles.style_for(tokens[i])))
                pos += n
            if pos < len(line):  # never lose text, whatever the lexer did
                segments.append((line[pos:], Style.null()))
            if len(self._segments) >= _MAX_CACHED_LINES:
                self._segments.clear()
            self._segments[index] = segments
        return segments

    # -- rendering ----------------------------------------------------------------------------

    _frame_style: Style | None = None

    def render_lines(self, crop):
        # the widget's style (a walk up the DOM each time it is asked) once per render, not per line
        self._frame_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self._frame_style or self.rich_style
        if scroll_y + y >= self.row_count:
            return Strip.blank(width, base)
        index = self._line_index_of_row(scroll_y + y)
        line = index + 1
        is_cursor = line == self.cursor_line
        # a redraw (another pane's mapping, the status line, a layout) draws most lines as they were
        key = (index, self._lines[index], self._line_tokens(index), self._gutter_digits,
               scroll_x, width, base, line in self._mapped_set, self._search, self.hide_locs,
               self._anchor is not None and self.selected_lines[0] <= line <= self.selected_lines[1],
               (self.cursor_column, self.has_focus) if is_cursor else None)
        strip = self._strips.get(key)
        if strip is None:
            if len(self._strips) >= _MAX_CACHED_LINES:
                self._strips.clear()
            strip = self._strips[key] = self._render_line(index, is_cursor, scroll_x, width, base)
        return strip

    def _render_line(self, index: int, is_cursor: bool, scroll_x: int, width: int, base: Style) -> Strip:
        _, view = self._get_styles()
        line = index + 1
        line_style = base
        if is_cursor:
            line_style = base + view["cursor_line"]
        elif line in self._mapped_set:
            line_style = base + view["mapped_line"]
        if self._anchor is not None and self.selected_lines[0] <= line <= self.selected_lines[1]:
            line_style += _SELECTED

        mark = "▌" if line in self._mapped_set else " "
        gutter_style = base + (view["gutter_cursor"] if is_cursor else view["gutter"])
        gutter = [Segment(f"{mark}{line:>{self._gutter_digits}}  ", gutter_style)]
        if self._heat:
            gutter.insert(0, _heat_segment(self._heat.get(line, 0.0), gutter_style))

        spans = self._overlay_spans(index, is_cursor)
        segments: list[Segment] = []
        pos = 0
        for text, style in self._line_segments(index):
            seg_end = pos + len(text)
            style = line_style + style
            if spans:
                cut = pos
                for s_start, s_end, s_style in spans:
                    if s_end <= cut or s_start >= seg_end:
                        continue
                    a, b = max(s_start, cut), min(s_end, seg_end)
                    if a > cut:
                        segments.append(Segment(text[cut - pos:a - pos], style))
                    segments.append(Segment(text[a - pos:b - pos], style + s_style))
                    cut = b
                if cut < seg_end:
                    segments.append(Segment(text[cut - pos:], style))
            else:
                segments.append(Segment(text, style))
            pos = seg_end
        if is_cursor and self.cursor_column >= pos:  # the cursor past the end of the line
            segments.append(Segment(" " * (self.cursor_column - pos) + " ", line_style))
            if self.has_focus:
                segments[-1] = Segment(segments[-1].text[:-1], line_style)
                segments.append(Segment(" ", line_style + view["cursor"]))
        if self.hide_locs:
            segments = cut_spans(segments, self._loc_spans(index))
        code_width = max(width - self.gutter_width, 0)
        code = Strip(segments).crop_extend(scroll_x, scroll_x + code_width, line_style)
        return Strip(gutter + list(code), width).crop_extend(0, width, base)

    def _overlay_spans(self, index: int, is_cursor: bool) -> list[tuple[int, int, Style]]:
        spans: list[tuple[int, int, Style]] = []
        _, view = self._get_styles()
        if self._search is not None:
            spans += [(m.start(), m.end(), view["search_match"])
                      for m in self._search.finditer(self._lines[index]) if m.end() > m.start()]
        if is_cursor and self.has_focus and self.cursor_column < len(self._lines[index]):
            c = self.cursor_column
            spans = [s for s in spans if not (s[0] <= c < s[1])] + \
                [(s[0], c, s[2]) for s in spans if s[0] <= c < s[1] and s[0] < c] + \
                [(c + 1, s[1], s[2]) for s in spans if s[0] <= c < s[1] and c + 1 < s[1]] + \
                [(c, c + 1, view["cursor"])]
        spans.sort()
        return spans

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- cursor -------------------------------------------------------------------------------

    def validate_cursor_line(self, line: int) -> int:
        return max(1, min(line, len(self._lines)))

    def validate_cursor_column(self, column: int) -> int:
        return max(0, column)

    def watch_cursor_line(self, old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.CursorMoved(self, new, self.cursor_column))

    def watch_cursor_column(self) -> None:
        self._scroll_cursor_into_view()
        self.refresh()

    def _scroll_cursor_into_view(self, center: bool = False) -> None:
        height = max(self.scrollable_content_region.height, 1)
        top = self.scroll_offset.y
        index = self._row_of_line(self.cursor_line)
        y = None
        if center and not (top <= index < top + height):
            y = max(index - height // 2, 0)
        elif index < top:
            y = index
        elif index >= top + height:
            y = index - height + 1
        code_width = max(self.scrollable_content_region.width - self.gutter_width, 1)
        left = self.scroll_offset.x
        x = None
        if self.cursor_column < left:
            x = max(self.cursor_column - 4, 0)
        elif self.cursor_column >= left + code_width:
            x = self.cursor_column - code_width + 5
        if x is not None or y is not None:
            self.scroll_to(x=x, y=y, animate=False, immediate=True)

    def goto_line(self, line: int, column: int = 0, *, center: bool = True) -> None:
        """Move the cursor to a 1-based line (clamped), scrolling it into view."""
        line = self.validate_cursor_line(line)
        self.set_reactive(CodeView.cursor_column, column)
        if center:
            self.center_on(line)
        if line == self.cursor_line:
            self._scroll_cursor_into_view(center)
            self.refresh()
        else:
            self.cursor_line = line
            self._scroll_cursor_into_view(center)

    def action_cursor_up(self) -> None:
        self._anchor = None
        self.cursor_line = self._next_shown(self.cursor_line, -1)

    def action_cursor_down(self) -> None:
        self._anchor = None
        self.cursor_line = self._next_shown(self.cursor_line, 1)

    def action_cursor_left(self) -> None:
        self.cursor_column = min(self.cursor_column, len(self._lines[self.cursor_line - 1])) - 1

    def action_cursor_right(self) -> None:
        self.cursor_column += 1

    def action_line_start(self) -> None:
        self.cursor_column = 0

    def action_line_end(self) -> None:
        self.cursor_column = len(self._lines[self.cursor_line - 1])

    def action_page_up(self) -> None:
        page = max(self.scrollable_content_region.height - 1, 1)
        self.scroll_to(y=max(self.scroll_offset.y - page, 0), animate=False, immediate=True)
        self.cursor_line -= page

    def action_page_down(self) -> None:
        page = max(self.scrollable_content_region.height - 1, 1)
        self.scroll_to(y=self.scroll_offset.y + page, animate=False, immediate=True)
        self.cursor_line += page

    def action_first_line(self) -> None:
        self.goto_line(1)

    def action_last_line(self) -> None:
        self.goto_line(len(self._lines))

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = self.scroll_offset.y + offset.y
        if row < self.row_count:
            line = self._line_index_of_row(row) + 1
            self.cursor_column = max(self.scroll_offset.x + offset.x - self.gutter_width, 0)
            self.cursor_line = line

    # -- centring, rows, locations hidden --------------------------------------------------------

    def center_on(self, line: int) -> None:
        """Scroll so that a 1-based line is in the middle of the view, unless it is in the middle
        half already (a jump's target never lands on the bottom row)."""
        height = max(self.scrollable_content_region.height, 1)
        row, top = self._row_of_line(line), self.scroll_offset.y
        if top + height // 4 <= row < top + height - height // 4:
            return
        self.scroll_to(y=max(row - height // 2, 0), animate=False, immediate=True)

    def show_from_top(self, line: int = 1, above: int = 2, tries: int = 5) -> None:
        """The cursor on ``line`` with that line near the top of the view (a kernel's ``def``; a
        new file at its first line). A view not laid out yet cannot scroll: it tries again after
        the next refresh."""
        self.goto_line(line, center=False)
        want = max(self._row_of_line(line) - above, 0)
        self.scroll_to(x=0, y=want, animate=False, immediate=True)
        if self.scroll_offset.y != want and tries > 0:
            self.call_after_refresh(self.show_from_top, line, above, tries - 1)

    @property
    def row_count(self) -> int:
        return len(self._rows) if self._rows is not None else len(self._lines)

    def _row_of_line(self, line: int) -> int:
        """The 0-based row showing a 1-based line (a hidden line: the row after it)."""
        if self._rows is None:
            return line - 1
        return min(bisect.bisect_left(self._rows, line - 1), max(len(self._rows) - 1, 0))

    def _line_index_of_row(self, row: int) -> int:
        return self._rows[row] if self._rows is not None else row

    def _next_shown(self, line: int, step: int) -> int:
        """The next shown line from ``line`` in direction ``step`` (hidden ``#loc`` lines skipped)."""
        if self._rows is None:
            return line + step
        row = self._row_of_line(line)
        if self._rows and self._rows[row] == line - 1:
            row += step
        elif step < 0:
            row -= 1
        row = max(0, min(row, len(self._rows) - 1))
        return self._rows[row] + 1 if self._rows else line

    # -- line selection and copy ---------------------------------------------------------------

    @property
    def selected_lines(self) -> tuple[int, int] | None:
        """(first, last) 1-based lines selected with shift+up/down, or None."""
        if self._anchor is None:
            return None
        return min(self._anchor, self.cursor_line), max(self._anchor, self.cursor_line)

    def action_select_up(self) -> None:
        self._anchor = self.cursor_line if self._anchor is None else self._anchor
        self.cursor_line = self._next_shown(self.cursor_line, -1)

    def action_select_down(self) -> None:
        self._anchor = self.cursor_line if self._anchor is None else self._anchor
        self.cursor_line = self._next_shown(self.cursor_line, 1)

    def action_copy(self) -> None:
        """The selected lines, else the whole level, as shown, to the terminal's clipboard (OSC 52,
        so it works over SSH too)."""
        chosen = self.selected_lines
        text = self.shown_text(*chosen) if chosen else self.shown_text()
        self.app.copy_to_clipboard(text)
        n = text.count("\n")
        what = f"lines {chosen[0]}-{chosen[1]}" if chosen else f"the whole {self._level.upper()}"
        self.post_message(self.Jumped(self, "copy", True, None, f"copied {what} ({n} line{'s' * (n != 1)})"))
        self._anchor = None
        self.refresh()

    # -- mapped lines -------------------------------------------------------------------------

    def highlight_lines(self, lines: Iterable[int]) -> None:
        """Mark these 1-based lines (the lines mapped from the cursor of another level)."""
        n = len(self._lines)
        mapped = frozenset(line for line in lines if 1 <= line <= n)
        changed, self._mapped, self._mapped_set = mapped ^ self._mapped_set, sorted(mapped), mapped
        top, height = self.scroll_offset.y, self.size.height
        for row in {self._row_of_line(line) for line in changed}:   # (only they look different)
            if top <= row < top + height:
                self.refresh_lines(row)

    @property
    def highlighted_lines(self) -> list[int]:
        return list(self._mapped)


_SELECTED = Style(reverse=True)
HEAT_WIDTH = 5
_HEAT_STYLES = ((0.20, Style(color="red", bold=True)), (0.05, Style(color="yellow")), (0.0, Style()))


def _heat_segment(share: float, style: Style) -> Segment:
    """`` 29% `` in a colour by how hot; blank for a line with no counts."""
    if share <= 0:
        return Segment(" " * HEAT_WIDTH, style)
    hot = next(s for limit, s in _HEAT_STYLES if share >= limit)
    text = f"{share * 100:3.0f}% " if share >= 0.01 else " <1% "
    return Segment(text, style + hot)

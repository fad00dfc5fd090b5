"""``loc(...)`` annotations and ``#loc`` lines of MLIR levels hidden in a level's view (the text,
line numbers and the cross-level mapping keep them): a mixin of
:class:`~workbench.tui.widgets.code_view.CodeView`, whose rows, cursor and scrolling it uses."""

from __future__ import annotations

import re

from rich.segment import Segment
from textual.geometry import Size


class HiddenLocs:
    def set_hide_locs(self, hide: bool) -> None:
        """Hide ``loc(...)`` annotations and ``#locN = ...`` lines of MLIR levels (TTIR, TTGIR), in
        the display only: the text, line numbers and the cross-level mapping keep them."""
        if hide == self.hide_locs:
            return
        self.hide_locs = hide
        if self._level not in MLIR_LEVELS:
            return
        line = self.cursor_line
        on_screen = self._row_of_line(line) - self.scroll_offset.y   # the cursor stays where it is on screen
        self._rows = None
        if hide:
            self._hide_loc_lines()
        self.virtual_size = Size(self.virtual_size.width, self.row_count)
        if self._rows is not None and self._rows and (line - 1) not in self._rows:
            line = self._rows[self._row_of_line(line)] + 1
        self.scroll_to(y=max(self._row_of_line(line) - on_screen, 0), animate=False, immediate=True)
        self.goto_line(line, self.cursor_column, center=False)
        self.refresh()

    def _hide_loc_lines(self) -> None:
        if self._level not in MLIR_LEVELS:
            return
        self._rows = [i for i, text in enumerate(self._lines) if not _LOC_DEF.match(text)] or None

    def _loc_spans(self, index: int) -> list[tuple[int, int]]:
        if self._level not in MLIR_LEVELS:
            return []
        return [m.span() for m in _LOC_USE.finditer(self._lines[index])]

    def shown_text(self, first: int | None = None, last: int | None = None) -> str:
        """Lines ``first``..``last`` (1-based, all by default) as the view shows them."""
        first, last = first or 1, last or len(self._lines)
        out = []
        for index in range(first - 1, last):
            if self._rows is not None and index not in self._rows:
                continue
            text = self._lines[index]
            for a, b in reversed(self._loc_spans(index) if self.hide_locs else []):
                text = text[:a] + text[b:]
            out.append(text)
        return "\n".join(out) + "\n"


MLIR_LEVELS = frozenset({"ttir", "ttgir"})


_LOC_DEF = re.compile(r"\s*#loc\d*\s*=\s*loc\(")


_LOC_USE = re.compile(r' ?loc\((?:[^()"]|"[^"]*"|\((?:[^()"]|"[^"]*"|\([^()]*\))*\))*\)')


def cut_spans(segments: list[Segment], spans: list[tuple[int, int]]) -> list[Segment]:
    """``segments`` without the characters in ``spans`` (sorted, 0-based, end exclusive)."""
    if not spans:
        return segments
    out, pos = [], 0
    for seg in segments:
        text, end = seg.text, pos + len(seg.text)
        keep = []
        cursor = pos
        for a, b in spans:
            if b <= cursor or a >= end:
                continue
            if a > cursor:
                keep.append(text[cursor - pos:a - pos])
            cursor = max(cursor, min(b, end))
        if cursor < end:
            keep.append(text[cursor - pos:])
        if keep:
            out.append(Segment("".join(keep), seg.style))
        pos = end
    return out

"""The Log tab: runner output, compiler messages, restarts and their reasons.

Long lines wrap: a compiler message is read whole, not cut at the edge. Bounded: it keeps the
last ``TAIL`` lines and says how many came before them ("N lines more"), and draws what arrived
at most a few times a second, so a script that prints 100,000 lines costs one list append a
line, not a redraw a line.
"""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.widgets import RichLog

TAIL = 2000
FLUSH_S = 0.1      # new lines are drawn this often
REWRITE_S = 1.0    # the whole tail, when it moved on (a flood of lines), at most this often


class LogView(RichLog):
    DEFAULT_CSS = "LogView { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=TAIL + 1, wrap=True, min_width=40, markup=False, highlight=False, **kwargs)
        self.kept: deque[tuple[str, str]] = deque(maxlen=TAIL)   # (text, style) of the tail
        self.dropped = 0                  # lines that came before the tail kept
        self._new: deque[tuple[str, str]] = deque(maxlen=TAIL)
        self._rewrite = False             # the tail moved past what is drawn: draw it again whole
        self._timer = None

    def add(self, text: str, style: str = "") -> None:
        if len(self.kept) == TAIL:
            self.dropped += 1
            self._rewrite = True
        self.kept.append((text, style))
        self._new.append((text, style))
        if self._timer is None:
            self._timer = self.set_timer(REWRITE_S if self._rewrite else FLUSH_S, self._flush)

    @property
    def lines_text(self) -> list[str]:
        return [text for text, _ in self.kept]

    @property
    def more_text(self) -> str:
        return f"… {self.dropped} lines more before these (the last {TAIL} are kept)" if self.dropped else ""

    def _flush(self) -> None:
        self._timer = None
        if self._rewrite:
            self._rewrite = False
            self.clear()
            self.write(Text(self.more_text, style="dim italic"))
            for line, style in self.kept:
                self.write(Text(line, style=style))
        else:
            for line, style in self._new:
                self.write(Text(line, style=style))
        self._new.clear()

"""The Log tab: runner output, compiler messages, restarts and their reasons (long lines wrap:
a compiler message is read whole, not cut at the edge)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog


class LogView(RichLog):
    DEFAULT_CSS = "LogView { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=5000, wrap=True, min_width=40, markup=False, highlight=False, **kwargs)
        self.lines_text: list[str] = []

    def add(self, text: str, style: str = "") -> None:
        self.lines_text.append(text)
        if len(self.lines_text) > 5000:
            del self.lines_text[:1000]
        self.write(Text(text, style=style))

"""One line saying what the runner is doing (with a spinner) or what the last outcome was."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    StatusLine.-error { background: $error 40%; }
    StatusLine.-ok { background: $success 25%; }
    """

    def __init__(self, text: str = "", **kwargs) -> None:
        super().__init__(text, **kwargs)
        self.message = text
        self.busy = False
        self._frame = 0
        self._timer = None

    def on_mount(self) -> None:
        self._timer = self.set_interval(0.1, self._tick, pause=True)

    def show(self, text: str, *, busy: bool = False, kind: str = "") -> None:
        self.message, self.busy = text, busy
        self.set_class(kind == "error", "-error")
        self.set_class(kind == "ok", "-ok")
        if self._timer is not None:
            self._timer.resume() if busy else self._timer.pause()
        self._render_line()

    def _tick(self) -> None:
        self._frame += 1
        self._render_line()

    def _render_line(self) -> None:
        prefix = SPINNER[self._frame % len(SPINNER)] + " " if self.busy else ""
        self.update(Text(prefix + self.message), layout=False)   # one line, always: no layout (it ticks at 10 Hz)

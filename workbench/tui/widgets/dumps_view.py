"""The Dumps tab: ask the runner for the values of an SSA value or a Python variable.

A first cut: the ``dump`` request is being built in the engine (issue 4); whatever it answers,
or the error it gives, is shown as text here.
"""

from __future__ import annotations

import json

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static


class DumpsView(Vertical):
    DEFAULT_CSS = """
    DumpsView > Horizontal { height: 3; }
    DumpsView Input { width: 1fr; }
    DumpsView #dump-level { width: 12; }
    DumpsView VerticalScroll { height: 1fr; }
    """

    class Requested(Message):
        def __init__(self, value: str, level: str) -> None:
            super().__init__()
            self.value = value
            self.level = level

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Input(placeholder="value to dump: %name (TTIR/TTGIR) or a Python variable; x on a line",
                        id="dump-value")
            yield Input(value="python", id="dump-level")
        with VerticalScroll():
            yield Static("put the cursor on a value in a level pane and press x, or type it above",
                         id="dump-result")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = self.query_one("#dump-value", Input).value.strip()
        level = self.query_one("#dump-level", Input).value.strip() or "python"
        if value:
            self.post_message(self.Requested(value, level))

    def set_request(self, value: str, level: str) -> None:
        self.query_one("#dump-value", Input).value = value
        self.query_one("#dump-level", Input).value = level

    def show(self, text: str) -> None:
        self.query_one("#dump-result", Static).update(Text(text))

    def show_result(self, value: str, level: str, result) -> None:
        try:
            body = json.dumps(result, indent=1, default=str)
        except (TypeError, ValueError):
            body = repr(result)
        if len(body) > 20000:
            body = body[:20000] + "\n…"
        self.show(f"{level} {value}:\n{body}")

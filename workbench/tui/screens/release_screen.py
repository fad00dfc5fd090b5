"""V: which Triton release to compare the kernel on screen with: a field holding the newest other
release unpacked (the repository's .triton-versions/ or the workbench's cache), and the others."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ReleaseScreen(ModalScreen[str | None]):
    """Dismissed with the release typed (Enter), or None (Esc)."""

    DEFAULT_CSS = """
    ReleaseScreen { align: center middle; }
    ReleaseScreen > Vertical { width: 72; max-width: 100%; height: auto; background: $surface;
                               border: thick $primary; padding: 0 1; }
    ReleaseScreen Static { height: auto; }
    """
    BINDINGS = [Binding("escape", "dismiss_none", "Close", id="release.close")]

    def __init__(self, kernel: str, this: str | None, default: str, unpacked: list[str]) -> None:
        super().__init__()
        self.kernel, self.this, self.default, self.unpacked = kernel, this, default, unpacked

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Compare {self.kernel} (Triton {self.this or '?'}) with Triton release: "
                         "Enter compares, Esc closes", markup=False)
            yield Input(value=self.default, placeholder="X.Y.Z", id="compare-release")
            yield Static(f"unpacked here: {', '.join(self.unpacked) or 'none'} (another one is installed into "
                         "the workbench's cache with pip, once)", markup=False, classes="dim")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        field.action_end()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

"""F2: open another script: one of the bundled examples, a script beside the current one, or
any path typed in. The path field has the focus, as the dialog's sentence says: typed text goes
there (down goes to the list)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option


def candidate_scripts(current: Path, examples: Path) -> list[Path]:
    """Scripts beside the current one, then the bundled examples (no duplicates, no tests)."""
    seen, out = set(), []
    for folder in (current.parent, examples):
        for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
            resolved = path.resolve()
            if resolved not in seen and not path.name.startswith(("test_", "_")):
                seen.add(resolved)
                out.append(resolved)
    return out


class OpenScriptScreen(ModalScreen[Path | None]):
    DEFAULT_CSS = """
    OpenScriptScreen { align: center middle; }
    OpenScriptScreen > Vertical { width: 80%; height: 70%; background: $surface; border: thick $primary; }
    OpenScriptScreen Static { height: auto; padding: 0 1; }
    OpenScriptScreen OptionList { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "dismiss_none", "Close", id="open.close"),
                Binding("down", "to_list", "To the list", show=False, id="open.to_list")]

    def __init__(self, current: Path, examples: Path) -> None:
        super().__init__()
        self.current = current
        self.scripts = candidate_scripts(current, examples)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Open a script: type a path and press Enter, or pick one below (down goes to the list; "
                         "Esc closes)")
            yield Input(value=str(self.current), id="open-path")
            yield OptionList(*[Option(f"{p.name}  [dim]{p.parent}[/]", id=str(i)) for i, p in enumerate(self.scripts)],
                             id="open-list")

    def on_mount(self) -> None:
        path = self.query_one("#open-path", Input)
        path.focus()
        path.action_end()

    def action_to_list(self) -> None:
        if self.focused is self.query_one("#open-path"):
            self.query_one("#open-list", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.scripts[int(event.option.id)])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = Path(event.value.strip()).expanduser()
        if not path.is_file():
            self.query_one(Static).update(f"[red]{path}: no such file[/]  (pick one below, or type a path)")
            return
        self.dismiss(path.resolve())

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

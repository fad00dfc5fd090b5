"""A question with a few answers (keep or reset kept edits, keep or discard a draft): the one
modal dialog for the choices the app must not make for the user."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class ChoiceScreen(ModalScreen[str | None]):
    """Dismissed with the chosen answer's key; Esc is the first answer (the one that loses nothing)."""

    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen > Vertical { width: 80%; height: auto; max-height: 70%; background: $surface;
                              border: thick $warning; padding: 0 1; }
    ChoiceScreen Static { height: auto; padding: 1 0; }
    ChoiceScreen OptionList { height: auto; }
    """
    BINDINGS = [Binding("escape", "first", "Close", id="choice.close")]

    def __init__(self, question: str, answers: list[tuple[str, str]]) -> None:
        super().__init__()
        self.question = question
        self.answers = answers

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, markup=False, id="choice-question")
            yield OptionList(*[Option(text, id=key) for key, text in self.answers], id="choice-answers")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_first(self) -> None:
        self.dismiss(self.answers[0][0])

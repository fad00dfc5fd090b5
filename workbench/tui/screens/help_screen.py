"""F1 / ?: every key binding of the app, with its id (for ``[keys]`` in the config file)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


def key_names(keys: str) -> str:
    """``question_mark,f1`` as a user types them: ``? f1`` (``ctrl+slash``: ``ctrl+/``)."""
    shown = []
    for key in keys.split(","):
        *mods, last = key.strip().split("+")
        shown.append("+".join(mods + [format_key(last) if len(last) > 1 else last]))
    return " ".join(shown)


def binding_rows(classes, keymap: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(where, keys, what, id) for every Binding of these classes, keys as the keymap makes them."""
    rows, seen = [], set()
    for where, cls in classes:
        for b in getattr(cls, "BINDINGS", []):
            if not isinstance(b, Binding) or b.id in seen:
                continue
            seen.add(b.id)
            keys = keymap.get(b.id, b.key) if b.id else b.key
            rows.append((where, key_names(keys), b.description or b.action, b.id or ""))
    return rows


class HelpScreen(ModalScreen):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 90%; height: 85%; background: $surface; border: thick $primary; }
    HelpScreen Static { height: auto; padding: 0 1; }
    HelpScreen DataTable { height: 1fr; }
    """
    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, rows: list[tuple[str, str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Keys (remap any by its id in the config file's [keys] table; ctrl+p: every "
                         "action by name; esc closes)", markup=False)
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("where", "keys", "action", "id")
        for row in self.rows:
            table.add_row(*row)
        table.focus()

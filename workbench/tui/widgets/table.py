"""TableView: Textual's DataTable with its columns as wide as their cells from the frame a row is
added in.

DataTable (Textual 8.2) measures the cells of a new row on its next idle, and a line it drew
before that stays in a cache whose key the measuring does not change. A frame drawn between the
two (the compositor drew one after a save's result often enough for CI to see it) kept the cell
cut to its column's older width: a watch's "1024 of 1024 differ" stayed "1024 of 102". Here a
column widens when the row comes, before any frame; the idle's measure then finds nothing to do.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.errors import MarkupError
from rich.protocol import is_renderable
from rich.text import Text
from textual.render import measure
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey


class TableView(DataTable):
    def add_row(self, *cells: CellType, **kwargs) -> RowKey:
        key = super().add_row(*cells, **kwargs)
        for column, cell in zip(self.ordered_columns, cells):
            self._widen(column.key, cell)
        return key

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: CellType, *,
                    update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        if update_width:
            self._widen(column_key if isinstance(column_key, ColumnKey) else ColumnKey(column_key), value)

    def _widen(self, key: ColumnKey, cell: CellType) -> None:
        column = self.columns[key]
        if column.auto_width:
            column.content_width = max(column.content_width, measure(self.app.console, _shown(cell), 1))


def _shown(cell: CellType) -> RenderableType:
    """What DataTable draws for a cell (its default formatter's text: a string's markup applied)."""
    if isinstance(cell, float):
        return f"{cell:.2f}"
    if isinstance(cell, str):
        try:
            return Text.from_markup(cell, end="")
        except MarkupError:
            return Text(cell, end="")
    return cell if is_renderable(cell) else str(cell)

"""The Outputs tab: the verification of each output tensor against the original kernel's."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from workbench.model.results import RunResult
from workbench.tui.widgets.table import TableView
from workbench.tui.format import OUTPUT_COLUMNS, output_rows, result_summary


class OutputsView(Vertical):
    DEFAULT_CSS = """
    OutputsView > Static { height: auto; padding: 0 1; }
    OutputsView > DataTable { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static("no run yet", id="outputs-summary")
        yield TableView(id="outputs-table", zebra_stripes=True, cursor_type="row")

    def on_mount(self) -> None:
        self.columns = self.query_one(DataTable).add_columns(*OUTPUT_COLUMNS)
        self.rows: list[tuple[str, ...]] = []   # the rows shown, as text
        self.summary = "no run yet"

    def show_result(self, result: RunResult) -> None:
        """A save's result: the same outputs as shown (a version of this kernel) change only the
        cells that differ, so the row under the cursor stays and an equal result draws nothing;
        other outputs make the table again."""
        self.result = result
        self._summary(result_summary(result))
        table, rows = self.query_one(DataTable), output_rows(result)
        if [r[0] for r in rows] != [r[0] for r in self.rows]:
            table.clear()
            for row in rows:
                table.add_row(*map(cell, range(len(row)), row), key=row[0])
        else:
            for old, row in zip(self.rows, rows):
                for i, (was, now) in enumerate(zip(old, row)):
                    if was != now:
                        table.update_cell(row[0], self.columns[i], cell(i, now), update_width=True)
        self.rows = rows

    def clear(self) -> None:
        self._summary("no run yet")
        self.query_one(DataTable).clear()
        self.rows = []

    def _summary(self, text: str) -> None:
        """The summary line; redrawn without a layout of the screen where it takes as many rows as
        before (a layout moves every scrollbar on screen: a save's redraw paid for it)."""
        if text == self.summary:
            return
        static = self.query_one("#outputs-summary", Static)
        width = static.content_size.width
        same_rows = width > 0 and rows_of(self.app, self.summary, width) == rows_of(self.app, text, width)
        self.summary = text
        static.update(Text(text), layout=not same_rows)


def rows_of(app, text: str, width: int) -> int:
    return len(Text(text).wrap(app.console, width))


def cell(column: int, text: str):
    """The verify column in colour; the others as text."""
    if OUTPUT_COLUMNS[column] == "verify":
        return Text(text, style="bold green" if text == "ok" else "bold red")
    return text

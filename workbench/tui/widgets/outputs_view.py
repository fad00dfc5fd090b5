"""The Outputs tab: the verification of each output tensor against the original kernel's."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from workbench.tui.format import OUTPUT_COLUMNS, output_rows, result_summary


class OutputsView(Vertical):
    DEFAULT_CSS = """
    OutputsView > Static { height: auto; padding: 0 1; }
    OutputsView > DataTable { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static("no run yet", id="outputs-summary")
        yield DataTable(id="outputs-table", zebra_stripes=True, cursor_type="row")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*OUTPUT_COLUMNS)

    def show_result(self, result: dict) -> None:
        self.result = result
        self.query_one("#outputs-summary", Static).update(Text(result_summary(result)))
        table = self.query_one(DataTable)
        table.clear()
        for row in output_rows(result):
            table.add_row(*row[:3], Text(row[3], style='bold green' if row[3] == 'ok' else 'bold red'), *row[4:])

"""The app's tables: a cell is never drawn cut to a column's older, narrower width."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import DataTable

from workbench.tui.widgets.table import TableView


class TableApp(App):
    def __init__(self, table: DataTable):
        super().__init__()
        self.table = table

    def compose(self):
        yield self.table


def _row_text(table: DataTable) -> str:
    return table.render_line(1).text   # (line 0: the header)


async def _refill_and_draw_before_idle(table: DataTable) -> str:
    """The watch table's fill, then a save's: the same row again with a wider last cell, and a frame
    drawn before the table's next idle (where DataTable measures new rows), as the app's
    compositor may draw it; the line that shows once the table is idle again."""
    async with TableApp(table).run_test(size=(100, 10)) as pilot:
        table.add_columns("id", "this version", "vs original")
        table.add_row("w1", "not dumped yet (save to dump)", "-", key="w1")
        await pilot.pause()
        table.clear()
        table.add_row("w1", "interpreted", "1024 of 1024 differ", key="w1")
        _row_text(table)   # the frame between the add and the idle
        await pilot.pause()
        return _row_text(table)


@pytest.mark.asyncio
async def test_a_wider_cell_added_after_a_clear_is_drawn_whole_even_when_a_frame_came_first():
    line = await _refill_and_draw_before_idle(TableView())
    assert "1024 of 1024 differ" in line, line


@pytest.mark.asyncio
async def test_textuals_own_datatable_still_cuts_it_so_the_table_above_is_needed():
    """If Textual fixes its DataTable, this fails: TableView can then go."""
    line = await _refill_and_draw_before_idle(DataTable())
    assert "1024 of 102" in line and "1024 of 1024" not in line, line


@pytest.mark.asyncio
async def test_a_cell_with_markup_is_as_wide_as_what_it_shows():
    table = TableView()
    async with TableApp(table).run_test(size=(60, 6)) as pilot:
        table.add_columns("v")
        table.add_row("[bold]abcdef[/bold]")
        assert table.ordered_columns[0].content_width == 6   # not the 19 characters of its markup
        await pilot.pause()
        assert "abcdef" in _row_text(table) and "[bold]" not in _row_text(table)

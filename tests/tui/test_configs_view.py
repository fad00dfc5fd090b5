"""The Configs tab on fixed data: the CLI's rows, sorted on s, a bar per timed config, Enter
picks a config, a typed config is asked for."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import DataTable, Input

from workbench.model.configs_report import config_tables
from workbench.model.results import RunResult
from workbench.tui.widgets.configs_view import ConfigsView


def _run(index: int, median: float, status: str = "ok") -> RunResult:
    return RunResult.parse({
        "kernel": "scale_add_kernel", "spec_id": f"s{index}", "version": "original", "level": "python",
        "status": status, "message": "",
        "outputs": [] if status == "ok" else [{"name": "out_ptr", "ok": False,
                                               "sentence": "out_ptr: FAIL: 3 of 8 elements differ"}],
        "compile": {"num_warps": 4, "num_stages": 3, "registers": 30 + index, "spill_stores": 0,
                    "spill_loads": 0, "shared": 0},
        "timing": {"mode": "cuda-event",
                   "stats": {"median": median, "p20": median * 0.99, "p80": median * 1.01, "spread": 0.02}}})


TABLE = config_tables([{"kernel": "scale_add_kernel", "key": [98432], "chosen": 1, "pruned": 0, "tried": [2],
                        "configs": {str(i): {"config": "", "spec_id": f"s{i}",
                                             "kwargs": {"BLOCK_SIZE": 256 << (2 * i), "num_warps": 4}}
                                    for i in range(3)}}],
                      [_run(0, 0.0120), _run(1, 0.0100), _run(2, 0.0080, "mismatch")])[0]


class ConfigsApp(App):
    def __init__(self):
        super().__init__()
        self.got: list = []

    def compose(self):
        yield ConfigsView()

    def on_mount(self):
        self.query_one(ConfigsView).show(TABLE)
        self.query_one(DataTable).focus()

    def on_configs_view_picked(self, msg):
        self.got.append(("picked", msg.spec_id))

    def on_configs_view_try(self, msg):
        self.got.append(("try", msg.text))


def _cells(app) -> list[list[str]]:
    grid = app.query_one(DataTable)
    return [[str(c) for c in grid.get_row_at(i)] for i in range(grid.row_count)]


@pytest.mark.asyncio
async def test_the_table_sorts_picks_and_tries():
    app = ConfigsApp()
    async with app.run_test(size=(140, 30)) as pilot:
        rows = _cells(app)
        assert [r[0].strip() for r in rows] == ["*<", "", "+"]  # the chosen one first, the fastest that verifies
        assert rows[0][1] == "BLOCK_SIZE=1024, num_warps=4" and rows[0][6] == "10.00" and rows[0][8] == "1.000x"
        assert rows[2][5] == "FAIL" and rows[1][9] == "█" * 24  # the slowest has the longest bar
        await pilot.press("s")  # by median
        assert [r[1].split(",")[0] for r in _cells(app)] == ["BLOCK_SIZE=4096", "BLOCK_SIZE=1024", "BLOCK_SIZE=256"]
        await pilot.press("s")  # by verdict: the failing one last
        assert _cells(app)[-1][5] == "FAIL"
        await pilot.press("down", "enter")
        assert app.got == [("picked", "s0")] or app.got == [("picked", "s1")]
        app.got.clear()
        app.query_one(Input).focus()
        await pilot.press(*"BLOCK_SIZE=512", "enter")
        assert app.got == [("try", "BLOCK_SIZE=512")] and app.query_one(Input).value == ""
        verdict = str(app.query_one("#configs-verdict").render())
        assert "out_ptr: FAIL: 3 of 8 elements differ" in verdict

"""What a kernel author reads in the app, driven through Pilot against the real runner (Triton's
interpreter on a CPU): each version's own facts (warps, registers, spills, shared memory) in the
sidebar, Bench and History; no interpreter wall time shown as a kernel timing; Python variables
dumped through the interpreter; the sidebar that gives way on small screens; reading IR without
its locations; search, copy, help and the status line."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES, _has_cuda
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.code_view import CodeView
from workbench.tui.widgets.history_view import HistoryView
from workbench.tui.widgets.kernel_picker import KernelPicker

GPU = _has_cuda()
FAST_BENCH = {"warmup_ms": 1.0, "rep_ms": 5.0, "graph": False}


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def script(tmp_path) -> Path:
    path = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", path)
    return path


async def wait_for(pilot, condition, timeout: float = 90.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}; status: {pilot.app.status.message}")


async def opened(pilot) -> WorkbenchApp:
    await wait_for(pilot, lambda: pilot.app.last_good is not None, what="the original's run")
    return pilot.app


def line_of(view: CodeView, needle: str) -> int:
    return next(n for n in range(1, view.line_count + 1) if needle in view.line_text(n))


def row(table, key) -> list[str]:
    return [str(c) for c in table.get_row(key)]


@pytest.mark.asyncio
async def test_each_version_shows_its_own_facts_and_no_interpreter_timing(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=(200, 50)) as pilot:
        app = await opened(pilot)
        picker = app.query_one(KernelPicker)
        regs = app.current["result"]["registers"]
        assert f"warps 4 · regs {regs}" in str(picker.get_option_at_index(0).prompt)
        if not GPU:
            # point 13: no interpreter wall time presented as a kernel timing, and no wait for it
            assert app.last_good.get("timing") is None
            assert "median" not in app.status.message and "×" not in app.status.message
            assert "not a kernel timing" in str(app.query_one("#bench-chart").render())

        # a TTGIR edit to 8 warps: the sidebar, Bench and History show v1's own facts
        pane = app.pane("ttgir")
        pane.view.focus()
        await pilot.press("e")
        text = pane.editor.text
        assert '"ttg.num-warps" = 4' in text
        pane.editor.load_text(text.replace('"ttg.num-warps" = 4', '"ttg.num-warps" = 8')
                              .replace("warpsPerCTA = [4]", "warpsPerCTA = [8]"))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.last_good["version"] == "1", what="version 1")
        compiled = app.last_good["compile"]
        assert compiled["num_warps"] == 8
        prompt = str(picker.get_option_at_index(0).prompt)
        assert "v1:" in prompt and "warps 8 (was 4)" in prompt
        assert f"regs {compiled['registers']}" in prompt
        bench = app.query_one("#bench-table")
        cells = row(bench, bench.coordinate_to_cell_key((1, 0)).row_key)
        assert cells[0] == "v1" and cells[9:13] == ["4→8", *(
            [str(compiled["registers"])] if compiled["registers"] == regs else [f"{regs}→{compiled['registers']}"]),
            "0", "0"]
        history = app.query_one(HistoryView).query_one("#history-table")
        assert row(history, "1")[4] == "4→8" and row(history, "original")[4] == "4"
        # back to the original: its own facts again
        app.run_version("original")
        await wait_for(pilot, lambda: app.last_good["version"] == "original", what="the original's run")
        prompt = str(picker.get_option_at_index(0).prompt)
        assert "v1:" not in prompt and "warps 4 ·" in prompt

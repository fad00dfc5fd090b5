"""The app's main flows, driven through Textual's Pilot against the real runner (Triton's
interpreter on a CPU): open, pick, switch levels, cross-level mapping, edit and save, a compile
error at its line, restore, outside saves through the watcher."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from textual.containers import VerticalScroll

from helpers import EXAMPLES, ROOT
from pilot import FAST_BENCH, GPU, SIZE, line_of, opened, screen_text, wait_for
from workbench.tui.app import WorkbenchApp
from workbench.tui.format import LEVELS
from workbench.tui.widgets.code_view import CodeView
from workbench.tui.widgets.history_view import HistoryView
from workbench.tui.widgets.kernel_picker import KernelPicker
from workbench.tui.widgets.level_pane import PANE_MIN_WIDTH

@pytest.mark.asyncio
async def test_open_pick_switch_levels_and_map_lines(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        # the first frame comes before the runner has answered
        assert "starting runner" in app.status.message
        assert app.opened is None
        app = await opened(pilot)

        # the picker: one kernel with its facts
        picker = app.query_one(KernelPicker)
        assert picker.option_count == 1
        prompt = str(picker.get_option_at_index(0).prompt)
        regs = app.current.result["registers"]
        assert "add_kernel" in prompt and "grid 97×1×1" in prompt and f"regs {regs}" in prompt
        assert "warps 4" in prompt and "1 launch" in prompt

        # the original ran in the interpreter, verified against itself, timed
        assert app.last_good.status == "ok"
        assert "add_kernel original: ok" in app.status.message
        table = app.query_one("#outputs-table")
        assert table.row_count == 3
        assert [str(c) for c in table.get_row_at(2)[:4]] == ["out_ptr", "float32", "98432", "ok"]
        app.main.action_results("bench")                                     # Bench draws when shown
        await pilot.pause()
        assert app.query_one("#bench-table").row_count == 1
        app.main.action_results("outputs")

        # levels: Python | TTGIR | PTX side by side, loaded from edit/
        shown = [lv for lv in LEVELS if app.column(lv).display]
        assert shown == ["python", "ttgir", "ptx"]
        assert "def add_kernel" in app.pane("python").view.text
        assert "tt.store" in app.pane("ttgir").view.text and "ttg." in app.pane("ttgir").view.text
        assert "st.global" in app.pane("ptx").view.text

        # switch the focused slot (Python) to LLIR, then back with the next/previous keys
        app.pane("python").view.focus()
        await pilot.press("4")
        await pilot.pause()
        assert [lv for lv in LEVELS if app.column(lv).display] == ["ttgir", "llir", "ptx"]
        assert "define" in app.pane("llir").view.text
        assert isinstance(app.focused, CodeView) and app.focused.level == "llir"
        await pilot.press("less_than_sign")           # previous level not shown: TTIR
        await pilot.pause()
        assert [lv for lv in LEVELS if app.column(lv).display] == ["ttir", "ttgir", "ptx"]
        await pilot.press("1")
        await pilot.pause()
        assert [lv for lv in LEVELS if app.column(lv).display] == ["python", "ttgir", "ptx"]
        await pilot.press("v")                         # two panes, then three again
        await pilot.pause()
        assert sum(app.column(lv).display for lv in LEVELS) == 2
        await pilot.press("v")
        await pilot.pause()
        assert sum(app.column(lv).display for lv in LEVELS) == 3

        # the cursor on the store line highlights its lines in TTGIR and PTX
        py = app.pane("python").view
        py.focus()
        store = line_of(py, "tl.store(")
        py.goto_line(store)
        await pilot.pause()
        ttgir, ptx = app.pane("ttgir").view, app.pane("ptx").view
        assert ttgir.highlighted_lines and ptx.highlighted_lines
        assert any("tt.store" in ttgir.line_text(n) for n in ttgir.highlighted_lines)
        assert any("st.global" in ptx.line_text(n) for n in ptx.highlighted_lines)
        assert not any("tt.load" in ttgir.line_text(n) for n in ttgir.highlighted_lines)
        # f follows the mapping into the next pane; a TTGIR line maps back to its Python line
        await pilot.press("f")
        await pilot.pause()
        assert app.focused is ttgir and ttgir.cursor_line in ttgir.highlighted_lines
        load = next(n for n in range(1, ttgir.line_count + 1) if "tt.load" in ttgir.line_text(n))
        ttgir.goto_line(load)
        await pilot.pause()
        assert "tl.load(" in py.line_text(py.highlighted_lines[0])

        # help lists the bindings with their ids; the palette holds the actions
        await pilot.press("f1")
        await pilot.pause()
        help_rows = [tuple(str(c) for c in app.screen.query_one("#help-table").get_row_at(i))
                     for i in range(app.screen.query_one("#help-table").row_count)]
        assert any(r[3] == "app.follow" and r[1] == "f" for r in help_rows)
        assert any(r[3] == "level_pane.save" for r in help_rows)
        await pilot.press("escape")
        names = [c[0] for c in app.palette_commands()]
        for wanted in ("Show TTGIR", "Edit the focused level", "Dump the value under the cursor",
                       "Restore the version selected in History", "Results: Bench", "Theme: light"):
            assert wanted in names

        svg = app.export_screenshot(title="workbench")
        for text in ("add_kernel", "vector_add.py", "Python", "TTGIR", "PTX", "Outputs", "History"):
            assert text in svg, text


@pytest.mark.asyncio
async def test_edit_python_save_mismatch_then_restore(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        pane = app.pane("python")
        pane.view.focus()
        await pilot.press("e")
        await pilot.pause()
        assert pane.editing
        edited = pane.editor.text.replace("x + y, mask=mask", "x - y, mask=mask")
        assert edited != pane.editor.text
        pane.editor.load_text(edited)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.last_good.version == "1", what="version 1")

        edit_file = app.level_path("python")
        assert "x - y, mask=mask" in edit_file.read_text()
        assert app.last_good.status == "mismatch"
        assert "MISMATCH" in app.status.message and "out_ptr" in app.status.message
        outputs = app.query_one("#outputs-table")
        row = [str(c) for c in outputs.get_row_at(2)]
        assert row[0] == "out_ptr" and row[3] == "FAIL" and row[6] == "98432"
        app.main.action_results("bench")
        await pilot.pause()
        assert app.query_one("#bench-table").row_count == 2
        history = app.query_one(HistoryView)
        app.main.action_results("history")                                   # History draws when shown
        await pilot.pause()
        assert history.query_one("#history-table").row_count == 2       # original, v1
        await wait_for(pilot, lambda: "-    tl.store(out_ptr + offsets, x + y, mask=mask)" in history.diff_text,
                       what="the diff (made on a thread)")
        assert "+    tl.store(out_ptr + offsets, x - y, mask=mask)" in history.diff_text
        # the levels below were regenerated: the TTGIR pane shows a subtraction now
        assert "arith.subf" in app.pane("ttgir").view.text

        # restore the original from History
        table = history.query_one("#history-table")
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("r")
        await wait_for(pilot, lambda: "x + y, mask=mask" in app.pane("python").view.text, what="restore")
        assert "x + y, mask=mask" in edit_file.read_text()
        assert "arith.addf" in app.pane("ttgir").view.text
        await wait_for(pilot, lambda: app.last_good.version == "original", what="the original's run")
        assert app.last_good.status == "ok"


@pytest.mark.asyncio
async def test_on_an_80_column_terminal_the_history_table_leaves_the_diff_a_pane(script):
    """Seen in tmux at 80x24: the version table kept its 72 columns and the diff beside it had 8;
    narrowed to leave the diff a pane, the table cut its cells (9830 for 98304): the diff goes
    under it where no pane fits beside it."""
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=(80, 24)) as pilot:
        app = await opened(pilot)
        app.main.action_results("history")
        await pilot.pause()
        history = app.query_one(HistoryView)
        table, diff = history.query_one("#history-table"), history.query_one(VerticalScroll)
        assert history.has_class("-stacked") and table.region.width == diff.region.width == 80
        assert table.region.bottom <= diff.region.y
        await pilot.resize_terminal(200, 40)
        await pilot.pause()
        assert not history.has_class("-stacked") and table.region.width == history.table_width()
        assert table.region.right <= diff.region.x and diff.region.width > PANE_MIN_WIDTH


@pytest.mark.asyncio
async def test_on_an_80_column_terminal_every_results_tab_shows_its_whole_label(script):
    """Seen in tmux at 80x24 once the Sanitize tab came: the tab bar ran past the edge and Log
    read "Lo". Under 100 columns the labels sit one space apart; wider, as before."""
    from textual.widgets import Tab
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=(80, 24)) as pilot:
        app = await opened(pilot)
        labels = [str(tab.label) for tab in app.query("#results Tab").results(Tab)]
        assert len(labels) == 10 and labels[-1] == "Log"
        row = next(line for line in screen_text(app).splitlines() if "Outputs" in line)
        assert row.split() == labels, row
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        row = next(line for line in screen_text(app).splitlines() if "Outputs" in line)
        assert "  ".join(labels) in row


@pytest.mark.asyncio
async def test_a_ttgir_compile_error_shows_at_its_line_and_the_last_result_stays(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        pane, column = app.pane("ttgir"), app.column("ttgir")
        pane.view.focus()
        await pilot.press("e")
        lines = pane.editor.text.split("\n")
        bad = line_of(pane.view, "tt.splat") if "tt.splat" in pane.view.text else 10
        lines[bad - 1] += " bogus"
        typed = "\n".join(lines)
        pane.editor.load_text(typed)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: column.has_class("-error"), what="the compile error")

        assert column.error["line"] == bad
        assert f"line {bad}:" in str(column.query_one(".level-error").render())
        assert pane.view.highlighted_lines == [bad] and pane.view.cursor_line == bad
        assert pane.editing and pane.editor.text == typed           # nothing the user typed is lost
        assert pane.editor.cursor_location[0] == bad - 1
        assert f"compile error in TTGIR at line {bad}" in app.status.message
        assert "the last good result stays (original)" in app.status.message
        assert app.last_good.version == "original"
        assert [str(c) for c in app.query_one("#outputs-table").get_row_at(2)][3] == "ok"
        app.main.action_results("history")
        await pilot.pause()
        assert app.query_one(HistoryView).query_one("#history-table").row_count == 1  # no version made

        # fixed back to the original's text: the error goes, and no version is made for it
        pane.editor.load_text(typed.replace(" bogus", ""))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not column.has_class("-error"), what="the error cleared")
        assert "TTGIR is original's text already: no new version" in app.status.message
        assert "original" in str(column.query_one(".level-title").render())
        # fix it differently in the same editor: a new version, compiled only (no GPU)
        pane.editor.load_text(typed.replace(" bogus", "") + "// fixed\n")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.last_good.version == "1", what="version 1")
        assert not column.has_class("-error")
        assert "edited (v1)" in str(column.query_one(".level-title").render())
        # no GPU: an IR level is compiled only; on a GPU it runs and verifies
        assert app.last_good.status == ("ok" if GPU else "compiled-only") and app.last_good.level == "ttgir"
        assert ("v1 (from TTGIR): ok" if GPU else "compiled only") in app.status.message
        # the same text saved again is not a new version
        await pilot.press("ctrl+s")
        await pilot.pause(0.5)
        assert "TTGIR is v1's text already: no new version" in app.status.message
        assert len(app.versions) == 1


@pytest.mark.asyncio
async def test_an_outside_save_by_rename_recompiles(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        path = app.level_path("python")
        text = path.read_text().replace("x + y, mask=mask", "x * y, mask=mask")
        tmp = path.with_name(".add_kernel.py.swp")
        tmp.write_text(text)
        os.replace(tmp, path)                      # an editor's atomic save
        await wait_for(pilot, lambda: app.last_good.version == "1", what="version 1 from the watcher")
        assert app.last_good.status == "mismatch"
        assert "x * y" in app.pane("python").view.text
        assert "arith.mulf" in app.pane("ttgir").view.text
        # the files the runner regenerated are not taken for edits: no second version comes
        await pilot.pause(0.5)
        assert app.last_good.version == "1" and app.runner_writes == 0
        assert len(app.versions) == 1


def test_the_app_process_never_imports_torch_or_triton(script, tmp_path):
    code = f"""
import asyncio, sys, time
from workbench.tui.app import WorkbenchApp
async def main():
    app = WorkbenchApp({str(script)!r}, bench={FAST_BENCH!r})
    async with app.run_test(size=(120, 40)) as pilot:
        t = time.monotonic()
        while app.last_good is None and time.monotonic() - t < 90:
            await pilot.pause(0.1)
        print("status", app.status.message)
asyncio.run(main())
print("loaded", sorted(m for m in ("torch", "triton") if m in sys.modules))
"""
    path = os.pathsep.join([str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    env = dict(os.environ, PYTHONPATH=path, WORKBENCH_CONFIG=str(tmp_path / "none.toml"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "status add_kernel original: ok" in proc.stdout
    assert "loaded []" in proc.stdout


@pytest.mark.asyncio
async def test_dump_the_python_variable_under_the_cursor(script):
    """One key on a Python variable: on a GPU its TTIR value is dumped (values, stats, heat map
    and histogram); without one, the variable itself, through the interpreter."""
    from workbench.tui.widgets.dumps_view import DumpsView
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        view = app.pane("python").view
        view.focus()
        line = line_of(view, "x = tl.load(x_ptr + offsets")
        view.goto_line(line, view.line_text(line).index("x = ") + 0)
        await pilot.pause()
        await pilot.press("x")
        shown = lambda: app.query_one(DumpsView).shown_text  # noqa: E731
        await wait_for(pilot, lambda: ("%x" if GPU else "x  float32[1024]  line") in shown() and "1024" in shown(),
                       what="the dump")
        text = shown()
        if GPU:
            assert "add_kernel · TTIR · program 0,0,0" in text
            assert "ran (" in text and "histogram" in text and "min " in text
        else:
            assert "add_kernel · PYTHON · program 0,0,0 · interpreted" in text
            assert "min " in text and "python-x.npy" in text and "needs a GPU" not in text
        assert app.query_one("#results").active == "dumps"
        assert isinstance(app.query_one(DumpsView), DumpsView)


@pytest.mark.asyncio
async def test_open_another_script_from_the_app(script, tmp_path):
    """F2 lists the scripts beside the open one and the bundled examples; picking one opens it
    in the same runner, and its kernels replace the old ones."""
    from textual.widgets import OptionList
    from workbench.tui.screens.open_screen import OpenScriptScreen
    other = script.parent / "raises_after.py"
    shutil.copy(ROOT / "tests" / "data" / "raises_after.py", other)
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        await pilot.press("f2")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, OpenScriptScreen)
        names = [p.name for p in screen.scripts]
        assert names[:2] == ["raises_after.py", "vector_add.py"] and "matmul.py" in names
        assert screen.focused is screen.query_one("#open-path")    # typed text goes to the path field
        await pilot.press("down")                                  # down goes to the list
        assert screen.focused is screen.query_one(OptionList)
        screen.query_one(OptionList).highlighted = 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current is not None and app.current.kernel == "double_kernel",
                       what="the other script's kernel")
        assert app.script == other.resolve()
        assert app.query_one(KernelPicker).option_count == 1
        await wait_for(pilot, lambda: app.last_good is not None, what="its original's run")
        assert app.last_good.status == "ok"


@pytest.mark.asyncio
async def test_the_dumps_key_opens_the_tab_ready_to_type_and_escape_goes_back(script):
    from textual.widgets import Input
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        await pilot.press("D")
        await pilot.pause()
        assert app.query_one("#results").active == "dumps"
        assert isinstance(app.focused, Input) and app.focused.id == "dump-value"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.focused, CodeView) and app.focused.level in app.shown_levels


@pytest.mark.asyncio
async def test_the_configs_tab_replays_every_config_and_tries_a_new_one(tmp_path):
    shutil.copy(EXAMPLES / "autotuned_add.py", tmp_path / "autotuned_add.py")
    from textual.widgets import DataTable, Input

    from workbench.tui.widgets.configs_view import ConfigsView
    app = WorkbenchApp(tmp_path / "autotuned_add.py", bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        app.configs.action_configs_tab()
        grid = app.query_one("#configs-table", DataTable)
        await wait_for(pilot, lambda: grid.row_count == 3 and all(
            str(grid.get_row_at(i)[5]) == "ok" for i in range(3)), what="three configs verified")
        assert str(grid.get_row_at(0)[0]).startswith("*")
        assert "scale_add_kernel: 3 configs for key [98432" in str(app.query_one("#configs-title").render())
        field = app.query_one("#configs-try", Input)
        field.focus()
        await pilot.press(*"BLOCK_SIZE=512,num_warps=4", "enter")
        await wait_for(pilot, lambda: grid.row_count == 4, what="the tried config in the table")
        row = [str(c) for c in grid.get_row_at(3)]
        # (`<` beside it: the fastest verified, which a GPU's timings may make it)
        assert row[0].strip() in ("+", "+<") and row[1].startswith("BLOCK_SIZE=512, num_warps=4") and row[5] == "ok"
        assert app.status.message.startswith("tried BLOCK_SIZE=512, num_warps=4")
        # a sweep typed in the same field: every combination a row, the count and ETA said
        field.focus()
        await pilot.press(*"BLOCK_SIZE=128,2048 num_warps=2,4", "enter")
        await wait_for(pilot, lambda: grid.row_count == 8, timeout=240, what="the sweep's four rows")
        await wait_for(pilot, lambda: "sweep 4 of 4" in app.status.message, what="the sweep done")
        assert "· done" in app.status.message
        labels = {",".join(str(grid.get_row_at(i)[1]).replace(",", " ").split()[:2]) for i in range(4, 8)}
        assert labels == {"BLOCK_SIZE=128,num_warps=2", "BLOCK_SIZE=128,num_warps=4",
                          "BLOCK_SIZE=2048,num_warps=2", "BLOCK_SIZE=2048,num_warps=4"}, labels
        assert all(str(grid.get_row_at(i)[5]) == "ok" for i in range(4, 8))
        # Esc in the tab stops a sweep after the config it is at; what finished stays
        field.focus()
        # (a GPU runs three configs in 0.1 s, before the Esc is read: there, a sweep of 24)
        sweep = "BLOCK_SIZE=64,32,16 num_warps=1" + (",2 num_stages=1,2,3,4" if app.gpu else "")
        await pilot.press(*sweep, "enter", "escape")
        await wait_for(pilot, lambda: "sweep stopped after" in app.status.message, timeout=240, what="the stop")
        assert grid.row_count < 8 + (24 if app.gpu else 3) and "the table keeps them" in app.status.message
        # Enter on a config the script lists loads its levels
        grid.focus()
        grid.move_cursor(row=1)
        await pilot.press("enter")
        other = app.query_one(ConfigsView).sorted_rows()[1]["spec_id"]
        await wait_for(pilot, lambda: app.spec_id == other, what="the picked config's levels")
        # and on a config tried here: its levels are in the workspace, listed in the picker too
        app.configs.action_configs_tab()
        rows = app.query_one(ConfigsView).sorted_rows()
        i = next(i for i, r in enumerate(rows) if r["config"].startswith("BLOCK_SIZE=512, num_warps=4"))
        grid.focus()
        grid.move_cursor(row=i)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.spec_id == rows[i]["spec_id"], what="the tried config's levels")
        ttgir = app.pane("ttgir").view.text
        assert '"ttg.num-warps" = 4' in ttgir and "512" in ttgir
        assert rows[i]["spec_id"] in [e.spec_id for e in app.query_one(KernelPicker).kernels]


@pytest.mark.asyncio
async def test_the_configs_theme_is_on_the_first_frame_and_an_unknown_one_is_said(script):
    from workbench.tui.config import Config
    app = WorkbenchApp(script, config=Config(theme="light"), bench=FAST_BENCH)
    assert app.theme == "light"                       # before the first frame, not restyled after it
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "light" and not app.current_theme.dark
        # its colours, in the first parse of the stylesheet and on the screen's classes
        assert app.stylesheet._variables["background"].lower() == "#ffffff"
        assert str(app.screen.styles.background.hex).lower() == "#ffffff"
        assert app.has_class("-theme-light", "-light-mode") and not app.has_class("-dark-mode")
    app = WorkbenchApp(script, config=Config(theme="no-such-theme"), bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "dark"
        assert any("no theme named 'no-such-theme'" in str(n.message) for n in app._notifications)


@pytest.mark.asyncio
async def test_the_kernel_line_of_an_inlined_helper_and_tl_sum_marks_the_reduction_in_ptx_and_sass(tmp_path):
    """tl.sum's shuffles carry Triton's standard.py lines; the cursor on the kernel's line marks them anyway."""
    path = tmp_path / "helper_sum.py"
    shutil.copy(ROOT / "tests" / "data" / "helper_sum.py", path)
    app = WorkbenchApp(path, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        ptx = app.pane("ptx").view
        ptx.focus()
        await pilot.press("6")                         # the PTX slot shows SASS
        await pilot.pause()
        sass = app.pane("sass").view
        await wait_for(pilot, lambda: "SHFL" in sass.text, what="the SASS")
        py = app.pane("python").view
        py.focus()
        reduction = line_of(py, "tl.sum(_sq(x)")
        py.goto_line(reduction)
        await pilot.pause()
        assert any("SHFL" in sass.line_text(n) for n in sass.highlighted_lines)
        assert any("tt.reduce" in app.pane("ttgir").view.line_text(n) for n in app.pane("ttgir").view.highlighted_lines)
        shfl = next(n for n in sass.highlighted_lines if "SHFL" in sass.line_text(n))
        sass.focus()
        sass.goto_line(shfl)
        await pilot.pause()
        assert reduction in py.highlighted_lines

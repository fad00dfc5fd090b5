"""Watched values and first divergence in the app, through Textual's Pilot against the real
runner (Triton's interpreter runs the Python-level kernel on a CPU): a variable watched with
`w`, an edit that changes it, and on save its new and original values with their difference;
`F` on that version names the first value that leaves the original's."""

from __future__ import annotations

import pytest

from pilot import GPU, FAST_BENCH, SIZE, edit_and_save, line_of, opened, wait_for
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.dumps_view import DumpsView

Y_LOAD = "y = tl.load(y_ptr + offsets, mask=mask)"


async def watch_y_and_negate_it(pilot, app) -> tuple[DumpsView, int]:
    """``w`` on ``y``'s assignment, then a save where y is negated (so the store writes x - y)."""
    view = app.pane("python").view
    view.focus()
    line = line_of(view, Y_LOAD)
    view.goto_line(line, view.line_text(line).index("y = "))
    await pilot.pause()
    await pilot.press("w")
    dumps = app.query_one(DumpsView)
    await wait_for(pilot, lambda: len(dumps.watches) == 1, what="the watch")
    assert dumps.watches[0]["label"] == f"y (line {line})" and dumps.watches[0]["level"] == "python"
    assert app.query_one("#results").active == "dumps"
    table = dumps.query_one("#watch-table")
    assert [str(c) for c in table.get_row_at(0)][:3] == ["w1", f"y (line {line})", "PYTHON"]
    # typed in the tab: a second watch, which the edit leaves alone
    dumps.set_request("x", "python")
    await pilot.click("#dump-watch")
    await wait_for(pilot, lambda: len(dumps.watches) == 2, what="the typed watch")
    assert dumps.watches[1]["label"] == f"x (line {line - 1})"
    await edit_and_save(pilot, app, Y_LOAD, "y = -tl.load(y_ptr + offsets, mask=mask)")
    return dumps, line


@pytest.mark.asyncio
async def test_a_watched_variable_shows_its_new_and_original_values_and_their_difference(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        dumps, line = await watch_y_and_negate_it(pilot, app)
        assert app.last_good.status == "mismatch"
        assert "w2 x (line" in dumps.watch_text and "difference: none, all 1024 the same" in dumps.watch_text
        dumps.query_one("#watch-table").move_cursor(row=0)        # the selected watch is shown
        await pilot.pause()
        entry = dumps.entries["w1"]
        assert entry["diff"]["count"] == 1024 and entry["diff"]["total"] == 1024
        text = dumps.watch_text
        assert "w1 y (line" in text and "PYTHON · program 0,0,0" in text
        assert "version 1" in text and "original" in text and "interpreted" in text
        assert "float32[1024]" in text
        # y is rand() in [0, 1): the original's values are its negation's, side by side
        row = next(r for r in text.splitlines() if r.strip().startswith("values"))
        assert row.count("-0.") >= 4 and row.count(" 0.") >= 4
        assert "difference: 1024 of 1024 differ, first at [0], max abs" in text
        assert "difference heat map (1x32 cells" in text
        assert [str(c) for c in dumps.query_one("#watch-table").get_row_at(0)][5] == "1024 of 1024 differ"
        assert "1 watched value differs from the original" in app.status.message
        assert dumps.entries["w2"]["diff"]["count"] == 0
        assert [str(c) for c in dumps.query_one("#watch-table").get_row_at(1)][5] == "same"

        # an edit where y is no more: the watch says so, it dumps nothing else
        pane = app.pane("python")
        pane.view.focus()
        await pilot.press("e")
        await pilot.pause()
        pane.editor.load_text(pane.editor.text.replace("    y = -tl.load(", "    z = -tl.load(")
                              .replace("x + y, mask=mask", "x + z, mask=mask"))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.last_good.version == "2", what="version 2")
        row = [str(c) for c in dumps.query_one("#watch-table").get_row_at(0)]
        assert row[4].startswith("not found: ") and row[5] == "no comparison"
        assert "version 2: not found: " in dumps.watch_text and "difference: none (one side has no values)" in dumps.watch_text
        assert "1 watched value not found in this version" in app.status.message

    # the watch list lives in the workspace: opened again, it is listed (not dumped yet); Delete removes it
    from workbench.tui.screens.choice_screen import ChoiceScreen
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="the keep-edits question")
        await pilot.press("down", "enter")   # reset: (kept, v2 would run, and the watches be v2's: test_app_state)
        app = await opened(pilot)
        dumps = app.query_one(DumpsView)
        await wait_for(pilot, lambda: len(dumps.watches) == 2, what="the watch list")
        # and dumped at once for the version the app runs: the original, once edit/ is reset
        await wait_for(pilot, lambda: (dumps.entries.get("w1") or {}).get("version", {}).get("label") == "original",
                       what="the watches dumped for the original")
        assert [str(c) for c in dumps.query_one("#watch-table").get_row_at(0)][1:] == [
            f"y (line {line})", "PYTHON", "float32[1024]", "interpreted", "same"]
        # values dumped for v2 (kept edits run first) that arrive after the reset made the original
        # current: not shown, and asked for again (seen under load in CI: never dumped for the original)
        from workbench.tui.messages import WatchesDone
        late = [dict(e, version=dict(e["version"], label="2")) for e in dumps.entries.values()]
        dumps.entries = {}
        app.post_message(WatchesDone(app.spec_id, None, entries=late))
        await wait_for(pilot, lambda: (dumps.entries.get("w1") or {}).get("version", {}).get("label") == "original",
                       what="the watches dumped again for the original")
        app.main.action_results("dumps")
        dumps.query_one("#watch-table").focus()
        await pilot.press("delete")
        await wait_for(pilot, lambda: len(dumps.watches) == 1, what="the watch removed")
        assert dumps.watches[0]["id"] == "w2" and "w2 x (line" in dumps.watch_text
        assert '"w1"' not in (app.edit_dir.parent / "watch.json").read_text()


@pytest.mark.asyncio
async def test_first_divergence_names_the_negated_load_and_jumps_to_its_line(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        dumps, line = await watch_y_and_negate_it(pilot, app)
        # an SSA value watched from TTIR: found again in v1 (renumbered), compiled (run with a GPU)
        ttir = app.pane("ttir").view
        app.main.action_show_level("ttir")
        ttir.focus()
        load = line_of(ttir, "= tt.load %y")
        ttir.goto_line(load, ttir.line_text(load).index("%y"))
        await pilot.pause()
        await pilot.press("w")
        await wait_for(pilot, lambda: len(dumps.watches) == 3 and "w3" in dumps.entries, what="the TTIR watch")
        w3 = dumps.entries["w3"]
        assert w3["level"] == "ttir" and w3["label"].startswith("%y_8 tt.load") and w3["version"]["found"]
        assert w3["version"]["status"].startswith("ran (" if GPU else "compiled only")
        view = app.pane("python").view
        view.focus()
        view.goto_line(1)
        await pilot.pause()
        await pilot.press("F")
        await wait_for(pilot, lambda: "first divergence · version 1" in dumps.watch_text, timeout=180,
                       what="the first divergence")
        text = dumps.watch_text
        assert "diverged" in text and "the chain, in program order" in text
        assert f"first differing: y at PYTHON {line}, TTIR " in text
        chain = {r.split()[0]: r.split() for r in text.splitlines() if r.split()[:1] in (["x"], ["y"])
                 and r.split()[1] != "+"}
        assert "same" in chain["x"] and "DIFFERS" in chain["y"]
        # every program was dumped (the last one masked): 98432 elements differ
        assert "difference: 98432 of 99328 differ, first at [0,0,0]" in text
        assert "y is the first value that differs from the original" in app.status.message
        first = app.dumps.last_diverge["first"]["lines"]["version"]
        assert view.cursor_line == line == first["python"][0]
        assert app.pane("ttgir").view.cursor_line == first["ttgir"][0]

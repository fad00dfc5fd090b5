"""The app's Passes tab (issue 13, point 4), through Textual's Pilot against the real runner: the
pass list of the kernel on screen (folded and not), the IR after a pass beside its diff, a pass
marked to diff against, the jump from a TTGIR line to the pass that introduced it, an edit of a
pass's IR saved as a version that starts after it, and a TTIR version compared pass by pass."""

from __future__ import annotations

import re
import shutil

import pytest

from helpers import EXAMPLES
from pilot import FAST_BENCH, SIZE, line_of, opened, wait_for
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.level_pane import PANE_MIN_WIDTH, LevelPane
from workbench.tui.widgets.passes_view import PassesView, rows_shown


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", path)
    return path


def _table(app):
    return app.query_one("#passes-table")


async def _passes_shown(pilot, app) -> PassesView:
    await pilot.press("M")
    view = app.query_one(PassesView)
    await wait_for(pilot, lambda: app.spec_id in view.data and _table(app).row_count > 0, what="the pass list")
    return view


@pytest.mark.asyncio
async def test_the_pass_list_its_ir_its_diff_a_mark_and_the_jump_from_a_ttgir_line(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        view = await _passes_shown(pilot, app)
        rows = view.rows
        folder = view.folder
        # every pass, numbered across the stages, each kept as a file in the kernel's passes/
        assert [r["number"] for r in rows] == list(range(len(rows)))
        assert rows[0]["pass"] == "input" and {r["stage"] for r in rows} == {"ttir", "ttgir", "llir"}
        assert folder == app.current.folder / "passes"
        for r in rows:
            assert r["file"] is None or (folder / r["file"]).is_file()
        # folded: each run of passes that changed nothing is one row
        table = _table(app)
        assert table.row_count == len(rows_shown(rows, True)) < len(rows)
        await pilot.press("a")
        assert table.row_count == len(rows)

        # a pass that changed the IR: its IR (the file's text) beside its diff against the pass before
        coalesce = next(r for r in rows if r["pass"] == "tritongpu-coalesce")
        assert coalesce["changed"] is True
        table.move_cursor(row=coalesce["number"])
        await pilot.pause()
        pane = app.query_one("#pass-ir", LevelPane)
        assert pane.view.text == (folder / coalesce["file"]).read_text()
        before = view.base_of(coalesce)
        assert before["number"] == max(r["number"] for r in rows[:coalesce["number"]] if r["changed"] is not False)
        await wait_for(pilot, lambda: view.diff_text.startswith("---"), what="the diff")
        added = [ln for ln in view.diff_text.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
        assert len(added) == coalesce["added"]   # the table's count is the diff's (no line moved here)
        assert f"{before['number']:02d}-{before['pass']}" in view.diff_text.splitlines()[0]

        # cross-level mapping: a line of the pass's IR lights the Python line it came from, and back
        n = line_of(pane.view, "tt.load")
        pane.view.goto_line(n)
        await pilot.pause()
        python = app.pane("python").view
        lit = python.highlighted_lines
        assert lit and all("tl.load" in python.line_text(k) or "x = " in python.line_text(k) for k in lit)
        py_line = lit[0]
        python.focus()
        python.goto_line(py_line)
        await pilot.pause()
        assert n in pane.view.highlighted_lines
        assert app.pane("ttgir").view.highlighted_lines   # the levels' own mapping still works

        # m marks the input: the diff is then against it
        table.focus()
        table.move_cursor(row=0)
        await pilot.pause()
        await pilot.press("m")
        table.move_cursor(row=coalesce["number"])
        await pilot.pause()
        await wait_for(pilot, lambda: view.diff_text.splitlines()[0].endswith("00-input"), what="the marked diff")
        assert "(marked)" in str(app.query_one("#diff-title").render())

        # p on a TTGIR line: the pass that introduced its op there, its IR at that op
        await pilot.press("3")
        ttgir = app.pane("ttgir").view
        n = line_of(ttgir, "tt.load")
        ttgir.goto_line(n)
        await pilot.press("p")
        await pilot.pause()
        hit = view.data[app.spec_id]["introduced"]["ttgir"][str(n)]
        assert view.selected["number"] == hit["pass"]
        assert "tt.load" in pane.view.line_text(pane.view.cursor_line)
        assert f"was introduced by pass {hit['pass']:02d}" in app.status.message


@pytest.mark.asyncio
async def test_on_an_80_column_terminal_the_list_gives_way_to_one_pane_and_t_swaps_the_ir_and_its_diff(script):
    """Seen in tmux at 80x24: the list kept its 84 columns and the IR and diff panes had none,
    zoomed or not. The list narrows to leave a pane of PANE_MIN_WIDTH; where one pane fits it
    is the IR's, and t swaps it with the diff; with room for both, both, beside the whole list."""
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=(80, 24)) as pilot:
        app = await opened(pilot)
        view = await _passes_shown(pilot, app)
        await pilot.press("z")
        await pilot.pause()
        listing, ir, diff = (app.query_one(f"#{name}") for name in ("passes-list", "ir-side", "diff-side"))
        assert ir.region.width >= PANE_MIN_WIDTH and not diff.region.width
        assert listing.region.width == 80 - ir.region.width > 0
        assert "t: IR / diff" in str(app.query_one("#passes-summary").render())
        coalesce = next(r for r in view.rows if r["pass"] == "tritongpu-coalesce")
        _table(app).move_cursor(row=next(i for i, (_, g) in enumerate(rows_shown(view.rows, True))
                                         if g[0]["number"] == coalesce["number"]))
        await wait_for(pilot, lambda: view.diff_text.startswith("---"), what="the diff")
        await pilot.press("t")
        await pilot.pause()
        assert diff.region.width >= PANE_MIN_WIDTH and not ir.region.width
        base = view.base_of(coalesce)
        assert f"diff vs {base['number']:02d} {base['pass']}" in str(app.query_one("#diff-title").render())
        assert view.diff_text.splitlines()[1].endswith(f"{coalesce['number']:02d}-{coalesce['pass']}")
        await pilot.press("t")
        await pilot.pause()
        assert ir.region.width >= PANE_MIN_WIDTH and not diff.region.width
        await pilot.press("t")   # the diff shown: a jump to the pass that made a line shows its IR
        await pilot.press("z")
        await pilot.press("3")
        ttgir = app.pane("ttgir").view
        ttgir.goto_line(line_of(ttgir, "tt.load"))
        await pilot.press("p")
        await pilot.pause()
        assert ir.region.width and not diff.region.width
        await pilot.resize_terminal(220, 50)   # (the kernel picker beside the tabs takes 36)
        await pilot.pause()
        assert listing.region.width == 84 and ir.region.width >= PANE_MIN_WIDTH and diff.region.width
        assert "t: IR / diff" not in str(app.query_one("#passes-summary").render())


@pytest.mark.asyncio
async def test_an_edited_pass_is_a_version_that_starts_after_it_and_a_ttir_version_is_compared_by_pass(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        view = await _passes_shown(pilot, app)
        await pilot.press("a")
        row = next(r for r in view.rows if r["pass"] == "tritongpu-remove-layout-conversions")
        _table(app).move_cursor(row=row["number"])
        await pilot.pause()
        pane = app.query_one("#pass-ir", LevelPane)
        text = pane.view.text
        assert text.count("arith.addf") == 1
        # IR typed and left (esc) stays that pass's draft while another pass is looked at
        pane.action_edit()
        pane.editor.load_text(text + "// typed\n")
        await pilot.pause()
        pane.action_leave()
        other = next(r for r in view.rows if r["pass"] == "tritongpu-coalesce")
        _table(app).move_cursor(row=other["number"])
        await pilot.pause()
        assert pane.view.text == (view.folder / other["file"]).read_text() and pane.draft_text() is None
        _table(app).move_cursor(row=row["number"])
        await pilot.pause()
        assert pane.view.text == text and pane.draft_text() == text + "// typed\n"
        # a broken IR after a pass: the error at its line, in the pass's pane
        pane.action_edit()
        pane.editor.load_text(text.replace("arith.addf", "arith.addx"))
        await pilot.pause()
        pane.action_save()
        await wait_for(pilot, lambda: "compile error" in app.status.message, what="the compile error")
        bad = next(i for i, ln in enumerate(text.splitlines(), 1) if "arith.addf" in ln)
        assert f"at line {bad}:" in app.status.message and "arith.addx" in app.status.message
        assert pane.view.cursor_line == bad and "✗" in str(app.query_one("#pass-title").render())
        assert not app.versions
        pane.editor.load_text(text.replace("arith.addf", "arith.mulf"))
        await pilot.pause()
        pane.action_save()
        await wait_for(pilot, lambda: len(app.versions) == 1 and app.edits.running is None, what="the version")
        version = app.versions[0]
        assert version.level == "ttgir" and version.after_pass == row["number"]
        kept = app.edit_dir / row["file"]
        await pilot.press("escape")   # out of the editor (nothing unsaved in it)
        # the table drawn again around it (all passes, then folded; as when the version's comparison
        # comes): the pane keeps the saved edit, not the recording under the same title
        _table(app).focus()
        await pilot.press("a", "a")
        assert pane.view.text == kept.read_text() and "edited, saved" in str(app.query_one("#pass-title").render())
        await pilot.press("H")   # History
        assert not pane.has_draft and pane.view.text == kept.read_text()
        history = app.query_one("#history-table")
        await wait_for(pilot, lambda: history.row_count == 2, what="the History table")
        assert str(history.get_row_at(1)[1]) == f"TTGIR, from pass {row['number']:02d}"
        assert kept.read_text() == text.replace("arith.addf", "arith.mulf")
        # the passes after it ran on the edit: its PTX multiplies
        ptx = app.pane("ptx").view.text
        assert "mul.f32" in ptx and "add.f32" not in ptx

        # a TTIR edit: the passes that decided otherwise, against the original's
        app.main.action_show_level("ttir")
        ttir = app.pane("ttir")
        edited = ttir.view.text.replace("arith.addf", "arith.subf")
        ttir.action_edit()
        ttir.editor.load_text(edited)
        await pilot.pause()
        ttir.action_save()
        await wait_for(pilot, lambda: len(app.versions) == 2 and app.edits.running is None, what="the TTIR version")
        await pilot.press("escape", "M")
        await wait_for(pilot, lambda: (app.spec_id, "2") in view.compare, what="the comparison")
        await pilot.pause()
        found = view.compare[app.spec_id, "2"]
        summary = str(app.query_one("#passes-summary").render())
        m = re.search(r"v2 \(edited at TTIR\): (\d+) of (\d+) passes did something else", summary)
        assert m, summary
        assert int(m[1]) == sum(r["decided_otherwise"] for r in found["passes"])
        table = _table(app)   # the table has the version's column, filled where a pass decided otherwise
        assert str(table.ordered_columns[-1].label) == "v2"
        assert not view.collapsed   # every pass has its row
        marked = [str(table.get_row_at(i)[-1]) for i in range(table.row_count)]
        assert sum(bool(c) for c in marked) == sum(r["decided_otherwise"] for r in found["passes"]
                                                   if r["original"] is not None)
        assert int(m[2]) == len(found["passes"]) and all(r["stage"] in ("ttgir", "llir") for r in found["passes"])


@pytest.mark.gpu
@pytest.mark.asyncio
async def test_on_the_gpu_a_version_saved_from_a_pass_replays_and_verifies(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        view = await _passes_shown(pilot, app)
        await pilot.press("a")
        row = next(r for r in view.rows if r["pass"] == "tritongpu-coalesce")
        _table(app).move_cursor(row=row["number"])
        await pilot.pause()
        pane = app.query_one("#pass-ir", LevelPane)
        pane.action_edit()
        pane.editor.load_text(pane.view.text + "// the same IR, saved from the Passes tab\n")
        await pilot.pause()
        pane.action_save()
        await wait_for(pilot, lambda: app.last_good is not None and app.last_good.version == "1", timeout=180, what="v1's run")
        assert app.last_good.status == "ok" and app.versions[0].after_pass == row["number"]

"""What the app shows as current is what runs, for the script on screen: a reopened workspace's
kept edit is the version that runs (status line, Outputs, watches, R), the keep-or-reset question
after F2 is on screen and answers keys, every results tab shows the new script after F2, and
History's table never runs into its diff. Through Textual's Pilot against the real runner
(Triton's interpreter on a CPU)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import App
from textual.widgets import DataTable, Static

from helpers import EXAMPLES
from pilot import FAST_BENCH, SIZE, opened, wait_for
from pilot import outside_save, title
from workbench.model.results import Version
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.choice_screen import ChoiceScreen
from workbench.tui.widgets.bench_view import BenchView
from workbench.tui.widgets.configs_view import ConfigsView
from workbench.tui.widgets.dumps_view import DumpsView
from workbench.tui.widgets.history_view import HistoryView
from workbench.tui.widgets.outputs_view import OutputsView
from workbench.tui.widgets.profile_view import ProfileView


def screen_text(app: App) -> str:
    """What the terminal holds now: the screen as its compositor last laid it out (as a
    screenshot draws it), in plain text."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True,
                      force_terminal=True, color_system=None, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def open_by_f2(pilot, script: Path) -> None:
    """F2, the path typed into the dialog's field, Enter."""
    app = pilot.app
    await pilot.press("f2")
    await wait_for(pilot, lambda: app.screen.query("#open-path"), what="the open dialog")
    app.screen.query_one("#open-path").value = str(script)
    await pilot.press("enter")


@pytest.fixture
def scripts(tmp_path) -> dict[str, Path]:
    out = {}
    for name in ("vector_add", "autotuned_add"):
        out[name] = tmp_path / f"{name}.py"
        shutil.copy(EXAMPLES / f"{name}.py", out[name])
    return out


@pytest.mark.asyncio
async def test_kept_edits_are_what_runs_after_reopening_and_after_f2(scripts):
    script = scripts["vector_add"]
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        py = app.level_path("python")
        outside_save(py, py.read_text().replace("x + y, mask=mask", "x - y, mask=mask"))
        await wait_for(pilot, lambda: app.last_good.version == "1", what="v1")
        assert "add_kernel v1 (from Python): MISMATCH" in app.status.message

    # reopened: edit/ holds v1 (a mismatching edit); kept, v1 is what every part of the screen is about
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="the keep-or-reset question")
        await pilot.press("enter")                                   # Keep the edits
        await wait_for(pilot, lambda: app.last_good is not None, what="a run")
        assert title(app, "python").endswith("edited (v1)") and title(app, "ptx").endswith("edited (v1)")
        assert app.last_good.version == "1" and app.last_version == "1"
        assert app.status.message.startswith("add_kernel v1 (from Python): MISMATCH")
        outputs = app.query_one(OutputsView)
        assert outputs.summary.startswith("add_kernel v1 (from Python): MISMATCH")
        assert [r[3] for r in outputs.rows] == ["ok", "ok", "FAIL"]
        ran = app.last_good
        await pilot.press("R")                                       # run again: v1, not the original
        await wait_for(pilot, lambda: app.last_good is not ran, what="the run again")
        assert app.last_good.version == "1" and app.status.message.startswith("add_kernel v1")
        # a watch added now is dumped for v1, beside the original
        app.watches.watch_add(app.spec_id, "python", "x")
        dumps = app.query_one(DumpsView)
        await wait_for(pilot, lambda: "w1" in dumps.entries, what="the watch's values")
        assert dumps.entries["w1"]["version"]["label"] == "1"

    # opened with F2 from another script: the question is drawn and answers keys; reset runs the original
    app = WorkbenchApp(scripts["autotuned_add"], bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        await open_by_f2(pilot, script)
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="the keep-or-reset question")
        await pilot.pause(0.2)
        assert app.screen.query_one("#choice-question").region.height > 0
        shown = screen_text(app)
        assert "edit/ holds edits" in shown and "Keep the edits" in shown and "Reset edit/ to the original" in shown
        assert app.focused is app.screen.query_one("#choice-answers")
        await pilot.press("down", "enter")                           # reset
        await wait_for(pilot, lambda: title(app, "python").endswith("original"), what="the reset")
        await wait_for(pilot, lambda: app.last_good is not None and app.last_good.spec_id == app.spec_id
                       and app.last_good.version == "original", what="the original's run")
        assert app.status.message.startswith("add_kernel original: ok") and app.last_version == "original"
        assert not isinstance(app.screen, ChoiceScreen) and "Keep the edits" not in screen_text(app)


@pytest.mark.asyncio
async def test_every_results_tab_shows_the_script_opened_with_f2(scripts):
    app = WorkbenchApp(scripts["autotuned_add"], bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        # autotuned_add's state in the tabs: a profile's message, a dump, the configs table on screen
        await pilot.press("P")
        profile = app.query_one(ProfileView)
        await wait_for(pilot, lambda: not profile.running, what="the profile's end")
        assert str(app.query_one("#profile-title").render()).startswith("no profile: ")   # (no ncu here)
        app.dumps.dump("%pid", "ttir")
        dumps = app.query_one(DumpsView)
        await wait_for(pilot, lambda: "%pid" in dumps.shown_text and "dumping" not in dumps.shown_text,
                       what="the dump")
        app.configs.action_configs_tab()
        grid = app.query_one("#configs-table", DataTable)
        await wait_for(pilot, lambda: grid.row_count == 3, what="the configs table")
        app.main.action_results("configs")
        await open_by_f2(pilot, scripts["vector_add"])
        await wait_for(pilot, lambda: app.current is not None and app.kernel_name == "add_kernel",
                       what="vector_add's kernel")
        # at once, before add_kernel's run: no tab holds scale_add_kernel's content
        assert grid.row_count == 0 and app.query_one(ConfigsView).table is None
        assert "scale_add_kernel" not in str(app.query_one("#configs-title").render())
        outputs = app.query_one(OutputsView)
        assert outputs.summary == "no run yet" or outputs.summary.startswith("add_kernel")
        assert str(app.query_one("#profile-title").render()).startswith("no profile yet")
        assert profile.result is None and app.query_one("#profile-table", DataTable).row_count == 0
        assert dumps.shown_text == "" and "%pid" not in str(app.query_one("#dump-result").render())
        assert dumps.watches == [] and dumps.entries == {}
        bench = app.query_one(BenchView)
        assert all(r.spec_id == app.spec_id for r in bench.results.values())
        app.main.action_results("bench")
        await pilot.pause()
        assert app.query_one("#bench-table", DataTable).row_count == len(bench.results)
        app.history.action_history_tab()
        await pilot.pause()
        assert app.query_one("#history-table", DataTable).row_count == 1       # the original only
        app.main.action_results("passes")
        await wait_for(pilot, lambda: app.query_one("#passes-table", DataTable).row_count > 0, what="the passes")
        from workbench.tui.widgets.passes_view import PassesView
        assert app.query_one(PassesView).spec_id == app.spec_id
        await wait_for(pilot, lambda: app.last_good is not None and app.last_good.spec_id == app.spec_id,
                       what="add_kernel's run")
        assert outputs.summary.startswith("add_kernel original: ok")


def _version(kernel: Path, number: int, level: str, text: str, status: str, compile: dict) -> Version:
    folder = kernel / "versions" / f"{number:03d}"
    folder.mkdir(parents=True)
    (folder / f"k{'.py' if level == 'python' else '.' + level}").write_text(text)
    return Version.parse({"number": number, "level": level, "folder": str(folder),
                          "after_pass": 12 if level == "ttgir" else None, "result": {"status": status, "compile": compile}})


@pytest.mark.asyncio
@pytest.mark.parametrize("width", [95, 120, 140, 220])
async def test_historys_table_keeps_its_numbers_whole_and_clear_of_the_diff(tmp_path, width):
    kernel = tmp_path / "k-1"
    (kernel / "original").mkdir(parents=True)
    (kernel / "original" / "k.py").write_text("acc = tl.dot(a, b, acc)\n")
    (kernel / "original" / "k.ttgir").write_text("ttg.local_alloc\n")
    original = {"num_warps": 8, "registers": 109, "shared": 98304, "spill_stores": 0, "spill_loads": 0}
    versions = [_version(kernel, 1, "python", "acc += tl.dot(a, b)\n", "mismatch", original),
                _version(kernel, 2, "ttgir", "ttg.local_alloc {x}\n", "ok",
                         dict(original, num_warps=4, registers=128, shared=65536, spill_stores=12))]

    class HistoryApp(App):
        def compose(self):
            yield HistoryView()

    app = HistoryApp()
    async with app.run_test(size=(width, 20)) as pilot:
        view = app.query_one(HistoryView)
        view.show_versions("k", kernel, versions, original)
        for _ in range(200):
            if view.diff_text:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        table, diff = app.query_one(DataTable), app.query_one("#history-diff", Static)
        assert not table.region.overlaps(diff.region) and diff.region.width >= 20
        # its widest row is 90 columns: the diff beside it where 41 more fit, else under it
        assert view.table_width() == 90 and view.has_class("-stacked") == (width < 90 + 41)
        lines = screen_text(app).splitlines()
        cells = {"original": ["98304", "109", "8"], "v1": ["MISMATCH", "98304", "109"],
                 "v2": ["TTGIR, from pass 12", "98304→65536", "109→128", "8→4", "0→12"]}
        for label, words in cells.items():
            row = next(line for line in lines if line.strip().startswith(label + " "))
            for word in words:
                assert word in row, (width, label, word, row)
        assert "+ttg.local_alloc {x}" in screen_text(app)

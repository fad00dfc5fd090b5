"""Faults of issue 26 in the app, through Textual's Pilot against the real runner (Triton's
interpreter on a CPU): a save made while a restore waits for the runner is kept and compiled,
files of the wrong shape in the workspace (a version's result.json, watch.json) are notes, and a
runner killed during the first open leaves the script to open again."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from pilot import FAST_BENCH, SIZE, opened, wait_for
from workbench.tui.app import WorkbenchApp


@pytest.mark.asyncio
async def test_a_save_made_while_a_restore_waits_for_the_runner_is_kept_and_becomes_a_version(script):
    """Saving the original's text restores it; a save landing before the runner got to that
    restore (stopped with SIGSTOP in between) was overwritten by it: no version, no draft."""
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        pane, py = app.pane("python"), app.level_path("python")
        base = py.read_text()
        pane.view.focus()
        await pilot.press("e")
        pane.editor.load_text(base.replace("x + y, mask=mask", "x - y, mask=mask"))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.last_good.version == "1", what="v1")
        newer = base.replace("x + y, mask=mask", "x * y, mask=mask")
        runner = app.link.client.pid
        os.kill(runner, signal.SIGSTOP)
        try:
            pane.editor.load_text(base)                 # the original's text: its restore is queued
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.runner_writes == 1, what="the restore asked for")
            pane.editor.load_text(newer)                # lands before the runner gets to the restore
            await pilot.press("ctrl+s")
            await pilot.pause(0.2)
            assert py.read_text() == newer
        finally:
            os.kill(runner, signal.SIGCONT)
        await wait_for(pilot, lambda: any(line.endswith("restored original") for line in app.log_view.lines_text),
                       what="the restore done")
        assert py.read_text() == newer                  # the restore kept the newer save
        await wait_for(pilot, lambda: app.last_good.version == "2", what="v2 from the newer save")
        await wait_for(pilot, lambda: not any(w.group == "run" and not w.is_finished for w in app.workers),
                       what="no run of a version in flight")
        after = app.log_view.lines_text[app.log_view.lines_text.index("restored original"):]
        assert not any(line.startswith("add_kernel original") for line in after)   # (v2 supersedes it)
        assert app.last_good.version == "2" and app.status.message.startswith("add_kernel v2")
        v2 = next(v for v in app.versions if v.number == 2)
        assert (v2.folder / py.name).read_text() == newer
        assert app.last_good.status == "mismatch" and "arith.mulf" in app.pane("ttgir").view.text
        assert str(app.column("python").query_one(".level-title").render()).endswith("edited (v2)")

        # v1's text, then the original's before the runner got to v1's restore: the original wins
        os.kill(runner, signal.SIGSTOP)
        try:
            pane.editor.load_text(base.replace("x + y, mask=mask", "x - y, mask=mask"))
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.runner_writes == 1, what="v1's restore asked for")
            pane.editor.load_text(base)
            await pilot.press("ctrl+s")
            await pilot.pause(0.2)
        finally:
            os.kill(runner, signal.SIGCONT)
        await wait_for(pilot, lambda: app.edits.current == "original" and app.last_good.version == "original",
                       what="the original restored and run", timeout=20)
        assert py.read_text() == base and "arith.addf" in app.pane("ttgir").view.text
        assert "arith.addf" in app.level_path("ttgir").read_text() and len(app.versions) == 2


async def _save_python(pilot, app, old: str, new: str, version: str) -> None:
    pane, py = app.pane("python"), app.level_path("python")
    pane.view.focus()
    await pilot.press("e")
    pane.editor.load_text(py.read_text().replace(old, new))
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: app.last_good.version == version, what=f"v{version}")
    # the verdict comes first; the runner then adds the SASS and keeps the result (result.json):
    # what a test writes into the version after that is not written over
    await wait_for(pilot, lambda: not any(w.group == "apply" and w.is_running for w in app.workers),
                   what=f"v{version}'s request to end")


@pytest.mark.asyncio
async def test_a_version_result_json_of_the_wrong_shape_is_a_version_without_a_result(script):
    """A result.json holding ``[1, 2]`` crashed the app when History drew the version list."""
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        await _save_python(pilot, app, "x + y, mask=mask", "x - y, mask=mask", "1")
        v1 = Path(app.versions[0].folder)
        (v1 / "result.json").write_text("[1, 2]")
        await _save_python(pilot, app, "x - y, mask=mask", "x * y, mask=mask", "2")
        app.main.action_results("history")
        table = app.query_one("#history-table")
        await wait_for(pilot, lambda: table.row_count == 3, what="History drawn")
        assert [str(c) for c in table.get_row_at(1)][:4:3] == ["v1", "-"]     # listed, with no result
        assert str(table.get_row_at(2)[3]) != "-"
        assert app.versions[0].result is None and app.is_running


@pytest.mark.asyncio
async def test_a_watch_list_of_the_wrong_shape_is_a_note_and_the_save_runs(script):
    """watch.json holding ``[1, 2]`` made every save fail after its version was made (never run)."""
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        watch_json = app.current.folder / "watch.json"
        watch_json.write_text("[1, 2]")
        pane = app.pane("python")
        pane.view.focus()
        await pilot.press("e")
        pane.editor.load_text(pane.editor.text.replace("x + y, mask=mask", "x - y, mask=mask"))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.versions and app.status.message.startswith("add_kernel v1")
                       or "error" in app.status.message, what="v1 or an error")
        assert app.last_good.version == "1" and app.last_good.status == "mismatch"
        said = [line for line in app.log_view.lines_text if line.startswith("watch: ")]
        assert said == [f'watch: {watch_json}: the watch list could not be read: {{"watches": [...]}} was '
                        f'expected, not a list; delete the file to start the list again']


def test_the_editor_is_visual_then_editor_then_vi_and_one_that_is_no_program_is_one_line(tmp_path):
    from workbench.tui.config import editor_command
    bare = {"PATH": str(tmp_path)}                       # no vi here
    with pytest.raises(ValueError) as err:
        editor_command(bare)
    assert str(err.value) == ("cannot run the editor vi (neither VISUAL nor EDITOR is set): no such program; "
                              "set VISUAL or EDITOR to your editor")
    with pytest.raises(ValueError, match=r"^cannot run the editor /nonexistent \(from \$EDITOR\): no such program"):
        editor_command(dict(bare, EDITOR="/nonexistent"))
    with pytest.raises(ValueError, match=r"^cannot run the editor 'code \(from \$VISUAL\): No closing quotation;"):
        editor_command(dict(bare, VISUAL="'code", EDITOR="/bin/sh"))
    assert editor_command(dict(bare, VISUAL=" ", EDITOR="/bin/sh -e")) == (["/bin/sh", "-e"],
                                                                           "the editor /bin/sh -e (from $EDITOR)")


@pytest.mark.asyncio
async def test_the_runner_killed_during_the_first_open_leaves_the_script_to_open_again(script, tmp_path):
    """The runner killed while it ran the script for the first open: F2 + Enter did nothing
    (the script was the one 'open' already) until the app was restarted."""
    go = tmp_path / "go"
    script.write_text(script.read_text().replace(
        "def main():", f"def main():\n    import os, time\n    while not os.path.exists({str(go)!r}):\n"
                       f"        time.sleep(0.05)\n", 1))
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.status.message.startswith("running vector_add.py"), what="the script run")
        os.kill(app.link.client.pid, signal.SIGKILL)
        await wait_for(pilot, lambda: "could not open vector_add.py" in app.status.message, what="the failed open")
        assert "killed by SIGKILL" in app.status.message
        go.touch()
        await pilot.press("f2")
        await pilot.pause(0.3)
        await pilot.press("enter")                      # the path field holds this script
        await wait_for(pilot, lambda: app.last_good is not None, what="the script opened again", timeout=60)
        assert app.last_good.version == "original" and app.last_good.status == "ok"

"""The save flow in the app, through Textual's Pilot against the real runner (Triton's
interpreter on a CPU): a missing level is not editable, edit/ deleted and made again is watched,
a reopened workspace says it holds edits, a hung kernel leaves one message and no phantom
version, a failed open leaves no mix of two scripts, the Log keeps a bounded tail."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from helpers import EXAMPLES, ROOT, has_cuda
from pilot import FAST_BENCH, SIZE, edit_and_save, opened, outside_save, screen_text, title, wait_for
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.kernel_picker import KernelPicker




@pytest.mark.asyncio
async def test_a_saves_verdict_is_drawn_in_a_frame_of_its_own_before_the_rest(script):
    """Issue 27: a save's verdict reached the screen in one frame with all the rest of its result
    (Outputs, the picker, History, the panes the runner rewrote), which took 25-35 ms to draw on
    a 2-core EPYC. Now the status line's verdict is drawn first, in a frame where the PTX pane
    and Outputs still show the original; the next frame shows those too."""
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        await pilot.pause(0.3)
        frames: list[str] = []
        display = app._display
        app._display = lambda screen, update: (frames.append(screen_text(app)), display(screen, update))[1]
        path = app.level_path("ttgir")
        outside_save(path, path.read_text().replace("arith.addf", "arith.subf", 1))
        await wait_for(pilot, lambda: app.last_good.version == "1", what="v1 from the watcher")
        await pilot.pause(0.3)
        verdict = next(f.splitlines() for f in frames if "add_kernel v1 (from TTGIR)" in f.splitlines()[-2])
        assert any("PTX  add_kernel.ptx  original" in line for line in verdict)
        assert any("add_kernel original: ok" in line for line in verdict)   # Outputs' summary
        last = frames[-1].splitlines()
        assert any("PTX  add_kernel.ptx  edited (v1)" in line for line in last)
        assert not any("add_kernel original: ok" in line for line in last)


@pytest.mark.asyncio
async def test_a_missing_level_edit_made_again_and_a_reopened_workspace(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        edit = app.edit_dir
        ttgir = app.level_path("ttgir")
        # 6: a missing level says so and is not editable; its placeholder is never saved
        ttgir.unlink()
        await wait_for(pilot, lambda: "missing" in title(app, "ttgir"), what="the missing TTGIR")
        pane = app.pane("ttgir")
        pane.view.focus()
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        assert not pane.editing
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert not ttgir.exists()
        # 7: edit/ deleted and made again: watched again (the files come back, a save compiles)
        original = app.current.folder / "original"
        shutil.rmtree(edit)
        shutil.copytree(original, edit)
        await wait_for(pilot, lambda: title(app, "ttgir").endswith("original"), what="TTGIR back")
        assert "tt.store" in pane.view.text
        py = app.level_path("python")
        outside_save(py, py.read_text().replace("x + y, mask=mask", "x - y, mask=mask"))
        await wait_for(pilot, lambda: app.last_good.version == "1", what="v1 from the watcher")
        assert title(app, "python").endswith("edited (v1)") and title(app, "ttgir").endswith("edited (v1)")
        # 2: text typed in a pane stays while an outside save of the same level compiles under it
        pane = app.pane("python")
        pane.view.focus()
        await pilot.press("e")
        pane.editor.insert("# typed here\n", (0, 0))
        await pilot.pause()
        assert title(app, "python").endswith("draft")
        outside_save(py, py.read_text().replace("x - y, mask=mask", "x * y, mask=mask"))
        await wait_for(pilot, lambda: app.last_good.version == "2", what="v2 from the watcher")
        assert "x * y" in pane.view.text and pane.editor.text.startswith("# typed here\n")
        assert title(app, "python").endswith("draft")
        await pilot.press("escape")
        assert pane.has_draft and "# typed here" in pane.editor.text
        pane.action_discard()
        await pilot.pause()
        assert title(app, "python").endswith("edited (v2)")

    # 5: opened again, the workspace holds v2: the titles say so, and the app asks keep or reset
    from workbench.tui.screens.choice_screen import ChoiceScreen
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="the question")
        question = str(app.screen.query_one("#choice-question").render())
        assert "edit/ holds edits" in question and "Python: edited (v2)" in question
        assert title(app, "python").endswith("edited (v2)") and title(app, "ptx").endswith("edited (v2)")
        await pilot.press("down", "enter")                     # reset
        await wait_for(pilot, lambda: title(app, "python").endswith("original"), what="the reset")
        assert "x + y, mask=mask" in app.level_path("python").read_text()
        assert title(app, "ttgir").endswith("original")
        assert len(app.versions) == 2                          # v1 and v2 stay in History


@pytest.mark.asyncio
async def test_a_save_is_one_request_with_its_verdict_first_and_its_timing_after(script):
    """Issue 27: a save was two requests, the apply and then a ``run`` that launched and verified
    the version again only to time it. Now the ``apply`` carries the bench options: the verdict
    comes as its progress event, the timing as its answer. On the CPU the app is told the runner
    has a GPU (the open's answer), so it asks for the timing; the runner refuses it after the
    verdict, which stays on screen."""
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        app.main.action_results("bench")   # (a hidden Bench tab draws its rows when shown)
        bench = app.query_one("#bench-table")
        if has_cuda():   # the original's own timing, asked for after the open, is not this save's
            await wait_for(pilot, lambda: bench.row_count == 1 and str(bench.get_row_at(0)[3]) != "-",
                           60, "the original's timing")
        else:
            await wait_for(pilot, lambda: "result_on_screen" in app.timeline, what="the original drawn")
            app.opened = dataclasses.replace(app.opened, gpu=True)
        client, sent = app.link.client, []
        write = client._write
        client._write = lambda message: (sent.append(message), write(message))[1]
        await edit_and_save(pilot, app, "x + y, mask=mask", "y + x, mask=mask")
        verdict = "add_kernel v1 (from Python): ok"
        if has_cuda():
            await wait_for(pilot, lambda: bench.row_count == 2 and str(bench.get_row_at(1)[3]) != "-", 60,
                           "v1's timing")
            assert app.status.message.startswith(verdict) and "median" in app.status.message
        else:
            await wait_for(pilot, lambda: "its timing failed" in app.status.message, what="the timing refused")
            assert app.status.message.startswith(verdict)
            assert any("timing v1 failed" in line and "no timings: without a GPU" in line
                       for line in app.log_view.lines_text)
        await pilot.pause(0.3)
        assert [m["method"] for m in sent] == ["apply"], sent
        assert sent[0]["params"]["bench"] == FAST_BENCH


@pytest.mark.asyncio
async def test_run_again_is_one_request_with_its_verdict_first_and_its_timing_after(script):
    """Issue 27: `R` (run again) was a ``run`` and, once its verdict was drawn, a second ``run``
    that launched and verified the version again only to time it. Now, as a save, it is one
    ``run`` carrying the bench options: the verdict comes as its progress event, the timing as its
    answer. On the CPU the app is told the runner has a GPU, so it asks for the timing; the runner
    refuses it after the verdict, which stays on screen."""
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        app.main.action_results("bench")   # (a hidden Bench tab draws its rows when shown)
        bench = app.query_one("#bench-table")
        if has_cuda():
            await wait_for(pilot, lambda: bench.row_count == 1 and str(bench.get_row_at(0)[3]) != "-",
                           60, "the original's timing")
        else:
            await wait_for(pilot, lambda: "result_on_screen" in app.timeline, what="the original drawn")
            app.opened = dataclasses.replace(app.opened, gpu=True)
        await pilot.pause(0.3)
        client, sent = app.link.client, []
        write = client._write
        client._write = lambda message: (sent.append(message), write(message))[1]
        app.timeline.pop("result_on_screen")
        app.pane("python").view.focus()
        await pilot.press("R")
        await wait_for(pilot, lambda: "result_on_screen" in app.timeline, what="the verdict drawn")
        verdict = "add_kernel original: ok"
        if has_cuda():
            await wait_for(pilot, lambda: "median" in app.status.message, 60, "the timing")
            assert app.status.message.startswith(verdict)
        else:
            await wait_for(pilot, lambda: "its timing failed" in app.status.message, what="the timing refused")
            assert app.status.message.startswith(verdict)
            assert any("timing original failed" in line and "no timings: without a GPU" in line
                       for line in app.log_view.lines_text)
        await pilot.pause(0.3)
        assert [m["method"] for m in sent] == ["run"], sent
        assert sent[0]["params"]["bench"] == FAST_BENCH


HANG = """    flag = tl.load(x_ptr, volatile=True)
    while flag < 2.0:  # x is in [0, 1): never (a loop a GPU compile cannot drop)
        flag = tl.load(x_ptr, volatile=True)
"""


@pytest.mark.asyncio
async def test_a_hung_kernel_leaves_one_message_and_a_failed_open_no_mix(script, tmp_path):
    app = WorkbenchApp(script, bench=FAST_BENCH, kernel_timeout=3.0)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        pane, py = app.pane("python"), app.level_path("python")
        base = py.read_text()
        # an old syntax error under the pane first
        pane.view.focus()
        await pilot.press("e")
        pane.editor.load_text(base.replace("x + y, mask=mask", "x + , mask=mask"))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.column("python").has_class("-error"), what="the syntax error")
        # 8: a kernel that never ends: one message, v1 and no other version, no error left behind
        lines = base.splitlines(keepends=True)
        at = next(i for i, line in enumerate(lines) if "tl.store(" in line)
        pane.editor.load_text("".join(lines[:at] + [HANG] + lines[at:]))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "its run was stopped" in app.status.message, what="the time limit")
        assert "add_kernel v1 (from Python) compiled, its run was stopped" in app.status.message
        assert "ran past" in app.status.message
        await pilot.pause(3.0)                                  # the runner restarted; edit/ settled
        assert [v.number for v in app.versions] == [1]
        assert not any(app.column(lv).has_class("-error") for lv in ("python", "ttir", "ttgir", "ptx"))
        assert not any("saved outside the app" in line for line in app.log_view.lines_text)
        assert title(app, "ttir").endswith("edited (v1)")

        # 4: a script that fails to open: a clean screen naming it, nothing of the previous one
        bad = tmp_path / "raises_before.py"
        shutil.copy(ROOT / "tests" / "data" / "raises_before.py", bad)
        app.opening.switch_script(bad)
        await wait_for(pilot, lambda: "could not open raises_before.py" in app.status.message, what="the failure")
        header = str(app.query_one("#title-bar").render())
        assert "raises_before.py" in header and "could not open" in header and "vector_add" not in header
        assert app.query_one(KernelPicker).option_count == 0
        for level in ("python", "ttgir", "ptx"):
            assert "add_kernel" not in app.pane(level).view.text and "add_kernel" not in title(app, level)
            assert "could not open raises_before.py" in app.pane(level).view.text
        assert app.query_one("#outputs-table").row_count == 0


@pytest.mark.asyncio
async def test_a_script_printing_100k_lines_leaves_a_bounded_log(tmp_path):
    from workbench.tui.widgets.log_view import TAIL
    noisy = tmp_path / "noisy.py"
    text = (EXAMPLES / "vector_add.py").read_text()
    noisy.write_text(text.replace("def main():", "def main():\n    for i in range(100_000):\n"
                                               "        print(f'line {i}')", 1))
    app = WorkbenchApp(noisy, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        log = app.log_view
        await wait_for(pilot, lambda: "line 99999" in log.lines_text, what="the last line")
        assert len(log.lines_text) == TAIL and log.dropped >= 100_000 - TAIL
        app.main.action_results("log")
        await wait_for(pilot, lambda: log.lines and log.lines[0].text.startswith(f"… {log.dropped} lines more "
                                                                                 "before these"),
                       what="the count of the lines left out, drawn")
        assert len(log.lines) <= TAIL + 1

        # a 5 MB TTGIR saved outside: shown whole; its diff (seconds for difflib) is made when
        # History is looked at, not on the way from the save to its result
        from workbench.tui.widgets.history_view import HistoryView
        app.main.action_results("outputs")
        ttgir = app.level_path("ttgir")
        lines = ttgir.read_text().splitlines()
        big = "\n".join(lines[:-1] + ["// " + "x" * 60] * 75_000 + lines[-1:]) + "\n"
        outside_save(ttgir, big)
        await wait_for(pilot, lambda: app.last_good.version == "1", what="v1 from the 5 MB TTGIR")
        assert app.pane("ttgir").view.line_count == len(lines) + 75_000
        table = app.query_one(HistoryView).query_one("#history-table")
        assert table.row_count == 0                       # not drawn while not shown
        app.main.action_results("history")
        await wait_for(pilot, lambda: table.row_count == 2, what="History drawn")


@pytest.mark.asyncio
async def test_drafts_kept_when_the_terminal_went_away_come_back_on_the_next_open(script):
    """A hangup keeps each draft in the kernel's drafts/ (test_app_terminal); the next open puts it
    back in its pane as a draft, and the kept file goes once that draft is discarded or saved. A
    kept draft that the file holds already (saved meanwhile) is no draft."""
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        kept = app.current.folder / "drafts"
        python, ttir = app.level_path("python"), app.level_path("ttir")
    kept.mkdir()
    typed = python.read_text().replace("x + y, mask=mask", "x * y, mask=mask") + "# typed before the hangup\n"
    (kept / python.name).write_text(typed)
    ttir_typed = ttir.read_text().replace("arith.addf", "arith.mulf")
    (kept / ttir.name).write_text(ttir_typed)
    (kept / app.level_path("ptx").name).write_text(app.level_path("ptx").read_text())   # saved since: no draft

    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        pane = app.pane("python")
        assert pane.has_draft and pane.draft_text() == typed and "# typed before" not in pane.view.text
        assert title(app, "python").endswith("draft") and app.drafting.drafts() == ["python", "ttir"]
        assert not (kept / app.level_path("ptx").name).exists() and app.pane("ptx").draft_text() is None
        assert "# typed before" not in python.read_text()          # kept, not saved
        pane.view.focus()
        await pilot.press("u")                                     # discarded: no longer kept
        await pilot.pause()
        assert not (kept / python.name).exists() and pane.draft_text() is None
        assert title(app, "python").endswith("original")
        app.main.action_show_level("ttir")
        ttir_pane = app.pane("ttir")
        ttir_pane.view.focus()
        await pilot.press("e", "ctrl+s")                           # saved: a version, and no longer kept
        await wait_for(pilot, lambda: app.last_good.version == "1", what="v1 from the kept TTIR draft")
        assert ttir.read_text() == ttir_typed and not (kept / ttir.name).exists()
        assert title(app, "ttir").endswith("edited (v1)")


@pytest.mark.asyncio
async def test_a_saves_sass_comes_after_its_verdict_and_is_that_versions(script):
    """Issue 31: the SASS (nvdisasm, hundreds of ms) no longer holds up a save's verdict. While
    it is made the SASS pane never shows the previous version's as the current one's; once the
    runner's ``levels`` event comes, the pane shows the new version's SASS (its folder's file)."""
    app = WorkbenchApp(script)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        original = app.pane("sass").view.text
        seen: list[tuple[str, str]] = []   # (the current version, the SASS pane's text) at each load
        load = app.main.load_levels
        app.main.load_levels = lambda *a, **k: (load(*a, **k), seen.append((app.last_version,
                                                                           app.pane("sass").view.text)))[0]
        client, sent = app.link.client, []
        write = client._write
        client._write = lambda message: (sent.append(message), write(message))[1]
        await edit_and_save(pilot, app, "x + y, mask=mask", "x * y, mask=mask")
        new = (app.edits.edit_dir.parent / "versions" / "001" / f"{app.kernel_name}.sass")
        await wait_for(pilot, lambda: new.is_file() and app.pane("sass").view.text == new.read_text(),
                       what="v1's SASS in its pane")
        assert new.read_text() != original and "FMUL" in new.read_text() and "FMUL" not in original
        assert sent[0]["params"]["verdict_first"] is True
        shown = [text for version, text in seen if version == "1"]   # the new SASS, or a placeholder saying it comes
        assert shown and all(text == new.read_text() or "the SASS of v1 is being made: it follows the verdict" in text
                             for text in shown), "another SASS shown as v1's"
        assert title(app, "sass").endswith("edited (v1)")

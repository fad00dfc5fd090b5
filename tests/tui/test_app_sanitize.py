"""Sanitize in the app (key Z; every tool from the palette): the runner exports the version shown and
the original, `workbench sanitize EXPORT --original EXPORT --json` runs in a process of its own
(under tests/fake_sanitizer.py here: it hands back a given log, as the real tool writes it, and the
buffers the replay would have said), typing goes on, and the Sanitize tab shows "no errors" or
each error with the line of each level shown in the panes that it folds to; Enter on an error
puts the panes' cursors there. Each run is a row under its version in History. Without a GPU,
one line says that it needs one."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pilot import FAST_BENCH, GPU, SIZE, edit_and_save, line_of, opened, wait_for
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.choice_screen import ChoiceScreen
from workbench.tui.widgets.history_view import HistoryView
from workbench.tui.widgets.sanitize_view import SanitizeView

import fake_sanitizer
from fake_sanitizer import BUFFERS, OUT_OF_BOUNDS

CLEAN = "========= COMPUTE-SANITIZER\n========= ERROR SUMMARY: 0 errors\n"
NO_GPU = "sanitizing needs an NVIDIA GPU to run the kernel on; this machine has none"


async def _save_v1(pilot, app):
    """v1: a comment's words changed (every line stays where it is), saved and run."""
    return await edit_and_save(pilot, app, "need not be a multiple", "may not be a multiple")


@pytest.mark.skipif(GPU, reason="the GPU machine has a GPU")
@pytest.mark.asyncio
async def test_without_a_gpu_sanitize_says_in_one_line_that_it_needs_one(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        await pilot.press("Z")
        assert app.status.message == NO_GPU
        assert app.query_one(SanitizeView).running is None


@pytest.mark.asyncio
async def test_sanitize_runs_aside_says_no_errors_then_the_errors_at_their_lines_new_and_in_history(
        script, tmp_path, monkeypatch):
    clean, bad, buffers = tmp_path / "clean.log", tmp_path / "bad.log", tmp_path / "buffers.json"
    clean.write_text(CLEAN)
    bad.write_text(OUT_OF_BOUNDS)
    buffers.write_text(json.dumps(BUFFERS))
    for key, value in fake_sanitizer.install(tmp_path / "bin", "log", str(clean), sleep=2,
                                             buffers=str(buffers)).items():
        monkeypatch.setenv(key, value)
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        pane = await _save_v1(pilot, app)
        await pilot.press("escape")
        app.opened = dataclasses.replace(app.opened, gpu=True)   # (the fake tool stands in for the GPU's)
        view = app.query_one(SanitizeView)

        # every tool, from the palette: the original is checked and kept, then v1; typing goes on
        every = next(cb for name, _, cb in app.palette_commands() if name == "Sanitize under every tool")
        every()
        assert view.running is not None and app.status.message.startswith(
            "sanitizing add_kernel v1 under memcheck, racecheck, initcheck, synccheck")
        pane.view.focus()
        await pilot.press("e")
        await pilot.press(*"# typed while sanitizing", "enter")
        await pilot.pause()
        assert "# typed while sanitizing\n" in pane.editor.text and view.running is not None
        monkeypatch.setenv("FAKE_SANITIZER_SLEEP", "0")
        await wait_for(pilot, lambda: view.running is None, what="the first sanitize")
        assert app.query_one("#results").active == "sanitize"
        assert view.title_text() == "add_kernel v1: no errors (memcheck, racecheck, initcheck, synccheck)"
        assert view.rows == []
        assert app.status.message.startswith("sanitized add_kernel v1 in ")
        assert app.status.message.endswith(": no errors (memcheck, racecheck, initcheck, synccheck)")
        kept = sorted(p.name for p in (tmp_path / ".workbench" / "vector_add" / "sanitize").iterdir())
        assert kept == [f"add_kernel-original-{tool}.json" for tool in
                        ("initcheck", "memcheck", "racecheck", "synccheck")]
        pane.action_discard()
        await pilot.press("escape")

        # memcheck (Z) with a read past x_ptr's end: the original's kept findings (none) make it new
        monkeypatch.setenv("FAKE_SANITIZER_LOG", str(bad))
        app.pane("ttgir").view.focus()
        await pilot.press("Z")
        await wait_for(pilot, lambda: view.running is None, what="the second sanitize")
        ttgir, ptx = app.pane("ttgir").view, app.pane("ptx").view
        load = line_of(ttgir, "tt.load")
        place = view.result["version"][0]["errors"][0]["places"][0]
        (ptx_line,) = place["lines"]["ptx"]
        assert "ld.global" in ptx.line_text(ptx_line)
        assert view.title_text() == ("add_kernel v1 under memcheck: 1 error, 1 new (the original: none, "
                                     "kept from an earlier check); Enter: the panes at its lines")
        assert view.rows == [("new", "memcheck", "reads 16 bytes 128 past the end of x_ptr",
                              f"Python 20 · TTGIR {load} · PTX {ptx_line}", "thread (0,0,0) block (96,0,0)")]
        assert app.status.message.startswith("sanitized add_kernel v1 in ")
        assert app.status.message.endswith(": 1 error under memcheck, 1 new (the Sanitize tab)")
        # Enter on the error: each pane shown at the line it folds to
        table = view.query_one("#sanitize-table")
        table.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert (app.pane("python").view.cursor_line, ttgir.cursor_line, ptx.cursor_line) == (20, load, ptx_line)

        # History: a row per run under its version, its tools, errors and new ones
        await pilot.press("H")
        await pilot.pause()
        history = app.query_one(HistoryView)
        rows = [(r[0], r[1], r[3]) for r in history.rows]
        assert rows == [("original", "-", ""), ("v1", "Python", "ok"),
                        ("  sanitize", "all 4 tools", "no errors"),
                        ("  sanitize", "memcheck", "1 error, 1 new")]
        history.query_one("#history-table").move_cursor(row=3)
        await pilot.pause()
        assert history.selected() == "1"   # (r, P and export act on the run's version)
        assert str(history.query_one("#history-diff").render()).startswith(
            "memcheck: reads 16 bytes 128 past the end of x_ptr, thread (0,0,0) block (96,0,0): SASS +0x0180 line ")


@pytest.mark.asyncio
async def test_sanitize_runs_are_kept_beside_their_version_and_in_history_after_reopening(
        script, tmp_path, monkeypatch):
    bad, buffers = tmp_path / "bad.log", tmp_path / "buffers.json"
    bad.write_text(OUT_OF_BOUNDS)
    buffers.write_text(json.dumps(BUFFERS))
    for key, value in fake_sanitizer.install(tmp_path / "bin", "log", str(bad), buffers=str(buffers)).items():
        monkeypatch.setenv(key, value)
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        await _save_v1(pilot, app)
        await pilot.press("escape")
        app.opened = dataclasses.replace(app.opened, gpu=True)   # (the fake tool stands in for the GPU's)
        view = app.query_one(SanitizeView)
        await pilot.press("Z")
        await wait_for(pilot, lambda: view.running is None and view.result is not None, what="the sanitize")
        kept = app.current.folder / "versions" / "001" / "sanitize"
        await wait_for(pilot, lambda: kept.is_dir() and any(kept.iterdir()), what="the run kept in the workspace")
        (record,) = kept.iterdir()
        run = json.loads(record.read_text())
        assert (run["version"], run["tools"], run["result"]) == ("1", ["memcheck"], "1 error, 0 new")
        assert run["lines"][0].startswith("memcheck: reads 16 bytes 128 past the end of x_ptr")
        folder = app.current.folder

    # damaged records beside the versions: each skipped with one line in the Log, never a traceback
    (folder / "versions" / "001" / "sanitize" / "900.json").write_bytes(b"\xff\xfe not utf-8")
    (folder / "original" / "sanitize").mkdir()
    (folder / "original" / "sanitize" / "001.json").write_text("{not json")
    (folder / "original" / "sanitize" / "002.json").write_text(json.dumps({"version": "original", "tools": "memcheck"}))

    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="the keep-or-reset question")
        await pilot.press("enter")                                   # Keep the edits
        await wait_for(pilot, lambda: app.last_good is not None, what="a run")
        await pilot.press("H")
        await pilot.pause()
        history = app.query_one(HistoryView)
        assert [(r[0], r[1], r[3]) for r in history.rows] == [("original", "-", ""), ("v1", "Python", "ok"),
                                                               ("  sanitize", "memcheck", "1 error, 0 new")]
        history.query_one("#history-table").move_cursor(row=2)
        await pilot.pause()
        assert str(history.query_one("#history-diff").render()).startswith(
            "memcheck: reads 16 bytes 128 past the end of x_ptr")
        log = app.log_view.lines_text
        damaged = {"900.json": "versions/001/sanitize/900.json", "001.json": "original/sanitize/001.json",
                   "002.json": "original/sanitize/002.json"}
        for path in damaged.values():
            said = [line for line in log if path in line]
            assert len(said) == 1 and "skipped" in said[0], (path, log)
        assert not any("Traceback" in line for line in log)

"""The Profile tab (key P): the runner exports the version, `workbench profile` runs in a process
of its own under a slow fake ncu (tests/fake_ncu.py, answering with the real H200 pages of the
matmul example); typing into a pane goes on while it runs, and the tab shows the result after.
An ncu failure is the one sentence the CLI prints, in the tab and the status line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import EXAMPLES
from pilot import FAST_BENCH, SIZE, line_of, opened, wait_for
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.profile_view import ProfileView

import fake_ncu


@pytest.mark.asyncio
async def test_profile_runs_aside_while_typing_goes_on_and_fills_the_tab(tmp_path, monkeypatch):
    for key, value in fake_ncu.install(tmp_path / "bin", "ok", sleep=5).items():
        monkeypatch.setenv(key, value)
    script = tmp_path / "matmul.py"
    shutil.copy(EXAMPLES / "matmul.py", script)
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        assert any(name == "Profile under ncu" for name, _, _ in app.palette_commands())
        view = app.query_one(ProfileView)
        await pilot.press("P")
        assert view.running and app.status.message.startswith("profiling matmul_kernel original under ncu")
        # the profile (its fake ncu sleeps 5 s first) runs in another process: a pane takes text now
        pane = app.pane("python")
        pane.view.focus()
        await pilot.press("e")
        await pilot.press(*"# typed while profiling", "enter")
        await pilot.pause()
        assert "# typed while profiling\n" in pane.editor.text and view.running
        await wait_for(pilot, lambda: view.result is not None, what="the profile")
        assert app.query_one("#results").active == "profile"
        assert app.status.message.startswith("profiled original in ")
        table = view.query_one("#profile-table")
        assert [str(c) for c in table.get_row_at(0)] == ["duration", "5.47 us"]
        profile = view.result["profiles"]["original"]
        assert profile["folder"].startswith(str(tmp_path / ".workbench" / "matmul" / "exports"))
        assert "hot lines of original" in str(view.query_one("#profile-hot").render())
        # the panes showing the original get a heat column: each line's share of the samples
        python = app.pane("python").view
        dot_line = line_of(python, "= tl.dot(")
        shares = {int(n): c["samples"] / 14 for n, c in profile["hot"]["levels"]["python"].items() if c["samples"]}
        assert python.heat == shares and python.heat[dot_line] == pytest.approx(3 / 14)
        assert app.pane("ttgir").view.heat and app.pane("sass").view.heat
        await pilot.press("escape")  # out of the editor (the draft stays): the view is drawn again
        python.cursor_line = dot_line
        await pilot.pause()
        row = "".join(seg.text for seg in python.render_line(dot_line - 1 - python.scroll_offset.y))
        assert row.startswith(" 21% ") and "tl.dot" in row
        assert pane.has_draft and "# typed while profiling\n" in pane.editor.text  # the typed text is still there

        folders = sorted((tmp_path / ".workbench" / "matmul" / "exports").iterdir())
        monkeypatch.setenv("FAKE_NCU", "perm")
        monkeypatch.setenv("FAKE_NCU_SLEEP", "0")
        app.profile.action_profile()
        await wait_for(pilot, lambda: not view.running, what="the failed profile")
        title = str(view.query_one("#profile-title").render())
        assert title.startswith("no profile: ") and title.endswith(
            "matmul_kernel.py: error: ncu may not read this GPU's performance counters (ERR_NVGPUCTRPERM): run it as "
            "root, or let every user profile (the nvidia module's NVreg_RestrictProfilingToAdminUsers=0; "
            "https://developer.nvidia.com/ERR_NVGPUCTRPERM)")
        assert "ERR_NVGPUCTRPERM" in app.status.message
        # the second profile of the original used its first export (a version never changes)
        assert sorted((tmp_path / ".workbench" / "matmul" / "exports").iterdir()) == folders == \
            [Path(profile["folder"])]

        # a saved version (selected in History) beside the original, with the change
        monkeypatch.setenv("FAKE_NCU", "ok")
        pane.action_discard()
        pane.view.focus()
        await pilot.press("e")
        pane.editor.load_text(pane.editor.text.replace("# Accumulate in fp32", "# Accumulate in FP32"))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.last_good is not None and app.last_good.version == "1", what="v1")
        await pilot.press("escape")
        app.profile.action_profile()
        await wait_for(pilot, lambda: not view.running, what="the profile of v1")
        assert list(view.result["profiles"]) == ["original", "v1"]
        assert [str(c) for c in table.get_row_at(0)] == ["duration", "5.47 us", "5.47 us", "same"]
        v1 = view.result["profiles"]["v1"]
        assert v1["hot"]["matched"] == 672  # the same SASS: a comment changed
        assert python.heat == {int(n): c["samples"] / 14 for n, c in v1["hot"]["levels"]["python"].items()
                               if c["samples"]}

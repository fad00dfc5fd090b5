"""The Profile tab (key P): the runner exports the version, `workbench profile` runs in a process
of its own under a slow fake ncu (tests/fake_ncu.py, answering with the real H200 pages of the
matmul example); typing into a pane goes on while it runs, and the tab shows the result after.
An ncu failure is the one sentence the CLI prints, in the tab and the status line."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES
from test_app import FAST_BENCH, SIZE, isolated_config, opened, wait_for  # noqa: F401 - the config fixture
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.profile_view import ProfileView

sys.path.insert(0, str(Path(__file__).parent))
import fake_ncu  # noqa: E402


@pytest.mark.asyncio
async def test_profile_runs_aside_while_typing_goes_on_and_fills_the_tab(tmp_path, monkeypatch):
    for key, value in fake_ncu.install(tmp_path / "bin", "ok", sleep=5).items():
        monkeypatch.setenv(key, value)
    script = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", script)
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        assert any(name == "Profile under ncu" for name, _, _ in app.palette_commands())
        view = app.query_one(ProfileView)
        await pilot.press("P")
        assert view.running and app.status.message.startswith("profiling add_kernel original under ncu")
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
        assert profile["folder"].startswith(str(tmp_path / ".workbench" / "vector_add" / "exports"))
        # the pages are the matmul kernel's, not this add_kernel's: its SASS is not painted with them
        assert "differs from this version's" in profile["hot"]["note"]
        assert "hot lines of original" in str(view.query_one("#profile-hot").render())
        assert "# typed while profiling\n" in pane.editor.text  # the typed text is still there

        monkeypatch.setenv("FAKE_NCU", "perm")
        monkeypatch.setenv("FAKE_NCU_SLEEP", "0")
        app.action_profile()
        await wait_for(pilot, lambda: not view.running, what="the failed profile")
        title = str(view.query_one("#profile-title").render())
        assert title.startswith("no profile: ") and title.endswith(
            "add_kernel.py: error: ncu may not read this GPU's performance counters (ERR_NVGPUCTRPERM): run it as "
            "root, or let every user profile (the nvidia module's NVreg_RestrictProfilingToAdminUsers=0; "
            "https://developer.nvidia.com/ERR_NVGPUCTRPERM)")
        assert "ERR_NVGPUCTRPERM" in app.status.message

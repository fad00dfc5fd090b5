"""The app's Export action: the version selected in History (the original when none is) is
exported by the runner into the workspace's exports/ folder, and the app says where."""

from __future__ import annotations

import json
import shutil

import pytest

from helpers import EXAMPLES
from pilot import FAST_BENCH, SIZE, opened, wait_for
from workbench.tui.app import WorkbenchApp


@pytest.mark.asyncio
async def test_export_the_selected_version_from_the_palette_action(tmp_path):
    script = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", script)
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        assert any(name.startswith("Export the version") for name, _, _ in app.palette_commands())
        app.history.action_export_selected()
        await wait_for(pilot, lambda: "exported" in app.status.message, what="the export")
        folder = tmp_path / ".workbench" / "vector_add" / "exports" / "add_kernel-original"
        assert app.status.message == f"exported add_kernel original to {folder}: run it with python {folder}/run.py"
        launch = json.loads((folder / "launch.json").read_text())
        assert launch["version"] == "original" and launch["level"] == "python"
        assert (folder / "run.py").is_file() and (folder / "inputs.pt").is_file()
        app.history.action_export_selected()  # again: a new folder, the first is kept
        await wait_for(pilot, lambda: "add_kernel-original-2" in app.status.message, what="the second export")

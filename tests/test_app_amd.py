"""The app on an AMD target (hip:gfx942 in the config): the pane where PTX stands for NVIDIA
holds the AMDGCN file, titled and highlighted as AMDGCN (the session test in test_amd.py
applies that file)."""

from __future__ import annotations

import shutil

import pytest

from conftest import EXAMPLES
from test_app import FAST_BENCH, SIZE, opened, wait_for
from workbench.highlight.amdgcn import AmdgcnLexer
from workbench.tui import format as fmt
from workbench.tui.app import WorkbenchApp


@pytest.mark.asyncio
async def test_the_ptx_pane_shows_amdgcn_for_a_hip_target(tmp_path, monkeypatch):
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text('target = "hip:gfx942"\n')
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    script = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", script)
    app = WorkbenchApp(script, bench=FAST_BENCH)
    try:
        async with app.run_test(size=SIZE) as pilot:
            app = await opened(pilot)
            assert app.opened["target"] == "hip:gfx942"
            column = app.column("ptx")
            assert column.path.name == "add_kernel.amdgcn"
            await wait_for(pilot, lambda: "v_pk_add_f32" in app.pane("ptx").view.text, what="the AMDGCN text")
            assert isinstance(app.pane("ptx").view.lexer, AmdgcnLexer)
            assert "AMDGCN" in str(column.query_one(".level-title").render())
            assert "AMDGCN" in str(app.query_one("#level-bar").render())
    finally:
        fmt.use_target("cuda:90")  # the names are the module's: the next app starts as NVIDIA
    assert fmt.TITLES["ptx"] == "PTX" and fmt.SUFFIX["ptx"] == ".ptx"

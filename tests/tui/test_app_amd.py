"""The app on an AMD target (hip:gfx942 in the config): the pane where PTX stands for NVIDIA
holds the AMDGCN file, titled and highlighted as AMDGCN (the session test in test_amd.py
applies that file)."""

from __future__ import annotations

import importlib
import shutil
import types

import pytest

from helpers import EXAMPLES
from pilot import FAST_BENCH, SIZE, opened, wait_for
from workbench.highlight.amdgcn import AmdgcnLexer
from workbench.highlight.ptx import PtxLexer
from workbench.tui.app import WorkbenchApp

LEVEL_TABLES = ("workbench.tui.format", "workbench.model.level_files", "workbench.highlight", "workbench.model.levels")


@pytest.mark.asyncio
async def test_the_ptx_pane_shows_amdgcn_for_a_hip_target(tmp_path, monkeypatch):
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text('target = "hip:gfx942"\n')
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    script = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", script)
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        assert app.opened.target == "hip:gfx942"
        column = app.column("ptx")
        assert column.path.name == "add_kernel.amdgcn"
        await wait_for(pilot, lambda: "v_pk_add_f32" in app.pane("ptx").view.text, what="the AMDGCN text")
        assert isinstance(app.pane("ptx").view.lexer, AmdgcnLexer)
        assert "AMDGCN" in str(column.query_one(".level-title").render())
        assert "AMDGCN" in str(app.query_one("#level-bar").render())


def level_tables() -> dict[str, str]:
    """Every table of the modules that name levels, as text (a module not there is left out)."""
    out = {}
    for name in LEVEL_TABLES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        out |= {f"{name}.{key}": repr(value) for key, value in vars(module).items()
                if not key.startswith("__") and not callable(value) and not isinstance(value, types.ModuleType)}
    return out


def titles(app) -> tuple[str, str]:
    return str(app.column("ptx").query_one(".level-title").render()), str(app.query_one("#level-bar").render())


@pytest.mark.asyncio
async def test_an_amd_script_then_an_nvidia_one_name_their_panes_without_rewriting_the_level_tables(tmp_path,
                                                                                                    monkeypatch):
    """The pane names are the open script's target's, a value the app holds: opening an AMD
    script renames no module's table (they named the PTX pane AMDGCN for every app after it), and
    the NVIDIA script opened next in the same app has PTX's title, file and lexer again."""
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text('target = "hip:gfx942"\n')
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    for family in ("amd", "nvidia"):
        (tmp_path / family).mkdir()
        shutil.copy(EXAMPLES / "vector_add.py", tmp_path / family / "vector_add.py")
    before = level_tables()
    app = WorkbenchApp(tmp_path / "amd" / "vector_add.py", bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        assert app.opened.target == "hip:gfx942" and app.column("ptx").path.name == "add_kernel.amdgcn"
        column_title, bar = titles(app)
        assert column_title.startswith("AMDGCN") and " 5 AMDGCN " in bar and "SASS (none for AMD)" in bar
        after = level_tables()
        changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
        assert not changed, changed

        app.config.target = "cuda:90"
        app.opening.switch_script(tmp_path / "nvidia" / "vector_add.py")
        await wait_for(pilot, lambda: app.last_good is not None and app.opened is not None and app.opened.target == "cuda:90",
                       what="the NVIDIA script opened")
        assert app.column("ptx").path.name == "add_kernel.ptx"
        await wait_for(pilot, lambda: ".version" in app.pane("ptx").view.text, what="the PTX text")
        assert isinstance(app.pane("ptx").view.lexer, PtxLexer)
        column_title, bar = titles(app)
        assert column_title.startswith("PTX") and " 5 PTX " in bar and " 6 SASS " in bar and "AMD" not in bar
        assert level_tables() == before

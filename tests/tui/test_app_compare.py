"""The Compare view (key V): the kernel on screen under another Triton release. The app asks
which release (the newest other one unpacked, by default), runs `workbench compare --json` in a
process of its own while typing goes on, and shows the resources, the levels, the aligned passes
with the first one whose output differs, and that pass's diff: side by side at 200x50, stacked
at 80x24. One real compare (examples/vector_add.py, this Triton against .triton-versions/3.4.0)."""

from __future__ import annotations

import re
import shutil
from importlib.metadata import version as installed_version

import pytest

from helpers import EXAMPLES, ROOT
from pilot import FAST_BENCH, opened, screen_text, wait_for
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.code_view import CodeView

VERSIONS = ROOT / ".triton-versions"
THIS = installed_version("triton")

pytestmark = pytest.mark.skipif(not (VERSIONS / "3.4.0" / "triton" / "__init__.py").is_file(),
                                reason=".triton-versions/3.4.0 is not unpacked (make versions)")


def _newest_other() -> str:
    unpacked = [d.name for d in VERSIONS.iterdir() if (d / "triton" / "__init__.py").is_file() and d.name != THIS]
    return max(unpacked, key=lambda v: tuple(int(x) for x in v.split(".")))


def _lines_with(text: str, needle: str) -> list[str]:
    return [row for row in text.splitlines() if needle in row]


@pytest.mark.asyncio
async def test_compare_runs_aside_and_shows_the_first_differing_pass_wide_and_narrow(script, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache" / "stages"))   # no release from a cache
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=(200, 50)) as pilot:
        app = await opened(pilot)
        assert any(name == "Compare with another Triton release" for name, _, _ in app.palette_commands())
        await pilot.press("f1")   # help lists the keys with their ids
        await pilot.pause()
        table = app.screen.query_one("#help-table")
        rows = [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
        assert any(r[1] == "V" and r[3] == "app.compare" for r in rows)
        assert any(r[1] == "z" and r[3] == "compare.zoom" for r in rows)
        assert any(r[1] == "6" and r[3] == "compare.sass_diff" for r in rows)
        assert any(r[1] == "⏎" and r[3] == "compare.jump" for r in rows)
        await pilot.press("escape")
        from workbench.tui.widgets.compare_view import CompareView
        view = app.query_one(CompareView)

        # the dialog offers the newest other release unpacked; a release misspelt is one line, nothing runs
        await pilot.press("V")
        await wait_for(pilot, lambda: app.screen.query("#compare-release"), what="the release dialog")
        field = app.screen.query_one("#compare-release")
        assert field.value == _newest_other()
        await pilot.press("ctrl+u", *"3.4", "enter")
        await pilot.pause()
        assert not view.running
        assert app.status.message == "'3.4' is not a Triton release (expected X.Y.Z, e.g. 3.4.0)"

        await pilot.press("V")
        await wait_for(pilot, lambda: app.screen.query("#compare-release"), what="the release dialog")
        await pilot.press("ctrl+u", *"3.4.0", "enter")
        await pilot.pause()
        assert view.running
        assert app.status.message.startswith("comparing add_kernel with Triton 3.4.0")
        # typing goes on meanwhile: the compare is another process
        pane = app.pane("python")
        pane.view.focus()
        await pilot.press("e", *"# typed while comparing", "enter")
        await pilot.pause()
        assert "# typed while comparing\n" in pane.editor.text and view.running
        await pilot.press("escape")
        await wait_for(pilot, lambda: view.result is not None, timeout=240, what="the comparison")
        await pilot.pause(0.3)
        assert app.status.message.startswith("compared add_kernel with Triton 3.4.0 in ")
        assert app.screen.maximized is view   # over the whole screen

        wide = screen_text(app)
        assert f"add_kernel: Triton {THIS} | Triton 3.4.0" in wide
        assert re.search(r"registers\s+26\s+26\s+=", wide), wide
        assert re.search(r"LLIR\s+77\s+77\s+\+2 -2", wide), wide
        assert "convert-triton-gpu-to-llvm" in wide
        assert "first pass whose output differs: allocate-shared-memory-nv (LLIR stage" in wide
        marked = _lines_with(wide, "▶")
        assert len(marked) == 1 and "allocate-shared-memory-nv" in marked[0] and f"only {THIS}" in marked[0]
        # its diff side by side: both releases' `module attributes` line on one row
        rows = [row for row in _lines_with(wide, "module attributes") if " | " in row]
        assert rows and rows[0].count("module attributes") == 2

        await pilot.press("escape")   # leaves the view: back to the panes, the result kept in its tab
        await pilot.pause()
        assert app.screen.maximized is None and isinstance(app.focused, CodeView)
        assert app.query_one("#results").active == "compare"

        # 80x24: the same comparison, stacked
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        show = next(call for name, _, call in app.palette_commands() if name == "Compare: the last comparison")
        show()
        await pilot.pause(0.3)
        assert app.screen.maximized is view and view.has_class("-narrow")
        narrow = screen_text(app)
        assert re.search(r"registers\s+26\s+26\s+=", narrow), narrow
        view.query_one("#compare-diff").scroll_visible(animate=False, top=True)
        await pilot.pause(0.3)
        narrow = screen_text(app)
        minus = [row for row in _lines_with(narrow, "module attributes") if row.lstrip().startswith("-")]
        plus = [row for row in _lines_with(narrow, "module attributes") if row.lstrip().startswith("+")]
        assert minus and plus and all(row.count("module attributes") == 1 for row in minus + plus), narrow
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.maximized is None and isinstance(app.focused, CodeView)


@pytest.mark.asyncio
@pytest.mark.skipif(not (VERSIONS / "3.3.1" / "triton" / "__init__.py").is_file(),
                    reason=".triton-versions/3.3.1 is not unpacked (make versions)")
async def test_a_release_that_cannot_compile_the_kernel_is_one_line(tmp_path):
    script = tmp_path / "gluon_vector_add.py"
    shutil.copy(EXAMPLES / "gluon_vector_add.py", script)
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(pilot, lambda: app.current is not None and app.rest_ready, what="the Gluon kernel")
        from workbench.tui.widgets.compare_view import CompareView
        view = app.query_one(CompareView)
        await pilot.press("V")
        await wait_for(pilot, lambda: app.screen.query("#compare-release"), what="the release dialog")
        await pilot.press("ctrl+u", *"3.3.1", "enter")
        await wait_for(pilot, lambda: view.result is not None, timeout=240, what="the comparison")
        await pilot.pause(0.3)
        said = (f"Triton 3.3.1: {script}:18: error: the script raised ModuleNotFoundError before launching any "
                "kernel: No module named 'triton.experimental' (Gluon kernels need Triton 3.4 or later; this is "
                "Triton 3.3.1)")
        assert app.status.message == said
        shown = [row.strip() for row in screen_text(app).splitlines() if row.strip()]
        assert " ".join(shown[:-1]) == said   # the view holds that line alone (then the footer)

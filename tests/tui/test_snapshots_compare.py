"""SVG snapshots of the Compare view, drawn from a fixed comparison (tests/data/compare_matmul.json:
what `workbench compare examples/matmul.py --triton 3.4.0 --json --width 323` wrote on this CPU
machine, Triton 3.6.0 against 3.4.0 for sm_90, its paths made relative) at 200x50 and at 80x24.
The stored pictures are the docs' (docs/screenshots/compare.svg, compare-narrow.svg, shown in
docs/compare.md); ``WORKBENCH_UPDATE_SNAPSHOTS=1`` stores new ones, a changed one fails and
leaves ``<name>.actual.svg`` beside it. And, on the same comparison in Pilot, the diff of each pass
where the IR parts (n/p) and the diff's cursor mapping its lines through the Python source."""

from __future__ import annotations

import json

import pytest
from textual.app import App, ComposeResult

from helpers import ROOT, TESTS
from pilot import screen_text
from svg import check_stored, settled_svg
from workbench.tui.widgets.compare_view import CompareView, Started

STORED = ROOT / "docs" / "screenshots"
RESULT = json.loads((TESTS / "data" / "compare_matmul.json").read_text())


class CompareScreen(App):
    def compose(self) -> ComposeResult:
        yield CompareView()

    def on_mount(self) -> None:
        self.theme = "workbench-dark" if "workbench-dark" in self.available_themes else "textual-dark"
        view = self.query_one(CompareView)
        view.started, view.result = Started("3.4.0", "matmul_kernel", RESULT["kernels"][0]["spec"][0]), RESULT
        view.refill()


@pytest.fixture(autouse=True)
def no_outside_colour_settings(monkeypatch):
    for name in ("NO_COLOR", "TEXTUAL_COLOR_SYSTEM", "COLORTERM"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.asyncio
@pytest.mark.parametrize("name,size", [("compare", (200, 50)), ("compare-narrow", (80, 24))])
async def test_compare_snapshot(name, size):
    app = CompareScreen()
    async with app.run_test(size=size) as pilot:
        svg = await settled_svg(pilot, "workbench compare")
        narrow = app.query_one(CompareView).has_class("-narrow")
    assert narrow == (size[0] < 130)
    text = svg.replace("&#160;", " ")
    # what it must show, whatever the pixels: the registers' change, the first differing pass
    assert "109" in text and "128" in text and "+19" in text and "matmul_kernel" in text
    assert "first pass whose output differs: input" in text
    check_stored(svg, STORED / f"{name}.svg", name)


def _said(view: CompareView, name: str) -> str:
    return str(view.query_one(f"#compare-{name}").content)


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [(200, 50), (80, 24)])
async def test_each_parting_pass_has_its_diff_and_the_cursor_maps_lines_through_python(size):
    """matmul parts after `input` and again after `tritongpu-pipeline` (the comparison's 28th row):
    n shows the second's IR diff, p the first's again. The cursor (j/k) on a diff row says which
    Python line its lines come from and every line of both sides from it: in the IR after
    tritongpu-pipeline (passes/28-*.mlir, checked by hand), 3.6.0's line 96, `arith.andi` of the
    first load's mask, is from line 41, whose lines there are 82-84,90,... under 3.6.0 and
    73-75,81,... under 3.4.0."""
    app = CompareScreen()
    async with app.run_test(size=size) as pilot:
        view = app.query_one(CompareView)
        view.focus()
        await pilot.pause()
        assert _said(view, "diff-title").startswith(
            "the IR after input (the first pass whose output differs, 1 of 2; n/p: the others): ")
        assert _said(view, "cursor") == ("▸ 3.6.0 line 189 | 3.4.0 line 179 ← Python 39: for k in range(0, "
                                         "tl.cdiv(K, BLOCK_K)): · its lines: 3.6.0 183-189,256 | 3.4.0 173-179,246")
        await pilot.press("j")
        assert _said(view, "cursor") == "▸ 3.6.0 line 190 | 3.4.0 line 180: from no line of the kernel's Python source"

        await pilot.press("n")
        await pilot.pause()
        assert _said(view, "diff-title").startswith(
            "the IR after tritongpu-pipeline (where the IR parts again, 2 of 2; n/p: the others): ")
        assert view.parted_shown()["files"][0].endswith("passes/28-ttgir-tritongpu-pipeline.mlir")
        said = _said(view, "cursor")
        assert said.startswith("▸ 3.6.0 line 96 | 3.4.0 line 87 ← Python 41: a = tl.load(a_ptrs, mask=")
        assert said.endswith(" · its lines: 3.6.0 82-84,90,93-97,100-101,115-119,122-123,139-140,152-156,159-160 "
                             "| 3.4.0 73-75,81,84-88,91-92,106-110,113-114,130-131,143-147,150-151")
        await pilot.press("j", "j")
        assert _said(view, "cursor").startswith("▸ 3.6.0 line 98 | 3.4.0 line 89 ← Python 39: for k in range(")
        await pilot.pause()
        shown = screen_text(app)
        assert "memdesc_subview" in shown and "memdesc_index" in shown
        if size[0] >= 130:   # the list marks the pass shown; its diff's hunks name their Python line
            [row] = [r for r in shown.splitlines() if "tritongpu-pipeline" in r and "▷" in r]
            assert "▷  28  28  ttgir" in row and "@@ Python 41: a = tl.load(a_ptrs" in shown
        rows = {line.plain.split()[-1]: line for line in view.query_one("#compare-passes").content.split("\n")
                if "▶" in line.plain or "▷" in line.plain}
        assert [str(s.style) for s in rows["tritongpu-pipeline"].spans] == ["reverse bold"]
        assert [str(s.style) for s in rows["input"].spans] == ["bold"]

        await pilot.press(*"j" * 20)   # the diff scrolled down with the cursor
        await pilot.press("p")
        await pilot.pause()
        assert _said(view, "diff-title").startswith("the IR after input (")
        assert _said(view, "cursor").startswith("▸ 3.6.0 line 189 | 3.4.0 line 179")
        assert "the IR after input (" in screen_text(app)   # narrow too: the one-column view scrolled to it

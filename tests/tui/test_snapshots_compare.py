"""SVG snapshots of the Compare view, drawn from a fixed comparison (tests/data/compare_matmul.json:
what `workbench compare examples/matmul.py --triton 3.4.0 --json --width 323` wrote on this CPU
machine, Triton 3.6.0 against 3.4.0 for sm_90, its paths made relative) at 200x50 and at 80x24.
The stored pictures are the docs' (docs/screenshots/compare.svg, compare-narrow.svg, shown in
docs/compare.md); ``WORKBENCH_UPDATE_SNAPSHOTS=1`` stores new ones, a changed one fails and
leaves ``<name>.actual.svg`` beside it."""

from __future__ import annotations

import json

import pytest
from textual.app import App, ComposeResult

from helpers import ROOT, TESTS
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

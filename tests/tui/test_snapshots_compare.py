"""SVG snapshots of the Compare view, drawn from a fixed comparison (tests/data/compare_matmul.json:
what `workbench compare examples/matmul.py --triton 3.4.0 --json --width 323` wrote on this CPU
machine, Triton 3.6.0 against 3.4.0 for sm_90, its paths made relative) at 200x50 and at 80x24.
The stored pictures are the docs' (docs/screenshots/compare.svg, compare-narrow.svg, shown in
docs/compare.md); ``WORKBENCH_UPDATE_SNAPSHOTS=1`` stores new ones, a changed one fails and
leaves ``<name>.actual.svg`` beside it. And, on the same comparison in Pilot, the diff of each pass
where the IR parts (n/p) and the diff's cursor mapping its lines through the Python source."""

from __future__ import annotations

import json
import re

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
            "the IR after input (the first pass whose output differs, 1 of 2; n/p: the others; 2-6: the levels): ")
        assert _said(view, "cursor") == ("▸ 3.6.0 line 189 | 3.4.0 line 179 ← Python 39: for k in range(0, "
                                         "tl.cdiv(K, BLOCK_K)): · its lines: 3.6.0 183-189,256 | 3.4.0 173-179,246")
        await pilot.press("j")
        assert _said(view, "cursor") == "▸ 3.6.0 line 190 | 3.4.0 line 180: from no line of the kernel's Python source"

        await pilot.press("n")
        await pilot.pause()
        assert _said(view, "diff-title").startswith(
            "the IR after tritongpu-pipeline (where the IR parts again, 2 of 2; n/p: the others; 2-6: the levels): ")
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


def _styled(view: CompareView, style: str) -> list[str]:
    """The lines of the diff drawn with ``style`` (e.g. those Enter jumped to), less a stacked
    diff's sign."""
    content = view.query_one("#compare-diff").content
    return [re.sub(r"^[-+] ", "", content.plain[s.start:s.end].strip()) for s in content.spans
            if style in str(s.style)]


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [(200, 50), (80, 24)])
async def test_each_level_has_its_diff_and_the_cursor_maps_its_lines_through_python(size):
    """2-6 show a level's differences (TTIR ... SASS, as the panes number them), its hunks named by
    Python line, and the cursor says each side's lines from its row's Python line (the kernel's
    line table, `lines`: TTGIR 80-82,... | 71-73,... for line 41); 1 (or n/p) goes back to the
    IR after the parting passes."""
    app = CompareScreen()
    async with app.run_test(size=size) as pilot:
        view = app.query_one(CompareView)
        view.focus()
        await pilot.press("3")
        await pilot.pause()
        assert _said(view, "diff-title").startswith("TTGIR (2-6: the levels; 1, n/p: the IR after the passes): ")
        assert _said(view, "diff-title").endswith("(SSA names and locations aside; 181 | 181 lines, +23 -23)")
        assert _said(view, "cursor") == (
            "▸ 3.6.0 line 94 | 3.4.0 line 85 ← Python 41: a = tl.load(a_ptrs, mask=(offs_m[:, None] < M) & "
            "(offs_k[None, :] < k_left), other=0.0) · its lines: 3.6.0 80-82,88,91-95,98-99,113-117,120-121,137-138,"
            "150-154,157-158 | 3.4.0 71-73,79,82-86,89-90,104-108,111-112,128-129,141-145,148-149")
        shown = screen_text(app)
        assert "memdesc_index" in shown and "memdesc_subview" in shown
        assert "TTGIR (2-6: the levels" in shown   # narrow too: the one-column view scrolled to it
        [ttgir] = [line for line in view.query_one("#compare-summary").content.split("\n") if "TTGIR" in line.plain]
        assert ttgir.plain.startswith("3 TTGIR") and all("reverse" in str(s.style) for s in ttgir.spans)
        passes = view.query_one("#compare-passes").content
        assert not any("reverse" in str(s.style) for s in passes.spans)   # no pass's diff is shown

        await pilot.press("6")
        await pilot.pause()
        assert _said(view, "diff-title").startswith("SASS (2-6: the levels; ")
        assert _said(view, "cursor").startswith("▸ 3.6.0 line 18 | 3.4.0 line 18 ← Python ")
        diff = view.query_one("#compare-diff").content.plain.splitlines()
        if size[0] < 130:   # stacked: a line only 3.6.0 has (`<`) is A's (-), as the changed ones
            assert "- 22 IMAD.U32 R_, RZ, RZ, UR_" in diff and "+ 27 CS2R R_, SRZ" in diff
        else:
            assert any(re.match(r" +22 IMAD\.U32 R_, RZ, RZ, UR_ +< *$", row) for row in diff)
        await pilot.press("1")
        await pilot.pause()
        assert _said(view, "diff-title").startswith("the IR after input (the first pass whose output differs, 1 of 2")
        assert _said(view, "cursor").startswith("▸ 3.6.0 line 189 | 3.4.0 line 179")
        await pilot.press("2", "n")
        await pilot.pause()
        assert _said(view, "diff-title").startswith("the IR after tritongpu-pipeline (")


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [(200, 50), (80, 24)])
async def test_enter_jumps_to_the_other_sides_lines_from_the_same_python_line(size):
    """Enter on the cursor takes it to the other release's lines from its row's Python line, marks
    them and says which of them it is on; Enter on one of them: the next. Checked by hand in the
    JSON's SASS: 3.6.0's line 19, `ULDC.64 UR_, c[0x0][0x210]` (a_ptr, the first parameter), is
    from line 34 (`a_ptrs = a_ptr + ...`); 3.4.0's lines from it are 18,32,156,...: its row in the
    diff pairs it with `UMOV`, and Enter goes to 3.4.0's line 32, `LDC.64 R_, c[0x0][0x210]`, the
    same load (the second of 16 rows of the diff with 3.4.0 lines from line 34)."""
    app = CompareScreen()
    async with app.run_test(size=size) as pilot:
        view = app.query_one(CompareView)
        view.focus()
        await pilot.press("6", "j")
        await pilot.pause()
        assert _said(view, "cursor").startswith("▸ 3.6.0 line 19 | 3.4.0 line 19 ← Python 34: a_ptrs = a_ptr + ")
        await pilot.press("enter")
        await pilot.pause()
        said = _said(view, "cursor")
        assert said.startswith("↪ Triton 3.4.0's lines from Python 34: row 2 of 16 here (Enter: the next) · "
                               "▸ 3.6.0 line 31 | 3.4.0 line 32 ← Python 34: a_ptrs = a_ptr + "), said
        marked = _styled(view, "underline")
        assert len(marked) == 16 and marked[1].startswith("32 LDC.64 R_, c[0x0][0x210]"), marked
        assert all(int(m.split()[0]) in {18, 32, 156, 159, 164, 173, 176, 180, 183, 187, 189, 192, 197, 202, 205, 210}
                   for m in marked), marked
        assert "LDC.64 R_, c[0x0][0x210]" in screen_text(app)   # scrolled there
        await pilot.press("enter")
        await pilot.pause()
        assert _said(view, "cursor").startswith("↪ Triton 3.4.0's lines from Python 34: row 3 of 16 here · "[:47])
        assert "row 3 of 16" in _said(view, "cursor")
        await pilot.press("k")   # the cursor moved on: nothing marked
        assert _said(view, "cursor").startswith("▸ ") and not _styled(view, "underline")

        # where A has no line on the row, from B's line to A's: LLIR's 3.4.0 line 28 is from line 31
        await pilot.press("4", *"j" * 5)
        await pilot.press("enter")
        await pilot.pause()
        said = _said(view, "cursor")
        assert said.startswith("↪ Triton 3.6.0's lines from Python 31: row 2 of 14 here (Enter: the next) · "
                               "▸ 3.6.0 line 29 | 3.4.0 line 37"), said
        # a row from no Python line: nothing to jump to, said
        await pilot.press("2", "j", "enter")
        await pilot.pause()
        assert _said(view, "cursor").startswith(
            "this row is from no line of the kernel's Python source: no lines to jump to · ▸ 3.6.0 line 66 | 3.4.0 line 57")

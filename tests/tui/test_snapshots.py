"""SVG snapshots of the app's main screens, drawn from fixed data so that they are exact:
the kernel picker, a TTGIR pane with mapped lines, and the Outputs, Bench and Dumps tabs.

A snapshot that differs fails and leaves ``tests/snapshots/<name>.actual.svg`` beside the
stored one to look at; ``WORKBENCH_UPDATE_SNAPSHOTS=1`` stores the new pictures instead.
(The live app's screens, with real timings and paths, are checked by content in test_app.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import TESTS
from svg import check_stored, settled_svg
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical

from workbench.model.results import KernelEntry, RunResult
from workbench.tui.widgets.bench_view import BenchView
from workbench.tui.widgets.dumps_view import DumpsView
from workbench.tui.widgets.kernel_picker import KernelPicker
from workbench.tui.widgets.level_pane import LevelPane
from workbench.tui.widgets.outputs_view import OutputsView

SNAPSHOTS = TESTS / "snapshots"
DATA = TESTS / "data"
SIZE = (150, 40)

KERNEL = KernelEntry.parse({
    "spec": {"spec_id": "5ca2fa40", "kernel": "add_kernel", "autotune": None,
             "constexprs": {"BLOCK_SIZE": 1024}, "options": {"num_warps": 4, "num_stages": 3}},
    "launches": [{"grid": [97, 1, 1]}], "folder": "/w/add_kernel-5ca2fa40", "edit": "/w/add_kernel-5ca2fa40/edit",
    "result": {"num_warps": 4, "registers": 26, "shared": 0, "spill_stores": 0, "spill_loads": 0}})


def _check(name: str, verdict: bool = True) -> dict:
    return {"name": name, "dtype": "float32", "shape": [98432], "ok": verdict, "max_abs": 0.0 if verdict else 2.0,
            "max_rel": 0.0 if verdict else 2.0, "mismatches": 0 if verdict else 98432,
            "first_mismatch": None if verdict else [0], "nan": 0, "inf": 0, "atol": 1e-5, "rtol": 1.3e-6,
            "unwritten": 0, "sentence": f"{name}: ok" if verdict else f"{name}: FAIL: 98432 of 98432 elements differ"}


def _result(version: str, level: str, status: str, median_ms: float, ratio: float | None) -> RunResult:
    stats = {"median": median_ms, "mean": median_ms, "min": median_ms * 0.98, "max": median_ms * 1.05,
             "p20": median_ms * 0.99, "p80": median_ms * 1.01, "spread": 0.02, "stdev": 0.0, "runs": 100}
    return RunResult.parse({
        "kernel": "add_kernel", "spec_id": "5ca2fa40", "version": version, "level": level, "status": status,
        "outputs": [_check("x_ptr"), _check("y_ptr"), _check("out_ptr", status == "ok")],
        "timing": {"mode": "events", "bytes": 1181184, "flops": None, "stats": stats, "n": 100,
                   "tflops": None, "gbps": 1181184 / (median_ms * 1e-3) / 1e9},
        "vs_original": None if ratio is None else {"ratio": ratio, "verdict": "faster", "sentence": ""},
        "vs_previous": None, "compile": {"stage_ms": {"llir": 6.4, "ptx": 3.9, "cubin": 18.1}},
        "message": "", "times": {}})


DUMP = {"kernel": "softmax_kernel", "level": "ttgir", "pid": [0, 0, 0], "status": "ran (NVIDIA H100 80GB HBM3)",
        "notes": [], "results": [{"name": "%x_5", "dtype": "float32", "shape": [4, 8], "line": 40, "in_loop": False,
                                  "stats": {"min": 0.0, "max": 3.1, "mean": 1.55, "nan": 0, "inf": 0},
                                  "values": [[(r * 8 + c) / 10 for c in range(8)] for r in range(4)],
                                  "reference": "in_ptr[:4, :8]", "check": {"ok": True, "max_abs": 0.0}}]}


@pytest.fixture(autouse=True)
def no_outside_colour_settings(monkeypatch):
    for name in ("NO_COLOR", "TEXTUAL_COLOR_SYSTEM", "COLORTERM"):
        monkeypatch.delenv(name, raising=False)


class Screens(App):
    def __init__(self, which: str) -> None:
        super().__init__()
        self.which = which

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield KernelPicker(id="picker")
            with Vertical():
                yield LevelPane((DATA / "softmax.ttgir").read_text(), "ttgir", id="pane")
                if self.which == "outputs":
                    yield OutputsView()
                elif self.which == "bench":
                    yield BenchView()
                else:
                    yield DumpsView()

    def on_mount(self) -> None:
        self.theme = "workbench-dark" if "workbench-dark" in self.available_themes else "textual-dark"
        self.query_one(KernelPicker).show_kernels("vector_add.py", [KERNEL])
        view = self.query_one(LevelPane).view
        view.highlight_lines({12, 13, 14})
        view.goto_line(13)
        for widget in self.query("Input"):
            widget.cursor_blink = False
        if self.which == "outputs":
            self.query_one(OutputsView).show_result(_result("1", "ttgir", "mismatch", 0.0051, 1.02))
        elif self.which == "bench":
            bench = self.query_one(BenchView)
            bench.add_result(_result("original", "python", "ok", 0.0050, None))
            bench.add_result(_result("1", "ttgir", "ok", 0.0047, 0.94))
            bench.add_result(_result("2", "ptx", "ok", 0.0046, 0.92))
        else:
            self.query_one(DumpsView).show_result("%x_5", "ttgir", DUMP)


@pytest.mark.asyncio
@pytest.mark.parametrize("which", ["outputs", "bench", "dumps"])
async def test_screen_snapshot(which):
    app = Screens(which)
    async with app.run_test(size=SIZE) as pilot:
        svg = await settled_svg(pilot, f"workbench {which}")
    check_stored(svg, SNAPSHOTS / f"{which}.svg", f"the {which} screen")
    # and what it must show, whatever the pixels
    text = svg.replace("&#160;", " ")
    assert "add_kernel" in text and "warps 4" in text and "tt.func" in text and "BLOCK_SIZE=1024" in text
    expected = {"outputs": ["out_ptr", "FAIL"], "bench": ["original", "ttgir", "ptx", "0.940×", "regs"],
                "dumps": ["%x_5", "histogram"]}
    for word in expected[which]:
        assert word in text, (which, word)


class PassesScreen(App):
    """The Passes tab on fixed passes: five, two of them changing nothing (folded), the IR of the
    fourth beside its diff against the second."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def compose(self) -> ComposeResult:
        from workbench.tui.widgets.passes_view import PassesView
        yield PassesView()

    def on_mount(self) -> None:
        from workbench.tui.widgets.passes_view import PassesView
        self.theme = "workbench-dark" if "workbench-dark" in self.available_themes else "textual-dark"
        ir = (DATA / "softmax.ttgir").read_text()
        texts = [ir, ir.replace("ttg.convert_layout", "ttg.local_alloc", 1), None, None,
                 ir.replace("arith.maxnumf", "arith.maximumf")]
        names = ["input", "tritongpu-coalesce", "canonicalize", "cse", "tritongpu-remove-layout-conversions"]
        rows = []
        for i, (name, text) in enumerate(zip(names, texts)):
            file = f"{i:02d}-ttgir-{name}.mlir"
            text = text if text is not None else next(t for t in reversed(texts[:i]) if t is not None)
            (self.folder / file).write_text(f"// workbench: softmax_kernel, IR {i:02d}: after {name}\n"
                                            f"// workbench-after: stage=ttgir index={i - 1} metadata=k.json\n{text}")
            rows.append({"number": i, "stage": "ttgir", "index": i - 1, "pass": name, "call": "", "ms": 0.25 * i,
                         "changed": texts[i] is not None, "added": 1 if texts[i] is not None and i else 0,
                         "removed": 1 if texts[i] is not None and i else 0, "file": file})
        view = self.query_one(PassesView)
        view.data["k"] = {"folder": str(self.folder), "passes": rows, "introduced": {}}
        view.show_kernel("k")
        view.query_one("#passes-table").move_cursor(row=3)


@pytest.mark.asyncio
async def test_passes_snapshot(tmp_path):
    app = PassesScreen(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        from workbench.tui.widgets.passes_view import PassesView
        view = app.query_one(PassesView)
        for _ in range(100):
            if view.diff_text:
                break
            await pilot.pause(0.05)
        svg = await settled_svg(pilot, "workbench passes")
    assert view.selected["pass"] == "tritongpu-remove-layout-conversions"
    diff = view.diff_text.splitlines()
    assert any(row.startswith("+") and "arith.maximumf" in row for row in diff)
    assert any(row.startswith("-") and "arith.maxnumf" in row for row in diff)
    check_stored(svg, SNAPSHOTS / "passes.svg", "the passes screen")
    text = svg.replace("&#160;", " ")
    assert "3 passes changed nothing" not in text and "2 passes changed nothing" in text
    assert "diff vs 01 tritongpu-coalesce" in text

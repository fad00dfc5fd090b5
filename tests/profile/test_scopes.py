"""proton's intra-kernel scopes: which a kernel opens, why a version has no timing (each from a
real export and its run.py), and proton's two outputs read back. The timing itself needs a GPU
(tests/profile/test_gpu_profile.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import TESTS, EXAMPLES, has_cuda, run_cli
from workbench.profile import scopes

DATA = TESTS / "data"


def test_the_scopes_a_kernel_opens():
    source = (EXAMPLES / "matmul_scopes.py").read_text()
    first = next(n for n, row in enumerate(source.splitlines(), 1) if row.startswith("@triton.jit"))
    assert scopes.declared(source, first) == ["load", "dot"]
    assert scopes.declared((EXAMPLES / "matmul.py").read_text()) == []
    assert scopes.declared('    with pl.scope("a"):\n    # pl.enter_scope("b")\n    pl.enter_scope(\'c\')\n') == ["a", "c"]


def _export(tmp_path: Path, example: str) -> Path:
    script = tmp_path / f"{example}.py"
    shutil.copyfile(EXAMPLES / f"{example}.py", script)
    out = tmp_path / "export"
    proc = run_cli("export", str(script), "--kernel", "matmul_kernel", "--version", "original", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def _profile(folder: Path) -> dict:
    launch = json.loads((folder / "launch.json").read_text())
    meta = json.loads((folder / launch["metadata"]).read_text())
    return scopes.profile(folder, launch, meta["workbench"]["python"])


def test_a_kernel_without_scopes_says_so_without_running_anything(tmp_path):
    folder = _export(tmp_path, "matmul")
    assert _profile(folder) == {"scopes": [], "note": 'matmul_kernel opens no proton scope (pl.enter_scope("name") or '
                                                      'pl.scope("name") in the kernel): no intra-kernel timing'}
    assert not (folder / scopes.FOLDER).exists()


@pytest.mark.skipif(has_cuda(), reason="with a GPU the scopes are timed (tests/profile/test_gpu_profile.py)")
def test_without_a_gpu_run_py_says_why_there_is_no_timing(tmp_path):
    folder = _export(tmp_path, "matmul_scopes")
    out = _profile(folder)
    assert out == {"scopes": [], "note": "no proton timing: proton's intra-kernel timing needs a GPU"}
    assert scopes.lines("original", out) == ["scopes original: no proton timing: proton's intra-kernel timing "
                                             "needs a GPU"]


def test_a_version_from_an_ir_level_has_no_scopes_and_says_why(tmp_path):
    folder = _export(tmp_path, "matmul_scopes")
    launch = json.loads((folder / "launch.json").read_text())
    launch["level"], launch["file"] = "ttgir", "matmul_kernel.ttgir"
    assert scopes.profile(folder, launch, None) == {
        "scopes": [], "note": "no proton timing: proton scopes are compiled in from the Python source: this version "
                              "starts from TTGIR"}


def test_proton_tree_and_trace_read_back_in_cycles():
    """A real H200 run of examples/matmul_scopes.py under proton (Triton 3.6; tests/data/proton):
    4 CTAs of 8 warps, each warp entering ``load`` and ``dot`` once per K step. The trace's
    durations are microseconds at the 1000 MHz it names; read back they are cycles, and their
    per-warp median agrees with the tree's own per-warp figure (``normalized_cycles``)."""
    folder = DATA / "proton"
    tree = json.loads((folder / "scopes-tree.hatchet").read_text())
    per_warp = {n["frame"]["name"]: n["metrics"]["normalized_cycles"] for n in tree[0]["children"][0]["children"]}
    load, dot = scopes.read(folder, ["load", "dot"])
    assert (load["cycles"], dot["cycles"]) == (4410.0, 15635.0)
    assert load["warps"] == dot["warps"] == 32
    for sc in (load, dot):
        assert sc["warp_min"] <= sc["warp_median"] <= sc["warp_max"]
        assert abs(sc["warp_median"] - per_warp[sc["name"]]) / per_warp[sc["name"]] < 0.1, (sc, per_warp)
    assert (load["warp_min"], load["warp_median"], load["warp_max"]) == pytest.approx((130, 138, 150))
    assert scopes.lines("original", {"scopes": [load, dot], "note": ""}) == [
        "scope load (original): 138 cycles per warp (median of 32 warps; min 130, max 150), 4,410 cycles in all",
        "scope dot (original): 464 cycles per warp (median of 32 warps; min 432, max 668), 15,635 cycles in all"]


def test_a_scope_the_trace_lacks_has_its_total_only(tmp_path):
    tree = [{"frame": {"name": "ROOT"}, "metrics": {}, "children": [
        {"frame": {"name": "k"}, "metrics": {}, "children": [
            {"frame": {"name": "dot"}, "metrics": {"cycles": 250}, "children": []}]}]}]
    (tmp_path / "scopes-tree.hatchet").write_text(json.dumps(tree))
    (tmp_path / "scopes-trace.chrome_trace").write_text(json.dumps({"traceEvents": [
        {"ph": "X", "name": "load", "pid": "CTA0", "tid": "warp 0", "ts": 0, "dur": 0.5}]}))   # no Frequency: 1 GHz
    load, dot = scopes.read(tmp_path, ["load", "dot"])
    assert (load["cycles"], load["warps"], load["warp_median"]) == (None, 1, 500.0)
    assert dot == {"name": "dot", "cycles": 250.0, "warps": 0, "warp_min": None, "warp_median": None,
                   "warp_max": None}
    assert scopes.lines("v1", {"scopes": [load, dot], "note": ""}) == [
        "scope load (v1): 500 cycles per warp (median of 1 warp; min 500, max 500), no cycle total",
        "scope dot (v1): 250 cycles in all"]

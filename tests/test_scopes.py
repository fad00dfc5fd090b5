"""proton's intra-kernel scopes: which a kernel opens, why a version has no timing (each from a
real export and its run.py), and proton's two outputs read back. The timing itself needs a GPU
(tests/test_gpu_profile.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLES, _has_cuda, run_cli
from workbench.core import scopes


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


@pytest.mark.skipif(_has_cuda(), reason="with a GPU the scopes are timed (tests/test_gpu_profile.py)")
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


def test_proton_tree_and_trace_read_back(tmp_path):
    """Files in the shapes Triton's own proton tests read (third_party/proton/test): a hatchet
    tree whose scope nodes carry ``metrics.cycles``, a chrome trace with an ``X`` event per scope
    and warp (``tid``). Hand-written here: no GPU makes real ones."""
    tree = [{"frame": {"name": "ROOT"}, "metrics": {}, "children": [
        {"frame": {"name": "matmul_kernel"}, "metrics": {"cycles": 900}, "children": [
            {"frame": {"name": "load"}, "metrics": {"cycles": 600}, "children": []},
            {"frame": {"name": "dot"}, "metrics": {"cycles": 250}, "children": []}]}]}]
    (tmp_path / "scopes-tree.hatchet").write_text(json.dumps(tree))
    events = [{"ph": "X", "name": "load", "pid": 0, "tid": w, "ts": 0, "dur": d} for w, d in ((0, 10), (1, 30), (2, 20))]
    events += [{"ph": "X", "name": "load", "pid": 0, "tid": 0, "ts": 50, "dur": 5},
               {"ph": "M", "name": "thread_name", "pid": 0, "tid": 0}]
    (tmp_path / "scopes-trace.chrome_trace").write_text(json.dumps({"traceEvents": events}))
    load, dot = scopes.read(tmp_path, ["load", "dot"])
    assert load == {"name": "load", "cycles": 600.0, "warps": 3, "warp_min": 15.0, "warp_median": 20.0,
                    "warp_max": 30.0}
    assert dot == {"name": "dot", "cycles": 250.0, "warps": 0, "warp_min": None, "warp_median": None,
                   "warp_max": None}
    assert scopes.lines("v1", {"scopes": [load, dot], "note": ""}) == [
        "scope load (v1): 600 cycles, 3 warps: 15 / 20 / 30 (min / median / max per warp, trace units)",
        "scope dot (v1): 250 cycles"]

"""``workbench compare``: the same kernels under two Triton releases (the venv's 3.6.0 and an
unpacked 3.4.0), compared for sm_90 on the CPU. The figures asserted were checked by hand on
the files the two runners wrote: registers with ``cuobjdump -res-usage`` (109 | 128), the SASS
instructions by counting ``/*offset*/`` lines and GMMA ones (672 | 760, 4 | 4), the pipeliner's
stages from ``tt.scheduled_max_stage = 2`` after tritongpu-schedule-loops, the shared memory from
each metadata JSON (3 buffers x (128x64 + 64x128) fp16 = 98304), the pass lists with ``diff``.
"""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

from helpers import ROOT, run_cli
from workbench.instrument import compare
from workbench.model import srcmap

pytestmark = pytest.mark.skipif(not (ROOT / ".triton-versions" / "3.4.0" / "triton").is_dir(),
                                reason="Triton 3.4.0 not unpacked in .triton-versions (make versions)")


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """(exit status, JSON report) of a script compared under --triton VERSION, once per module."""
    cache: dict = {}

    def get(example: str, version: str):
        if (example, version) not in cache:
            ws = tmp_path_factory.mktemp("ws")
            proc = run_cli("compare", str(ROOT / "examples" / f"{example}.py"), "--triton", version, "--target",
                           "cuda:90", "--workspace", str(ws), "--json")
            assert proc.returncode == 0, proc.stderr[-3000:]
            cache[example, version] = json.loads(proc.stdout)
        return cache[example, version]
    return get


def _resources(kernel: dict) -> dict:
    return {key: (v["a"], v["b"], v["change"]) for key, v in kernel["resources"].items()}


def _row(kernel: dict, stage: str, name: str) -> list[dict]:
    return [r for r in kernel["passes"]["rows"] if r["stage"] == stage and r["pass"] == name]


def test_matmul_under_3_4_and_3_6(compared):
    report = compared("matmul", "3.4.0")
    assert report["releases"] == ["3.6.0", "3.4.0"] and report["target"] == "cuda:90"
    assert report["note"] == "outputs and timings need a GPU: the releases are compared as compiled, not run"
    [k] = report["kernels"]
    res = _resources(k)
    assert res["registers"] == (109, 128, 19)
    assert res["shared"] == (98304, 98304, 0)
    assert res["pipeline_stages"] == (3, 3, 0) and res["num_stages"] == (3, 3, 0) and res["num_warps"] == (8, 8, 0)
    assert res["sass_total"] == (672, 760, 88) and res["sass_tensor"] == (4, 4, 0)
    assert res["spills"] == (0, None, None) and res["local"] == (None, 0, None)  # 3.4 has no ptxas report
    assert all(not level["same"] for level in k["levels"].values())
    # the front ends differ (the loop carries acc last in 3.6; cdiv adds 127, not 128 - 1), remove-layout-
    # conversions makes the IR the same again, and the pipeliner parts it: memdesc_index, not memdesc_subview
    passes = k["passes"]
    parted = [(p["stage"], p["pass"], p["a"], p["b"]) for p in passes["parted"]]
    assert parted == [("ttir", "input", 0, 0), ("ttgir", "tritongpu-pipeline", 28, 28)]
    assert passes["rows"][passes["first_differs"]]["pass"] == "input"
    first = "\n".join(passes["parted"][0]["diff"])
    assert "iter_args(%a_ptrs" in first and "%c127_i32 = arith.constant 127" in first
    pipeline = "\n".join(passes["parted"][1]["diff"])
    assert "ttg.memdesc_index" in pipeline and "ttg.memdesc_subview" in pipeline
    assert _row(k, "ttgir", "tritongpu-remove-layout-conversions")[0]["differs"] is False
    assert all(os.path.isfile(f) for p in passes["parted"] for f in p["files"])


def test_lines_mapped_through_the_python_source(compared):
    """Each level's lines on each side by the kernel's Python line, from each side's source map;
    checked by hand in the two workspaces' files: `tt.dot` is TTIR line 85 under 3.6.0 and 76 under
    3.4.0, `ttng.warp_group_dot` and its wait TTGIR lines 140-141 and 131-132, and after
    tritongpu-pipeline (passes/28-*.mlir, with its two header lines) 142-143 and 133-134."""
    k = compared("matmul", "3.4.0")["kernels"][0]
    assert k["lines"]["file"] == "matmul.py"
    rows = {r["python"]: r for r in k["lines"]["rows"]}
    assert rows[43]["source"] == "acc = tl.dot(a, b, acc)"
    assert rows[43]["ttir"] == ["85", "76"] and rows[43]["ttgir"] == ["140-141", "131-132"]
    assert rows[21]["ttir"] == ["24", "15"] and rows[21]["ttgir"] == ["32", "23"] and rows[21]["ptx"] == ["45", "44"]
    assert rows[22]["ttir"] == ["25-26", "16-17"]   # tl.cdiv, inlined from standard.py: the kernel's line
    # 3.6.0's four HGMMA are SASS lines 440, 465, 468 and 469; `nvdisasm -g` on its cubin puts the
    # second (/*1c10*/) under line 44, the others under 43
    assert {440, 468, 469} <= set(srcmap.from_spans(rows[43]["sass"][0]))
    assert 465 in srcmap.from_spans(rows[44]["sass"][0])
    # the IR after each pass where the compiles part, mapped the same way, and its hunks named
    pipeline = k["passes"]["parted"][1]
    assert pipeline["pass"] == "tritongpu-pipeline"
    lines = {r["python"]: (r["a"], r["b"]) for r in pipeline["lines"]}
    assert lines[43] == ("142-143", "133-134") and lines[21] == ("34", "25")
    assert "@@ Python 43: acc = tl.dot(a, b, acc)" in pipeline["diff"]
    assert "@@ Python 41: a = tl.load(a_ptrs, mask=(offs_m[:, None] < M) & (offs_k[None, :] < k_left), other=0.0)" \
        in pipeline["diff"]
    # --json has every level's differences side by side, whole, each hunk named by its Python lines (the
    # app's Compare view shows them: keys 2-6): the pipeliner's memdesc_index | memdesc_subview in TTGIR,
    # and SASS 19, 3.6.0's load of a_ptr (c[0x0][0x210]) for line 34, where 3.4.0 has a UMOV
    ttgir, sass = k["levels"]["ttgir"]["diff"], k["levels"]["sass"]["diff"]
    assert "@@ Python 41: a = tl.load(a_ptrs, mask=(offs_m[:, None] < M) & (offs_k[None, :] < k_left), other=0.0)" \
        in ttgir
    assert any(re.match(r" +95 .*ttg\.memdesc_index.* \| +86 .*ttg\.memdesc_subview", row) for row in ttgir)
    assert "@@ Python 34: a_ptrs = a_ptr + offs_m[:, None] * stride_am + offs_k[None, :] * stride_ak" in sass
    assert any(re.match(r" +19 ULDC\.64 UR_, c\[0x0\]\[0x210\] +\| +19 UMOV UR_, 0x400", row) for row in sass)
    assert len(sass) > 800 and not any("more rows" in row for row in sass)   # not cut


def test_spans():
    assert srcmap.spans([45, 40, 41, 42, 47, 48]) == "40-42,45,47-48" and srcmap.spans([]) == ""
    assert srcmap.from_spans("40-42,45,47-48") == [40, 41, 42, 45, 47, 48] and srcmap.from_spans("") == []


def test_passes_one_release_runs_alone(compared):
    k = compared("matmul", "3.4.0")["kernels"][0]
    status = {(r["stage"], r["pass"], r["a"], r["b"]): r["status"] for r in k["passes"]["rows"]}
    assert status[("llir", "gluon-inline", 50, None)] == "only 3.6.0"
    assert status[("llir", "allocate-shared-memory-nv", 51, None)] == "only 3.6.0"
    assert status[("llir", "allocate-shared-memory", None, 49)] == "only 3.4.0"
    assert status[("ttgir", "cse", 45, None)] == "only 3.6.0"
    # a pass both run, elsewhere: 3.6 lowers TMA earlier, and its MMA lowering in the TTGIR stage
    assert status[("ttgir", "triton-nvidia-tma-lowering", 35, None)] == "moved"
    assert status[("ttgir", "triton-nvidia-tma-lowering", None, 41)] == "moved"
    assert status[("ttgir", "triton-nvidia-mma-lowering", 43, None)] == "moved"
    assert status[("llir", "triton-nvidia-mma-lowering", None, 45)] == "moved"
    assert k["passes"]["only"] == [6, 1] and k["passes"]["moved"] == 4
    assert len(k["passes"]["rows"]) == 69   # 66 passes of 3.6 and 61 of 3.4: 58 paired, 11 alone


def test_flash_attention_under_3_4_and_3_6(compared):
    [k] = compared("flash_attention", "3.4.0")["kernels"]
    res = _resources(k)
    assert res["registers"] == (82, 82, 0) and res["shared"] == (24576, 24576, 0)
    assert res["pipeline_stages"] == (2, 2, 0) and res["num_warps"] == (4, 4, 0)
    assert res["sass_total"] == (656, 672, 16) and res["sass_tensor"] == (6, 6, 0)
    # the loop's carried values are ordered otherwise from the front end on, and never the same again
    assert [p["pass"] for p in k["passes"]["parted"]] == ["input"]
    assert all(r["differs"] for r in k["passes"]["rows"])
    assert "iter_args(" in "\n".join(k["passes"]["parted"][0]["diff"])


def test_a_kernel_compared_with_itself_shows_nothing(compared):
    report = compared("matmul", "3.6.0")
    assert report["releases"] == ["3.6.0", "3.6.0 (2)"]
    [k] = report["kernels"]
    assert not k["differs"]
    assert all(level["same"] and level["diff"] == [] for level in k["levels"].values())
    assert all(v["change"] == 0 for v in k["resources"].values())
    assert k["passes"]["parted"] == [] and k["passes"]["first_differs"] is None
    assert {r["status"] for r in k["passes"]["rows"]} == {"both"} and len(k["passes"]["rows"]) == 66


def test_text_report(tmp_path):
    proc = run_cli("compare", str(ROOT / "examples" / "matmul.py"), "--triton", "3.4.0", "--target", "cuda:90",
                   "--workspace", str(tmp_path), "--width", "120", "--show", "sass")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "registers                109    128    +19" in out
    assert "first pass whose output differs: input (TTIR stage, 3.6.0 #00 | 3.4.0 #00)" in out
    assert "the IR differs again after: tritongpu-pipeline (TTGIR stage, 3.6.0 #28 | 3.4.0 #28)" in out
    assert "SASS: Triton 3.6.0 | Triton 3.4.0 (@@: the Python lines a hunk comes from)" in out and "HGMMA" in out
    # the SASS lines of each side by the kernel's Python line, and the level's hunks named by theirs
    assert "SASS lines by the Python line they come from (matmul.py; --json: all):" in out
    shown = out[out.index("SASS lines by the Python line"):]
    assert re.search(r"^21 +17 +\S+ +pid = tl.program_id\(axis=0\)$", shown, re.M), shown[:3000]
    assert re.search(r"^43 +419,422,425-426,429,431,433,435,… \(24 lines\) ", shown, re.M), shown[:3000]
    assert "\n@@ Python 39: for k in range(0, tl.cdiv(K, BLOCK_K)):\n@@ and 2 more Python lines: 40-41\n" in shown
    assert out.rstrip().endswith("outputs and timings need a GPU: the releases are compared as compiled, not run")


def test_a_release_that_cannot_compile_the_kernel_is_one_line(tmp_path):
    if not (ROOT / ".triton-versions" / "3.3.1" / "triton").is_dir():
        pytest.skip("Triton 3.3.1 not unpacked")
    proc = run_cli("compare", str(ROOT / "examples" / "gluon_vector_add.py"), "--triton", "3.3.1",
                   "--workspace", str(tmp_path))
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("Triton 3.3.1: " + str(ROOT / "examples" / "gluon_vector_add.py") + ":")
    assert line.endswith("(Gluon kernels need Triton 3.4 or later; this is Triton 3.3.1)")


def test_a_release_with_no_package_index_is_one_line(tmp_path):
    env = {"WORKBENCH_CACHE_DIR": str(tmp_path / "stages"), "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
           "PIP_RETRIES": "1", "PIP_TIMEOUT": "2", "PIP_FIND_LINKS": "", "PIP_NO_CACHE_DIR": "1",
           "PIP_CONFIG_FILE": os.devnull}
    proc = run_cli("compare", str(ROOT / "examples" / "matmul.py"), "--triton", "3.3.0", env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == f"installing Triton 3.3.0 into {tmp_path / 'triton-versions' / '3.3.0'} (pip install --target, once)"
    assert lines[1:] == [(f"--triton: error: Triton 3.3.0 is not installed here and no package index could be reached: "
                          f"run `pip install --no-deps --target {tmp_path / 'triton-versions' / '3.3.0'} triton==3.3.0` "
                          "where one can be, or pass --python with an interpreter that has it")]
    assert [p.name for p in (tmp_path / "triton-versions").iterdir()] == []   # nothing half-installed
    proc = run_cli("compare", str(ROOT / "examples" / "matmul.py"), "--triton", "3.4; rm -rf /")
    assert proc.returncode == 2 and proc.stderr.strip() == \
        "--triton: error: '3.4; rm -rf /' is not a Triton release (expected X.Y.Z, e.g. 3.4.0)"
    proc = run_cli("compare", str(ROOT / "examples" / "matmul.py"), "--python", str(tmp_path / "nope"))
    assert proc.returncode == 2 and proc.stderr.strip() == \
        f"--python: error: {tmp_path / 'nope'} is not an interpreter that can be run"


# -- the text engine, on texts made here ----------------------------------------------------------

def test_normalize_ignores_ssa_names_and_locations():
    a = ('#loc3 = loc("k.py":3:1)\n  %0 = arith.addf %arg1, %arg2 : f32 loc(#loc3)\n'
         '  %1 = tt.load %0 : f32 loc(callsite("x"(#loc3) at fused["k.py":4:2, "a)b"]))\n')
    b = ('  %acc = arith.addf %x, %y_1 : f32 loc("k.py":9:9)\n  %v = tt.load %acc : f32\n')
    assert compare.level_diff(a, b, "ttgir") == {"level": "ttgir", "lines": [2, 2], "added": 0, "removed": 0,
                                                 "same": True}
    c = b.replace("addf", "mulf")
    assert compare.level_diff(a, c, "ttgir")["added"] == 1
    assert compare.side_by_side(a, c, "ttgir", width=80, context=0) == [
        "    2 %0 = arith.addf %arg1, %arg2 : f |     1 %acc = arith.mulf %x, %y_1 : f32"]   # 38 columns a side
    ptx = "\t.loc\t1 3 4\n\tadd.s32 \t%r12, %r3, 1; // x\n$L__tmp1:\n"
    assert compare.normalize(ptx, "ptx") == [(2, "add.s32 \t%r_, %r_, 1;")]


def test_align_pairs_by_name_in_order(tmp_path):
    def rows(side: str, names: list[str]) -> list[compare.PassRow]:
        out = []
        for n, name in enumerate(names):
            path = tmp_path / f"{side}-{n}.mlir"
            path.write_text(f"%0 = arith.constant {0 if name in ('input', 'a', 'b') else n} : i32\n")
            out.append(compare.PassRow(n, "ttgir", name, True, path))
        return out
    a, b = rows("a", ["input", "a", "b", "x", "c", "d"]), rows("b", ["input", "a", "new", "b", "c", "d", "x"])
    result = compare.compare_passes(a, b, ("A", "B"))
    assert [(r["pass"], r["a"], r["b"], r["status"]) for r in result["rows"]] == [
        ("input", 0, 0, "both"), ("a", 1, 1, "both"), ("new", None, 2, "only B"), ("b", 2, 3, "both"),
        ("x", 3, None, "moved"), ("c", 4, 4, "both"), ("d", 5, 5, "both"), ("x", None, 6, "moved")]
    assert [result["rows"][i]["pass"] for i in result["parts"]] == ["new", "x", "x"]
    assert result["only"] == [0, 1] and result["moved"] == 2


# -- on the captured inputs: one export, run.py under each release ----------------------------------

def test_the_original_exported_once_replays_under_each_release_and_a_changed_output_is_named(tmp_path):
    """What `compare` does on a GPU, its plumbing run here in Triton's interpreter (no timing: the
    interpreter's wall time is none): the original exported once, its run.py under 3.6.0 and
    under 3.4.0 (first on the path), each checked against the outputs the script's launch made."""
    import shutil
    from workbench.compiler import releases
    from workbench.instrument import compare_run
    from workbench.session.export import export
    from workbench.session.session import Session
    old = ROOT / ".triton-versions" / "3.4.0"
    if not (old / "triton").is_dir():
        pytest.skip(f"Triton 3.4.0 not unpacked in {old} (run `make versions`)")
    script = tmp_path / "vector_add.py"
    shutil.copy(ROOT / "examples" / "vector_add.py", script)
    session = Session(script, mode="interpret", with_sass=False)
    try:
        entry = session.open()["kernels"][0]
        folder = export(session, entry["spec"]["spec_id"], "original", tmp_path / "export", "captured")
    finally:
        session.close()
    interpret = {"TRITON_INTERPRET": "1"}
    sides = [("3.6.0", sys.executable, releases.runner_env(None, dict(os.environ, **interpret))),
             ("3.4.0", sys.executable, releases.runner_env(old, dict(os.environ, **interpret)))]
    run = compare_run.side_by_side(folder / "run.py", sides, repeats=1)
    assert {label: (s["ok"], s["error"], s["median_us"]) for label, s in run["sides"].items()} == \
        {"3.6.0": (True, None, None), "3.4.0": (True, None, None)}
    assert run["outputs_differ"] is False and run["timing"] is None
    # outputs that are not what this kernel computes: every side says which output, in one line
    import torch
    outputs = torch.load(folder / "outputs.pt")   # each storage's bytes after the launch (x, y, out)
    outputs[2][3::4] ^= 0x40                      # out's floats, each one's exponent byte
    torch.save(outputs, folder / "outputs.pt")
    got = compare_run.replay(folder / "run.py", *sides[1][1:])
    assert got.ok is False and got.error is None
    assert len(got.mismatches) == 1 and got.mismatches[0].startswith("out_ptr: ")


def test_two_timings_are_told_apart_only_beyond_their_own_spread():
    from workbench.instrument.compare_run import _verdict
    a = {"median_us": 10.0, "spread": 0.03}
    assert _verdict("3.6.0", a, "3.4.0", {"median_us": 10.2, "spread": 0.01})["within_noise"] is True
    slower = _verdict("3.6.0", a, "3.4.0", {"median_us": 11.5, "spread": 0.01})
    assert slower["within_noise"] is False and slower["said"] == "Triton 3.4.0 slower: 1.15x Triton 3.6.0 (noise ±3%)"

"""The compile command, end to end, as a user runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpers import EXAMPLES, run_cli


def _has_gpu() -> bool:
    import torch
    return torch.cuda.is_available()


def test_compile_a_script_writes_every_level_and_prints_a_table(tmp_path):
    script = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", script)
    proc = run_cli("compile", str(script), "--target", "cuda:90")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "target cuda:90"
    assert lines[1].split()[:6] == ["kernel", "spec", "warps", "regs", "smem", "spills"]
    row = lines[2].split()
    assert row[0] == "add_kernel" and row[2] == "4" and int(row[3]) > 0
    folder = next((tmp_path / ".workbench" / "vector_add").glob("add_kernel-*")) / "original"
    for ext in ("ttir", "ttgir", "llir", "ptx", "cubin", "sass", "json"):
        assert (folder / f"add_kernel.{ext}").stat().st_size > 0
    meta = json.loads((folder / "add_kernel.json").read_text())
    assert meta["name"] == "add_kernel" and meta["num_warps"] == 4 and meta["target"]["arch"] == 90

    assert ("note: no GPU: kernels were compiled, not launched" in proc.stderr) != _has_gpu()


def test_compile_json_has_the_specs_results_and_source_map(tmp_path):
    proc = run_cli("compile", str(EXAMPLES / "autotuned_add.py"), "--json", "--out", str(tmp_path),
                   "--target", "cuda:80", "--no-sass")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["target"] == "cuda:80" and len(data["kernels"]) == 3
    first = data["kernels"][0]
    # without a GPU nothing is timed and the first config is chosen; on one, the autotuner decides
    assert sum(k["spec"]["autotune"]["chosen"] for k in data["kernels"]) == 1
    if not _has_gpu():
        assert first["spec"]["autotune"]["chosen"] is True
    assert first["result"]["num_warps"] == 2 and first["result"]["stage_ms"]["cubin"] > 0
    assert Path(first["files"]["ptx"]).parent.parent == tmp_path
    smap = first["srcmap"]
    assert set(smap) >= {"python", "ttir", "ttgir", "llir", "ptx"}
    assert all(Path(loc[0]).name == "autotuned_add.py" for locs in smap["ttir"].values() for loc in locs)


def test_compile_one_kernel_by_name_and_an_unknown_name(tmp_path):
    proc = run_cli("compile", str(EXAMPLES / "vector_add.py"), "--kernel", "nope", "--out", str(tmp_path))
    assert proc.returncode == 2 and "no kernel named 'nope' was launched (launched: add_kernel)" in proc.stderr
    # compile-only, the script's check after its first launch fails and stops it there
    proc = run_cli("compile", str(EXAMPLES / "flash_attention.py"), "--kernel", "attn_fwd", "--out", str(tmp_path),
                   "--no-sass")
    assert proc.returncode == 0, proc.stderr
    # (on a GPU both launches run for real)
    assert len(list(tmp_path.glob("attn_fwd-*"))) == (2 if _has_gpu() else 1)
    assert ("--interpret" in proc.stderr) != _has_gpu()
    if _has_gpu():
        return
    # interpreted, the check passes and the causal launch comes too: two specializations
    proc = run_cli("compile", str(EXAMPLES / "flash_attention.py"), "--kernel", "attn_fwd", "--out", str(tmp_path),
                   "--no-sass", "--interpret")
    assert proc.returncode == 0, proc.stderr
    assert len(list(tmp_path.glob("attn_fwd-*"))) == 2


def test_compile_a_level_file_writes_the_levels_below_it(tmp_path):
    proc = run_cli("compile", str(EXAMPLES / "vector_add.py"), "--out", str(tmp_path), "--no-sass")
    assert proc.returncode == 0, proc.stderr
    folder = next(tmp_path.glob("add_kernel-*"))
    ttgir = folder / "add_kernel.ttgir"
    before = (folder / "add_kernel.ptx").read_text()
    ttgir.write_text(ttgir.read_text().replace("arith.constant 1024 : i32", "arith.constant 512 : i32"))
    proc = run_cli("compile", str(ttgir))
    assert proc.returncode == 0, proc.stderr
    assert "from ttgir" in proc.stdout
    after = (folder / "add_kernel.ptx").read_text()
    assert after != before and "shl.b32" in after
    assert (folder / "add_kernel.sass").stat().st_size > 0
    # an unchanged file is served from the cache
    proc = run_cli("compile", str(ttgir), "--json")
    assert json.loads(proc.stdout)["result"]["cached"] is True


def test_script_arguments_after_double_dash_reach_the_script(tmp_path):
    script = tmp_path / "args.py"
    script.write_text("import sys\nassert sys.argv[1:] == ['--size', '7'], sys.argv\n"
                      "import torch, triton, triton.language as tl\n"
                      "@triton.jit\ndef k(x):\n    tl.store(x, 1.0)\n"
                      "k[(1,)](torch.zeros(int(sys.argv[2])))\n")
    proc = run_cli("compile", str(script), "--out", str(tmp_path / "o"), "--no-sass", "--", "--size", "7")
    assert proc.returncode == 0, proc.stderr

"""`workbench passes` and `workbench compile NN-<stage>-<pass>.mlir`, end to end, as a user runs them."""

from __future__ import annotations

import json
import shutil

import pytest

from helpers import EXAMPLES, run_cli


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """matmul compiled (the original cubin) and its passes written, once for the module."""
    root = tmp_path_factory.mktemp("passes")
    script = root / "matmul.py"
    shutil.copy(EXAMPLES / "matmul.py", script)
    proc = run_cli("compile", str(script), "--target", "cuda:90", "--no-sass")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("passes", str(script), "--target", "cuda:90", "--json")
    assert proc.returncode == 0, proc.stderr
    return script, json.loads(proc.stdout)


def test_passes_writes_one_file_per_pass_that_says_which_pass_it_follows(recorded):
    script, report = recorded
    (kernel,) = report["kernels"]
    rows = kernel["passes"]
    folder = script.parent / ".workbench" / "matmul" / f"matmul_kernel-{kernel['spec']}" / "passes"
    assert kernel["folder"] == str(folder)
    files = sorted(p.name for p in folder.glob("*.mlir"))
    assert files == sorted(r["file"] for r in rows) and len(files) > 50
    assert files[0] == "00-ttir-input.mlir" and (folder / "matmul_kernel.json").is_file()
    pipe = next(r for r in rows if r["pass"] == "tritongpu-pipeline")
    head = (folder / pipe["file"]).read_text().splitlines()[:2]
    assert "after tritongpu-pipeline" in head[0]
    assert head[1] == f"// workbench-after: stage=ttgir index={pipe['index']} metadata=matmul_kernel.json"
    assert pipe["changed"] and pipe["added"] > 0 and {r["stage"] for r in rows} == {"ttir", "ttgir", "llir"}


def test_the_table_and_one_stage(recorded):
    script, report = recorded
    proc = run_cli("passes", str(script), "--target", "cuda:90", "--stage", "ttgir")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "target cuda:90" and lines[1].startswith("matmul_kernel (")
    assert lines[2].split() == ["#", "stage", "pass", "changed", "+lines", "-lines", "ms"]
    body = [row.split() for row in lines[3:-1]]
    assert body and all(row[1] == "ttgir" for row in body)
    coalesce = next(row for row in body if row[2] == "tritongpu-coalesce")
    assert coalesce[3] == "yes" and int(coalesce[4]) > 0 and float(coalesce[-1]) > 0
    # one stage is kept, the others only listed: the numbers are those of the whole recording
    full = next(r for r in report["kernels"][0]["passes"] if r["pass"] == "tritongpu-coalesce")
    assert int(coalesce[0]) == full["number"] and coalesce[4:6] == [str(full["added"]), str(full["removed"])]
    assert lines[-1].startswith(f"{len(body)} passes, ")


def test_compile_a_pass_file_restarts_after_its_pass(recorded, tmp_path):
    script, report = recorded
    (kernel,) = report["kernels"]
    folder = kernel["folder"]
    original = script.parent / ".workbench" / "matmul" / f"matmul_kernel-{kernel['spec']}" / "original"
    coalesce = next(r for r in kernel["passes"] if r["pass"] == "tritongpu-coalesce")
    proc = run_cli("compile", f"{folder}/{coalesce['file']}", "--out", str(tmp_path / "same"), "--no-sass")
    assert proc.returncode == 0, proc.stderr
    stem = coalesce["file"][:-len(".mlir")]
    assert (tmp_path / "same" / f"{stem}.cubin").read_bytes() == (original / "matmul_kernel.cubin").read_bytes()
    # an edit after a pass: the loads' latency, as the pipeliner reads it
    lat = next(r for r in kernel["passes"] if r["pass"] == "tritongpu-assign-latencies")
    edited = tmp_path / lat["file"]
    text = (original.parent / "passes" / lat["file"]).read_text()
    edited.write_text(text.replace("tt.latency = 2", "tt.latency = 1"))
    shutil.copy(original.parent / "passes" / "matmul_kernel.json", tmp_path)
    proc = run_cli("compile", str(edited), "--no-sass")
    assert proc.returncode == 0, proc.stderr
    row = proc.stdout.splitlines()[2].split()
    assert row[:3] == ["matmul_kernel", "after", edited.stem] and row[5] == "65536"
    assert (tmp_path / f"{edited.stem}.ptx").read_text() != (original / "matmul_kernel.ptx").read_text()


def test_a_broken_pass_file_is_reported_at_its_line(recorded, tmp_path):
    script, report = recorded
    (kernel,) = report["kernels"]
    coalesce = next(r for r in kernel["passes"] if r["pass"] == "tritongpu-coalesce")
    shutil.copy(f"{kernel['folder']}/matmul_kernel.json", tmp_path)
    text = open(f"{kernel['folder']}/{coalesce['file']}").read()
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "arith.addi" in row)
    broken = tmp_path / coalesce["file"]
    broken.write_text(text.replace("arith.addi", "arith.addx", 1))
    proc = run_cli("compile", str(broken))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[0].startswith(f"{broken}:{line}:") and "arith.addx" in proc.stderr
    headless = tmp_path / "00-ttir-x.mlir"
    headless.write_text("\n".join(text.splitlines()[2:]))
    proc = run_cli("compile", str(headless))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"{headless}:1: error: not a pass file: no '// workbench-after: stage=... "
                                   f"index=...' line at its top (`workbench passes` writes it)")


def test_version_diff_by_pass(recorded):
    from workbench.session.workspace import Workspace
    script, report = recorded
    (kernel,) = report["kernels"]
    home = Workspace.beside(script)
    folder_name = f"matmul_kernel-{kernel['spec']}"
    ttir = (home.original(folder_name) / "matmul_kernel.ttir").read_text()
    assert ttir.count("tt.load") == 2
    # a TTIR version whose masked-off B elements read as 1, not 0
    edited = ttir.replace("arith.constant dense<0.000000e+00> : tensor<64x128xf16>",
                          "arith.constant dense<1.000000e+00> : tensor<64x128xf16>", 1)
    assert edited != ttir
    info = home.new_version(folder_name, "matmul_kernel", "ttir", edited, None, update_edit=False)
    proc = run_cli("passes", str(script), "--target", "cuda:90", "--version", str(info.number), "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["passes"]
    assert rows and {r["stage"] for r in rows} == {"ttgir", "llir"}  # a TTIR version runs no TTIR passes
    assert rows[0]["pass"] == "convert-triton-to-tritongpu" and rows[0]["differs"]
    # the IR differs after every pass; only some did something else with it
    assert all(r["differs"] for r in rows)
    assert any(not r["acts"] for r in rows) and next(r for r in rows if r["pass"] == "tritongpu-pipeline")["acts"]
    proc = run_cli("passes", str(script), "--target", "cuda:90", "--version", str(info.number))
    assert proc.returncode == 0, proc.stderr
    assert "the passes that did something else" in proc.stdout
    assert proc.stdout.splitlines()[1].split()[:3] == ["#", "stage", "pass"]
    assert any(row.split()[2] == "tritongpu-pipeline" for row in proc.stdout.splitlines()[2:-1])


def _run_from(script, path):
    proc = run_cli("run", str(script), "--from", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    (run,) = [r for r in json.loads(proc.stdout)["runs"] if r["version"] != "original"]
    return run


def test_a_version_started_from_a_pass(recorded):
    """`run --from` a pass file: a version whose text (header and all) restarts after that pass."""
    import torch
    script, report = recorded
    (kernel,) = report["kernels"]
    pipe = next(r for r in kernel["passes"] if r["pass"] == "tritongpu-pipeline")
    run = _run_from(script, f"{kernel['folder']}/{pipe['file']}")
    assert run["level"] == "ttgir" and run["compile"]["shared"] == 98304
    assert run["status"] == ("ok" if torch.cuda.is_available() else "compiled-only")
    kept = (script.parent / ".workbench" / "matmul" / f"matmul_kernel-{kernel['spec']}" / "versions" /
            f"{int(run['version']):03d}" / "matmul_kernel.ttgir").read_text()
    assert kept.splitlines()[1].startswith("// workbench-after: stage=ttgir index=")


@pytest.mark.gpu
def test_on_the_gpu_a_version_from_a_pass_of_matmul_replays_and_verifies(tmp_path):
    script = tmp_path / "matmul.py"
    shutil.copy(EXAMPLES / "matmul.py", script)
    proc = run_cli("passes", str(script), "--json")
    assert proc.returncode == 0, proc.stderr
    (kernel,) = json.loads(proc.stdout)["kernels"]
    for name in ("tritongpu-coalesce", "tritongpu-pipeline", "convert-triton-gpu-to-llvm"):
        row = next(r for r in kernel["passes"] if r["pass"] == name)
        run = _run_from(script, f"{kernel['folder']}/{row['file']}")
        assert run["status"] == "ok", (name, run.get("message"), run["outputs"])
    # edited after a pass: two pipeline buffers instead of three, still right
    lat = next(r for r in kernel["passes"] if r["pass"] == "tritongpu-assign-latencies")
    edited = tmp_path / lat["file"]
    edited.write_text((tmp_path / kernel["folder"] / lat["file"]).read_text().replace("tt.latency = 2", "tt.latency = 1"))
    run = _run_from(script, edited)
    assert run["status"] == "ok" and run["compile"]["shared"] < 98304, run.get("message")


def test_passes_of_a_level_file_are_the_stages_below_it(recorded):
    script, report = recorded
    (kernel,) = report["kernels"]
    original = script.parent / ".workbench" / "matmul" / f"matmul_kernel-{kernel['spec']}" / "original"
    proc = run_cli("passes", str(original / "matmul_kernel.ttgir"), "--json")
    assert proc.returncode == 0, proc.stderr
    (level,) = json.loads(proc.stdout)["kernels"]
    assert level["folder"] == str(original / "passes")
    assert {r["stage"] for r in level["passes"]} == {"llir"} and level["passes"][0]["pass"] == "input"
    full = [r["pass"] for r in kernel["passes"] if r["stage"] == "llir"]
    assert [r["pass"] for r in level["passes"][1:]] == full


CHECKS_BETWEEN = '''
import torch
import triton
import triton.language as tl

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@triton.jit
def double_kernel(x_ptr, out_ptr, BLOCK: tl.constexpr):
    o = tl.arange(0, BLOCK)
    tl.store(out_ptr + o, tl.load(x_ptr + o) * 2)


@triton.jit
def negate_kernel(x_ptr, out_ptr, BLOCK: tl.constexpr):
    o = tl.arange(0, BLOCK)
    tl.store(out_ptr + o, -tl.load(x_ptr + o))


x = torch.arange(16, dtype=torch.float32, device=DEVICE)
doubled = torch.zeros_like(x)
double_kernel[(1,)](x, doubled, BLOCK=16)
assert torch.equal(doubled, x * 2), "double_kernel computed something else"
negate_kernel[(1,)](doubled, x, BLOCK=16)
'''


def test_passes_interpret_runs_the_script_past_its_checks_to_the_second_kernel(tmp_path):
    """Issue 27 point 9: `passes` had no --interpret, so without a GPU a script that checks its
    results between launches stopped at the check and its second kernel was never recorded."""
    import torch
    script = tmp_path / "checks_between.py"
    script.write_text(CHECKS_BETWEEN)
    out = tmp_path / "passes"
    if not torch.cuda.is_available():   # compiled only, the check fails: one kernel, and the way out named
        proc = run_cli("passes", str(script), "--stage", "ttir", "--out", str(out), "--json")
        assert proc.returncode == 0, proc.stderr
        assert [k["kernel"] for k in json.loads(proc.stdout)["kernels"]] == ["double_kernel"]
        assert "double_kernel computed something else" in proc.stderr and "--interpret" in proc.stderr
    proc = run_cli("passes", str(script), "--stage", "ttir", "--out", str(out / "interpreted"), "--json",
                   "--interpret")
    assert proc.returncode == 0, proc.stderr
    kernels = json.loads(proc.stdout)["kernels"]
    assert [k["kernel"] for k in kernels] == ["double_kernel", "negate_kernel"]
    assert all(k["passes"] and {r["stage"] for r in k["passes"]} == {"ttir"} for k in kernels)
    assert (out / "interpreted" / f"negate_kernel-{kernels[1]['spec']}" / "00-ttir-input.mlir").is_file()

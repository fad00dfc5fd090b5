"""``workbench profile`` on the CPU: the real command, the real export and its ``run.py
--profile`` (in Triton's interpreter), under a fake ``ncu`` (tests/fake_ncu.py) that fails as
the real one does, or answers with the real H200 pages of the matmul example. The parsing
itself is tests/profile/test_profile.py; the real ncu, tests/profile/test_gpu_profile.py."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from helpers import ROOT, EXAMPLES, has_cuda, run_cli

import fake_ncu


@pytest.fixture(scope="module")
def matmul_export(tmp_path_factory) -> Path:
    """The matmul example's original, exported (captured in the interpreter on the CPU)."""
    root = tmp_path_factory.mktemp("profile")
    script = root / "matmul.py"
    shutil.copyfile(EXAMPLES / "matmul.py", script)
    out = root / "export"
    proc = run_cli("export", str(script), "--kernel", "matmul_kernel", "--version", "original", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def _profile(folder: Path, tmp_path: Path, mode: str, *extra: str):
    env = fake_ncu.install(tmp_path / "bin", mode)
    return run_cli("profile", str(folder), *extra, env=env)


def test_without_ncu_one_line_says_where_to_get_it(tmp_path):
    script = tmp_path / "matmul.py"
    shutil.copyfile(EXAMPLES / "matmul.py", script)
    proc = run_cli("profile", str(script), "--kernel", "matmul_kernel", env={"PATH": str(tmp_path / "empty"),
                                                                            "WORKBENCH_NCU": ""})
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"{script}: error: Nsight Compute's ncu is not on PATH (it comes with the CUDA toolkit, e.g. "
        "/usr/local/cuda/bin/ncu; or name it with WORKBENCH_NCU)"]
    assert proc.stdout == ""


@pytest.mark.parametrize("mode, sentence", [
    ("perm", "ncu may not read this GPU's performance counters (ERR_NVGPUCTRPERM): run it as root, or let every user "
             "profile (the nvidia module's NVreg_RestrictProfilingToAdminUsers=0; "
             "https://developer.nvidia.com/ERR_NVGPUCTRPERM)"),
    ("nokernel", "ncu profiled no launch of matmul_kernel: the replay did not launch it (see the replay's output "
                 "above)"),
    ("replayfail", 'ncu could not replay matmul_kernel: Failed to profile "matmul_kernel" in process 4242'),
])
def test_an_ncu_failure_is_one_line_at_the_version_file(matmul_export, tmp_path, mode, sentence):
    proc = _profile(matmul_export, tmp_path, mode)
    assert proc.returncode == 2, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ": error: " in ln]
    assert errors == [f"{matmul_export / 'matmul_kernel.py'}: error: {sentence}"]
    assert "Traceback" not in proc.stderr


def test_a_profile_of_an_export_reads_the_report_back(matmul_export, tmp_path):
    """The replay ran once (run.py --profile) under the fake ncu, whose report pages are the real
    H200 ones of this very kernel: figures, roofline and hot lines on every level, as JSON."""
    proc = _profile(matmul_export, tmp_path, "ok", "--json", "--flops", "2*M*N*K")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    p = out["profiles"]["original"]
    assert p["duration_us"] == pytest.approx(5.472) and p["registers"] == 109
    assert p["roofline"]["flops"] == 2 * 256 ** 3 and p["roofline"]["flops_source"] == "--flops 2*M*N*K"
    assert p["hot"]["matched"] == 672 and set(p["hot"]["levels"]) == {"sass", "ptx", "llir", "ttgir", "ttir",
                                                                       "python"}
    assert (matmul_export / "profile" / "raw.csv").is_file() and p["report"].endswith("kernel.ncu-rep")
    assert p["ncu_passes"] == 9 and p["ncu_seconds"] > 0  # the fake's "- 9 passes" line, read back
    assert out["table"][0] == {"figure": "duration", "original": "5.47 us"}
    assert p["scopes"] == {"scopes": [], "note": "matmul_kernel opens no proton scope (pl.enter_scope(\"name\") or "
                                                 "pl.scope(\"name\") in the kernel): no intra-kernel timing"}


def test_the_text_report_has_the_table_the_roofline_and_hot_lines(matmul_export, tmp_path):
    proc = _profile(matmul_export, tmp_path, "ok")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "matmul_kernel on NVIDIA H200, grid (4, 1, 1), block (256, 1, 1)"
    assert any(ln.split()[:3] == ["duration", "5.47", "us"] for ln in lines)
    assert any(ln.startswith("roofline original: 3.355e+07 FLOP (counted by ncu, fp16)") and "memory-bound" in ln
               for ln in lines)
    assert any(ln.startswith("hot python lines original (samples): ") for ln in lines)


@pytest.mark.skipif(has_cuda(), reason="with a GPU the TTGIR version runs (tests/profile/test_gpu_profile.py, "
                    "benchmarks/profile_check.py profile both under the real ncu)")
def test_a_script_profile_exports_both_versions_and_a_replay_that_fails_says_why(tmp_path):
    """`workbench profile SCRIPT --version N`: the original and the num_stages-2 TTGIR edit of the
    GPU check script (made here as there: `workbench passes`, tt.latency 2 -> 1, `run --from`)
    are exported; the original's replay runs (the interpreter), the TTGIR one cannot without a
    GPU, and its own sentence comes back through ncu as one line."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from profile_check import stages_version
    script = tmp_path / "matmul.py"
    shutil.copyfile(EXAMPLES / "matmul.py", script)
    version = stages_version(script)
    assert version == "1"
    exports = script.parent / ".workbench" / "matmul"
    env = fake_ncu.install(tmp_path / "bin", "ok")
    proc = run_cli("profile", str(script), "--kernel", "matmul_kernel", "--version", version, env=env)
    assert proc.returncode == 2
    folder = next(exports.glob("exports/matmul_kernel-v1"))
    assert "tt.latency" not in (folder / "matmul_kernel.ttgir").read_text()
    assert "memdesc<2x128x64xf16" in (folder / "matmul_kernel.ttgir").read_text()  # two stages now
    errors = [ln for ln in proc.stderr.splitlines() if ": error: " in ln]
    assert errors == [f"{folder / 'matmul_kernel.ttgir'}: error: ncu profiled no launch of matmul_kernel: the replay "
                      "failed: this version starts from TTGIR: it runs on a GPU (cuda:90); without one only "
                      "Python-level exports run (in Triton's interpreter)"]
    assert (next(exports.glob("exports/matmul_kernel-original")) / "profile" / "raw.csv").is_file()

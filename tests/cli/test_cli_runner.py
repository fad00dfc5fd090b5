"""Issue 27: every CLI command goes through a runner, so the runner alone owns torch, triton and
CUDA. Each command runs for real in a process of its own that records, at its exit, which of
torch and triton it imported; what it printed is checked beside (the rest of each command's
output is pinned by its own tests: test_cli*, test_passes_cli, test_dump, test_export, ...)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import EXAMPLES, ROOT

import fake_ncu

# the CLI as `python -m workbench` runs it, plus an exit hook that writes the heavy modules it holds
_RECORDING = """
import atexit, json, runpy, sys
record = sys.argv[1]
def _record():
    with open(record, "w") as f:
        json.dump(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "triton")), f)
atexit.register(_record)
sys.argv = ["workbench", *sys.argv[2:]]
runpy.run_module("workbench", run_name="__main__", alter_sys=True)
"""


def _cli(tmp_path: Path, *args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, list[str]]:
    """The command's outcome and the torch/triton modules its own process imported."""
    record = tmp_path / f"modules-{len(list(tmp_path.glob('modules-*')))}.json"
    full_env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-c", _RECORDING, str(record), *args], capture_output=True, text=True,
                          env=full_env, timeout=600)
    return proc, json.loads(record.read_text())


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli-runner")
    for name in ("vector_add.py", "matmul.py"):
        shutil.copyfile(EXAMPLES / name, root / name)
    return root


def test_compile_a_script_and_a_level_file_in_a_runner(work, tmp_path):
    proc, heavy = _cli(tmp_path, "compile", str(work / "vector_add.py"), "--no-sass", "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "target cuda:90" and "add_kernel" in proc.stdout
    assert heavy == [], heavy
    ttgir = next((tmp_path / "o").glob("add_kernel-*")) / "add_kernel.ttgir"
    proc, heavy = _cli(tmp_path, "compile", str(ttgir), "--no-sass", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["level"] == "ttgir" and heavy == [], heavy


def test_passes_in_a_runner(work, tmp_path):
    proc, heavy = _cli(tmp_path, "passes", str(work / "vector_add.py"), "--stage", "ttir", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "target cuda:90" and "passes, " in proc.stdout.splitlines()[-1]
    assert list((tmp_path / next(p.name for p in tmp_path.glob("add_kernel-*"))).glob("*-ttir-*.mlir"))
    assert heavy == [], heavy


def test_dump_in_a_runner(work, tmp_path):
    proc, heavy = _cli(tmp_path, "dump", str(work / "vector_add.py"), "--level", "ttir", "--value", "%mask_3",
                       "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["level"] == "ttir" and report["results"][0]["dtype"] == "bool"
    assert heavy == [], heavy


def test_export_and_profile_in_a_runner(work, tmp_path):
    out = tmp_path / "export"
    proc, heavy = _cli(tmp_path, "export", str(work / "matmul.py"), "-k", "matmul_kernel", "--version", "original",
                       "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (f"exported matmul_kernel version original to {out}: run it with "
                                   f"`python {out / 'run.py'}`")
    assert (out / "launch.json").is_file() and heavy == [], heavy
    # the export's profile under the fake ncu (the matmul's real pages), read back
    proc, heavy = _cli(tmp_path, "profile", str(out), "--json", env=fake_ncu.install(tmp_path / "bin", "ok"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["profiles"]["original"]["registers"] == 109 and heavy == [], heavy

"""A launch from a level on a machine with no GPU compiles the level and says that running it
needs a GPU: not Triton's "0 active drivers" traceback, not the Python kernel run in the
interpreter in its place, not "raised ... before launching any kernel" / "launched no Triton kernel"."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import ROOT, run_cli

SCRIPT = ROOT / "tests" / "data" / "level_launch" / "scale.py"


def _python(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), **env))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("levels")
    assert _python("save", str(out)).returncode == 0
    return out


def _no_gpu():
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the level launches")


@pytest.mark.parametrize("interpret", ["0", "1"])
@pytest.mark.parametrize("level", ["ttgir", "ptx"])
def test_a_level_launch_in_plain_python_compiles_and_says_it_needs_a_gpu(folder, level, interpret):
    _no_gpu()
    proc = _python(f"{level}_dir", str(folder), TRITON_INTERPRET=interpret, WORKBENCH_QUIET="1")
    assert proc.returncode == 1 and "max err" not in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    said = "compiled for cuda:90; running it needs a GPU" if interpret == "0" else \
        "Triton's interpreter (TRITON_INTERPRET=1) runs Python kernels only; running a level needs a GPU"
    where = f"{folder}/scale_kernel.{level}" if interpret == "0" else str(folder)
    assert last == (f"workbench.model.diagnostics.LevelNeedsGPU: scale_kernel from {level.upper()} {where}: {said}, "
                    "and this machine has none"), proc.stderr
    assert "active drivers" not in proc.stderr


def test_a_level_launch_under_workbench_run_without_a_gpu_is_one_line(folder):
    _no_gpu()
    proc = run_cli("run", str(SCRIPT), "--", "ttgir_dir", str(folder))
    lines = [line for line in proc.stderr.splitlines() if not line.startswith(("running ", "workbench: "))]
    assert proc.returncode == 2 and lines == [
        f"{SCRIPT}:23: error: scale_kernel from TTGIR {folder}/scale_kernel.ttgir: compiled for cuda:90; running it "
        f"needs a GPU, and this machine has none"], proc.stderr

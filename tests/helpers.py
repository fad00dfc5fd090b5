"""What tests share that is not a fixture: paths, the CLI in a subprocess, the GPU and interpreter
checks, a Triton release's report. (tests/ is on sys.path: its conftest.py puts it there.)"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
EXAMPLES = ROOT / "examples"

def _interpreter_works() -> bool:
    import numpy
    import triton
    # Triton 3.6's interpreter breaks on numpy 2.4+ (triton-lang/triton#9171): loops over a
    # tensor bound raise "only 0-dimensional arrays can be converted"; requirements pin 2.3,
    # the GPU machine's image has 2.5
    return not (triton.__version__.startswith("3.6") and tuple(map(int, numpy.__version__.split(".")[:2])) >= (2, 4))


needs_interpreter = pytest.mark.skipif(not _interpreter_works(), reason="Triton 3.6's interpreter breaks on numpy >= 2.4 "
                                                                         "(triton-lang/triton#9171)")


def has_cuda() -> bool:
    try:
        import torch
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None):
    import subprocess
    full_env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=600)


def report_under_triton(version: str, check_script: str) -> dict:
    """Run ``tests/<check_script>`` in a fresh process with the Triton release unpacked under
    .triton-versions/<version> first on the path; its last stdout line is its JSON report.
    (Missing there: a failure in CI, which installs them, a skip elsewhere.)"""
    import json
    import subprocess
    folder = ROOT / ".triton-versions" / version
    if not (folder / "triton").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{folder} is missing: `make versions` installs it")
        pytest.skip(f"Triton {version} not unpacked in {folder} (run `make versions`)")
    env = dict(os.environ, PYTHONPATH=f"{folder}{os.pathsep}{ROOT}")
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / check_script)], capture_output=True, text=True,
                          env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["version"] == version
    return report

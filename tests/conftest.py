"""Shared fixtures. CPU tests by default; ``@pytest.mark.gpu`` ones skip where CUDA is absent."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def pytest_configure(config):
    # keep the developer's own cache out of tests
    os.environ.setdefault("WORKBENCH_CACHE_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"wb-test-cache-{os.getpid()}"))


def _interpreter_works() -> bool:
    import numpy
    import triton
    # Triton 3.6's interpreter breaks on numpy 2.4+ (triton-lang/triton#9171): loops over a
    # tensor bound raise "only 0-dimensional arrays can be converted"; requirements pin 2.3,
    # the GPU machine's image has 2.5
    return not (triton.__version__.startswith("3.6") and tuple(map(int, numpy.__version__.split(".")[:2])) >= (2, 4))


needs_interpreter = pytest.mark.skipif(not _interpreter_works(), reason="Triton 3.6's interpreter breaks on numpy >= 2.4 "
                                                                         "(triton-lang/triton#9171)")


def _has_cuda() -> bool:
    try:
        import torch
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def pytest_collection_modifyitems(config, items):
    if _has_cuda():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def captures():
    """Each example captured once per session (running a script costs a second or two)."""
    from workbench.runtime.capture.script import run_script
    cache: dict[str, object] = {}

    def get(name: str, mode: str = "compile-only"):
        key = f"{name}:{mode}"
        if key not in cache:
            cache[key] = run_script(EXAMPLES / f"{name}.py", mode=mode)
        return cache[key]
    return get


@pytest.fixture(scope="session")
def compiled(captures):
    """(capture spec, CompileResult) of an example for a target, compiled once per session."""
    from workbench.compiler.stages import Compiler
    compilers: dict[str, Compiler] = {}
    results: dict[tuple, object] = {}

    def get(name: str, target: str = "cuda:90", index: int = 0):
        key = (name, target, index)
        if key not in results:
            spec = captures(name).specs[index]
            compiler = compilers.setdefault(target, Compiler(target))
            results[key] = (spec, compiler.compile_python(spec.fn, spec.signature, spec.raw_constexprs,
                                                          spec.raw_attrs, spec.options, with_sass=True))
        return results[key]
    return get


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

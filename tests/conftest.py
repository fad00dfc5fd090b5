"""Shared fixtures. CPU tests by default; ``@pytest.mark.gpu`` ones skip where CUDA is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import EXAMPLES, has_cuda


def pytest_configure(config):
    # keep the developer's own cache out of tests
    os.environ.setdefault("WORKBENCH_CACHE_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"wb-test-cache-{os.getpid()}"))


def pytest_collection_modifyitems(config, items):
    if has_cuda():
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

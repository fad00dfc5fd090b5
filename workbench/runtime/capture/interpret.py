"""Launches run in Triton's interpreter (no GPU): the script's own, a replay's, and the kernels an
autotuner's hook launches around a config."""

from __future__ import annotations

import contextlib
from typing import Any

from workbench.compiler import compat, compat_interpreter
from workbench.model.diagnostics import WorkbenchError


def interpret_launch(fn, args, kwargs, grid, cache: dict[int, Any]) -> None:
    """Run one launch in Triton's interpreter (``cache`` keeps the interpreted functions).

    The script's kernels were decorated as JITFunctions (capture needs them), so inside the
    interpreted kernel a call to another ``@triton.jit`` helper must be interpreted too.
    """
    JITFunction = compat.jit_function_class()

    def interpreted(jit_fn):
        interp = cache.get(id(jit_fn))
        if interp is None:
            from triton.runtime.interpreter import InterpretedFunction
            interp = cache[id(jit_fn)] = InterpretedFunction(jit_fn.fn)
        return interp

    names = set(fn.arg_names)
    if hasattr(fn, "compile_without_gpu") and any(k.endswith("_dir") and k not in names for k in kwargs):
        raise fn.compile_without_gpu(args, kwargs)   # a launch from a level (workbench.jit): not Python to run
    kw = {k: v for k, v in kwargs.items() if k in names}
    args, kw = compat_interpreter.interpreter_args(fn, args, kw)
    # Triton's launcher takes grid[:3] (a grid of 4 or more); the interpreter refuses it
    grid3 = (lambda meta: tuple(grid(meta))[:3]) if callable(grid) else tuple(grid)[:3]
    def call(self, *a, **k):  # a helper called from inside an interpreted kernel
        interp = interpreted(self)
        if not compat_interpreter.interpreter_restores_language():  # the whole launch is in language_restored()
            return interp(*a, **k)
        from triton.runtime.interpreter import _patch_lang
        # InterpretedFunction.__call__ patches triton.language and never restores it, which
        # breaks every later real compile in this process: patch in a scope and restore.
        scope = _patch_lang(interp.fn)
        try:
            return interp.rewrite()(*a, **k)
        finally:
            scope.restore()

    saved_call = JITFunction.__call__
    JITFunction.__call__ = call
    try:
        with compat_interpreter.language_restored():
            interpreted(fn).run(*args, grid=grid3, warmup=False, **kw)
    except Exception as e:  # noqa: BLE001 - one the interpreter itself has here is said as such
        problem = compat_interpreter.interpreter_failure(e)
        if problem is None:
            raise
        code = getattr(getattr(fn, "fn", fn), "__code__", None)
        raise WorkbenchError.at(code.co_filename if code else "<kernel>", problem) from None
    finally:
        JITFunction.__call__ = saved_call


@contextlib.contextmanager
def launches_interpreted(cache: dict[int, Any]):
    """Kernels an autotuner's hook launches (a flush, a reset) while a config replays without a
    GPU: interpreted as the replayed kernel is, not compiled for a driver that is not there."""
    JITFunction = compat.jit_function_class()
    saved = JITFunction.run

    def run(self, *args, grid, warmup=False, **kwargs):
        if not warmup:
            interpret_launch(self, args, kwargs, grid, cache)

    JITFunction.run = run
    try:
        yield
    finally:
        JITFunction.run = saved

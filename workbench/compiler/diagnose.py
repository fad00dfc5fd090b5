"""A stage's failure on the user's input as a :class:`WorkbenchError`: at the file and line the
tool's log, MLIR's diagnostics or Triton's front end name."""

from __future__ import annotations

import inspect
from typing import Any

from workbench.compiler.sources import python_location
from workbench.model.diagnostics import (Diagnostic, WorkbenchError, parse_llvm_error, parse_mlir_diagnostics,
                                         parse_ptxas_log)


def diagnose(exc: BaseException, output: str, file: str, level: str,
              python_fn: Any = None) -> WorkbenchError:
    if isinstance(exc, WorkbenchError):
        return exc
    diags: list[Diagnostic] = []
    name = type(exc).__name__
    if name == "PTXASError" or "ptxas" in output or "ptxas" in str(exc):  # 3.0-3.2: a RuntimeError
        diags = parse_ptxas_log(str(exc) + "\n" + output, file)
    if not diags and "LLVM ERROR" in output:
        diags = parse_llvm_error(output, file)
    if not diags and is_front_end_error(exc):
        diags = [python_diagnostic(exc, python_fn, file)]
    if not diags:
        diags = [d for d in parse_mlir_diagnostics(output, file) if d.severity == "error"]
        diags = [Diagnostic(file if d.file.startswith("<") else d.file, d.line, d.col, d.message)
                 for d in diags]
    if not diags and name == "AssertionError" and level == "llir":  # make_ptx/make_amdgcn: one kernel
        diags = [Diagnostic(file, None, None, "LLVM made no single kernel of it: the LLIR must define "
                                              "exactly one kernel function")]
    if not diags:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else name
        diags = [Diagnostic(file, None, None, f"{name}: {msg}")]
    return WorkbenchError(diags, output)


def is_front_end_error(exc: BaseException) -> bool:
    return any(cls.__name__ == "CompilationError" for cls in type(exc).__mro__)


def python_diagnostic(exc: BaseException, fn: Any, file: str) -> Diagnostic:
    """A front-end error (``CompilationError``) at its line in the user's file.

    Triton numbers lines from the ``def`` of the function being compiled; when that is a
    helper the kernel calls, its own source is found among the kernel's module globals.
    """
    node = getattr(exc, "node", None)
    rel = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    message = str(getattr(exc, "error_message", None) or str(exc).strip().splitlines()[-1])
    loc = python_location(fn) if fn is not None else None
    src = getattr(exc, "src", None)
    if src is not None and fn is not None and getattr(fn, "src", None) != src:
        for value in vars(inspect.getmodule(getattr(fn, "fn", fn)) or object()).values():
            if getattr(value, "src", None) == src:
                loc = python_location(value) or loc
                break
    if loc is None or rel is None:
        return Diagnostic(file, None, None, message)
    return Diagnostic(loc["file"], loc["def_line"] + rel - 1, col + 1 if col is not None else None, message)

"""What differs between Triton versions in its interpreter (no GPU): where it is wrong, what it
takes, and the patching of ``triton.language`` it leaves behind (a part of :mod:`.compat`)."""

from __future__ import annotations

import contextlib
import inspect
import re
from typing import Any, Iterator

import triton

from workbench.compiler.compat import VERSION


def interpreter_problem() -> str | None:
    """Why Triton's interpreter gives wrong results here (None: it works). Triton 3.0 and 3.1's
    interpreter stores nothing under numpy 2 (seen with numpy 2.3: every output stays as it was)."""
    import numpy
    if VERSION < (3, 2, 0) and int(numpy.__version__.split(".")[0]) >= 2:
        return (f"Triton {triton.__version__}'s interpreter computes nothing under numpy {numpy.__version__}: "
                "Python-level runs give wrong outputs (install numpy<2, or Triton 3.2 or later)")
    return None


# What Triton's interpreter computes wrong, found in a kernel's TTIR: (what the verdict names,
# what the interpreter does instead, the TTIR op). Each seen with Triton 3.6.0 and numpy 2.3.5
# against torch on the CPU (tests/data/interpreter/inexact.py); the code is the same in 3.0 to
# 3.9. The interpreter holds bf16 and fp8 as their bit patterns in uint16 and uint8 arrays.
_TYPE = r"(?:tensor<[\dx]*)?(?P<{}>\w+)"
INTERPRETER_FAULTS = (
    ("bf16 dot", "it multiplies the raw bit patterns, triton-lang/triton#11584",
     r"\btt\.dot\b[^:]*:\s*tensor<[\dx]*bf16\b"),
    ("bf16 arithmetic", "it computes on the raw bit patterns",
     r"\barith\.(?:addf|subf|mulf|divf|remf|cmpf)\b[^:]*:\s*(?:tensor<[\dx]*)?bf16\b"),
    ("fp32 -> bf16 conversion", "it truncates, where the GPU rounds to nearest even",
     r"\barith\.truncf\b[^:]*:\s*(?:tensor<[\dx]*)?f32\b.*\bto\s+(?:tensor<[\dx]*)?bf16\b"),
    ("{src} -> bf16 conversion", "it takes the integer for the bit pattern: 1 becomes 9.2e-41",
     r"\barith\.[su]itofp\b[^:]*:\s*" + _TYPE.format("src") + r".*\bto\s+(?:tensor<[\dx]*)?bf16\b"),
    ("{src} -> {dst} conversion", "a rounding that carries into the exponent is lost: 1.9375 becomes 1.0, not 2.0",
     r"\btt\.fp_to_fp\b.*rounding = rtne\s*:\s*" + _TYPE.format("src") + r".*->\s*(?:tensor<[\dx]*)?(?P<dst>f8\w+)"),
)
_TYPE_NAMES = {"f64": "fp64", "f32": "fp32", "f16": "fp16", "bf16": "bf16", "f8E4M3FN": "fp8e4nv", "f8E5M2": "fp8e5",
               "f8E4M3FNUZ": "fp8e4b8", "f8E5M2FNUZ": "fp8e5b16", "f8E4M3B11FNUZ": "fp8e4b15"}


def interpreter_inexact(ttir: str) -> str | None:
    """What the verdict of a run in Triton's interpreter must say about this kernel (its TTIR):
    "interpreter: bf16 dot is not exact here (...)"; None where no op of it is known to be wrong."""
    found: dict[str, str] = {}
    for line in ttir.splitlines():
        line = re.sub(r"\s+loc\(.*$", "", line)
        for name, why, pattern in INTERPRETER_FAULTS:
            if m := re.search(pattern, line):
                names = {k: _TYPE_NAMES.get(v, re.sub(r"^i(\d+)$", r"int\1", v)) for k, v in m.groupdict().items()}
                found.setdefault(name.format(**names), why)
    if not found:
        return None
    return "interpreter: " + "; ".join(f"{name} is not exact here ({why})" for name, why in found.items())


def interpreter_args(fn, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """The arguments as Triton's interpreter takes them. Before 3.8 it holds a runtime (not
    constexpr) Python bool in 32 bits as an i1 and refuses it ("numpy data itemsize (32 bits)
    exceeds dtype primitive_bitwidth (1 bits)"): it gets the i1 scalar 3.8 makes of it."""
    if VERSION >= (3, 8, 0):
        return args, kwargs
    constexprs = {p.name for p in fn.params if p.is_constexpr}

    def value(name: str, v: Any) -> Any:
        if not isinstance(v, bool) or name in constexprs:
            return v
        import numpy
        import triton.language as tl
        from triton.runtime.interpreter import TensorHandle
        return tl.tensor(TensorHandle(numpy.array([v], dtype=numpy.bool_), tl.int1), tl.int1)

    return (tuple(value(n, v) for n, v in zip(fn.arg_names, args)) + tuple(args[len(fn.arg_names):]),
            {k: value(k, v) for k, v in kwargs.items()})


def interpreter_failure(exc: BaseException) -> str | None:
    """The sentence for an interpreted launch that failed because of the interpreter itself, not
    the kernel (None: the kernel's own error). Triton 3.6's interpreter under numpy >= 2.4 turns a
    one-element array into a Python int and numpy refuses (triton-lang/triton#9171)."""
    import numpy
    if "only 0-dimensional arrays can be converted to Python scalars" in str(exc):
        return (f"Triton {triton.__version__}'s interpreter fails on this kernel under numpy {numpy.__version__} "
                "(triton-lang/triton#9171): Python-level runs and dumps need numpy < 2.4 here; IR levels run "
                "on the GPU")
    return None


def interpreter_restores_language() -> bool:
    """3.6+ patch ``triton.language`` for the interpreter in a scope they restore; before,
    the patch stays and every later real compile in the process breaks."""
    from triton.runtime import interpreter
    return hasattr(interpreter, "_LangPatchScope")


@contextlib.contextmanager
def language_restored() -> Iterator[None]:
    """Put ``triton.language`` (its modules and tensor/dtype classes) back as it was after the
    block, where the interpreter would leave it patched."""
    if interpreter_restores_language():
        yield
        return
    import triton.language as tl
    spaces = [tl, tl.core, tl.math, tl.tensor, tl.dtype] + [getattr(tl, n) for n in ("standard", "semantic")
                                                           if inspect.ismodule(getattr(tl, n, None))]
    spaces += [c for c in (getattr(tl.core, "tensor_descriptor_base", None),) if c is not None]  # 3.4+
    saved = [(ns, dict(vars(ns))) for ns in spaces]
    try:
        yield
    finally:
        for ns, before in saved:
            now = vars(ns)
            for key in [k for k in now if k not in before]:
                delattr(ns, key)
            for key, value in before.items():
                if now.get(key) is not value:
                    setattr(ns, key, value)

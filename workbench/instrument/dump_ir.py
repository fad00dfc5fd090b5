"""Rewrite a level's text so that a launch writes chosen values into extra buffers: what every
dialect's rewrite shares (the buffers' layout, the program id, the store a thread makes).

The user's text is never changed: every rewrite returns a new string. One module per dialect:
:mod:`.dump_mlir` (TTIR, TTGIR), :mod:`.dump_llir` (LLIR), :mod:`.dump_ptx` (PTX).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from workbench.model.diagnostics import WorkbenchError


PREFIX = "wbd"  # prefix of every name the rewrite adds

# MLIR element type -> (torch dtype name, Triton signature type of a pointer to it, bytes)
ELEMENT = {
    "f32": ("float32", "*fp32", 4), "f16": ("float16", "*fp16", 2), "bf16": ("bfloat16", "*bf16", 2),
    "f64": ("float64", "*fp64", 8), "i8": ("int8", "*i8", 1), "i16": ("int16", "*i16", 2),
    "i32": ("int32", "*i32", 4), "i64": ("int64", "*i64", 8),
    "f8E4M3FN": ("float8_e4m3fn", "*fp8e4nv", 1), "f8E5M2": ("float8_e5m2", "*fp8e5", 1),
    "f8E4M3FNUZ": ("float8_e4m3fnuz", "*fp8e4b8", 1), "f8E5M2FNUZ": ("float8_e5m2fnuz", "*fp8e5b16", 1),
}


@dataclass
class LoopInfo:
    iv: str          # induction variable, with %
    lb: str
    step: str
    iv_type: str     # i32 | i64 | index
    line: int        # 0-based line of the scf.for


@dataclass
class DumpValue:
    """One value a rewrite dumps, and how its buffer is laid out."""

    spec: str                 # as the user wrote it
    name: str                 # SSA name with % (and #i), or the register / LLVM value
    line: int                 # 1-based line of the definition in the level text
    type: str                 # the value's type as the level spells it
    shape: list[int]          # [] for a scalar; per-thread dumps: [threads]
    element: str              # element type at the level (f32, i1, float, .f32, ...)
    stored: str               # element type stored (MLIR spelling: i1 -> i8, ptr -> i64)
    dtype: str                # torch dtype name of the buffer
    arg: str                  # name of the new argument / parameter
    encoding: str | None = None
    loop: LoopInfo | None = None
    per_thread: bool = False
    source: str = ""          # the defining line, stripped
    python_line: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec, "name": self.name, "line": self.line, "type": self.type, "shape": self.shape,
                "element": self.element, "dtype": self.dtype, "in_loop": self.loop is not None,
                "per_thread": self.per_thread, "source": self.source, "python_line": self.python_line}


@dataclass
class Rewrite:
    """The rewritten text and what a launch must pass for it."""

    level: str
    kernel: str
    original: str
    text: str
    values: list[DumpValue]
    pid: tuple[int, int, int] | str
    iterations: int
    hits_arg: str | None = None          # MLIR levels: the i32 counter buffer's argument
    threads: int = 0                     # LLIR/PTX: threads per program
    notes: list[str] = field(default_factory=list)

    @property
    def extra_signature(self) -> dict[str, str]:
        """Triton signature entries of the appended arguments, in order."""
        out = {v.arg.lstrip("%"): ELEMENT_SIG.get(v.dtype, "*i8") for v in self.values}
        if self.hits_arg:
            out[self.hits_arg.lstrip("%")] = "*i32"
        return out

    def buffer_shape(self, value: DumpValue, programs: int) -> list[int]:
        slots = programs if self.pid == "all" else 1
        if value.per_thread:
            return [slots, self.threads]
        iters = self.iterations if value.loop is not None else 1
        return [slots, iters, *value.shape]


ELEMENT_SIG = {v[0]: v[1] for v in ELEMENT.values()}
ELEMENT_SIG["bool"] = "*i8"


def parse_pid(text: str | tuple | list | None) -> tuple[int, int, int] | str:
    if text is None:
        return (0, 0, 0)
    if isinstance(text, int):
        text = [text]
    if isinstance(text, str):
        if text.strip().lower() == "all":
            return "all"
        parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            raise WorkbenchError.at("<pid>", f"bad program id {text!r}: expected X[,Y[,Z]] or 'all'") from None
    else:
        nums = [int(p) for p in text]
    if not 1 <= len(nums) <= 3 or any(n < 0 for n in nums):
        raise WorkbenchError.at("<pid>", f"bad program id {text!r}: expected X[,Y[,Z]] or 'all'")
    return tuple(nums + [0] * (3 - len(nums)))  # type: ignore[return-value]


def register_store(base: str, value: str, width: str, nbytes: int, pid, threads: int, dollar: bool) -> str:
    """Inline PTX: store ``value`` at base + (slot*threads + tid) * nbytes under a pid predicate."""
    b, v = ("$0", "$1") if dollar else (base, value)
    s = ["{", ".reg .u32 wbt, wbx, wby, wbz, wbs, wbn;", ".reg .u64 wbo, wba;", ".reg .pred wbp;",
         "mov.u32 wbt, %tid.x;", "mov.u32 wbx, %ctaid.x;", "mov.u32 wby, %ctaid.y;", "mov.u32 wbz, %ctaid.z;"]
    if pid == "all":
        s += ["mov.u32 wbn, %nctaid.y;", "mad.lo.u32 wbs, wbz, wbn, wby;", "mov.u32 wbn, %nctaid.x;",
              "mad.lo.u32 wbs, wbs, wbn, wbx;", "setp.eq.u32 wbp, wbt, wbt;"]
    else:
        s += [f"setp.eq.u32 wbp, wbx, {pid[0]};", f"setp.eq.and.u32 wbp, wby, {pid[1]}, wbp;",
              f"setp.eq.and.u32 wbp, wbz, {pid[2]}, wbp;", "mov.u32 wbs, 0;"]
    s += [f"mad.lo.u32 wbs, wbs, {threads}, wbt;", f"mul.wide.u32 wbo, wbs, {nbytes};", f"add.s64 wba, {b}, wbo;",
          f"@wbp st.global.{width} [wba], {v};", "}"]
    return " ".join(s)

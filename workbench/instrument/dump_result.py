"""What a dump gives back, and the one way a rewritten level is compiled and launched on the
GPU to get it: :class:`DumpResult` (one value) and :class:`DumpReport` (a run), shared by
:mod:`workbench.instrument.dump` (the CLI's and the app's dumps) and :mod:`workbench.instrument.watch`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.instrument.dump_ir import DumpValue, Rewrite
from workbench.model.diagnostics import WorkbenchError

COMPILED_ONLY = "compiled only: needs a GPU to run"


@dataclass
class DumpResult:
    """One dumped value. ``values`` has axes (program, iteration, *value shape); the
    program axis follows ``programs``, the iteration axis has ``iterations`` entries
    (1 outside loops). Per-thread dumps (LLIR/PTX) have the value shape [threads]."""

    name: str
    level: str
    line: int | None
    source: str
    type: str
    dtype: str
    shape: list[int]
    values: Any = None                    # numpy array, None when nothing ran
    programs: list[tuple[int, int, int]] = field(default_factory=list)
    iterations: int = 1
    in_loop: bool = False
    hits: list[int] = field(default_factory=list)  # per program: how many times the dump was reached
    per_thread: bool = False
    reference: str | None = None
    check: Any = None                     # verify.OutputCheck
    reference_error: str | None = None

    def squeezed(self):
        """The values without the program axis (one program) and iteration axis (no loop)."""
        v = self.values
        if v is None:
            return None
        if not self.in_loop:
            v = v[:, 0]
        if len(self.programs) == 1:
            v = v[0]
        return v

    def stats(self) -> dict[str, Any]:
        import numpy as np
        v = self.values
        if v is None or v.size == 0:
            return {}
        f = v.astype(np.float64)
        finite = np.isfinite(f)
        out = {"nan": int(np.isnan(f).sum()), "inf": int(np.isinf(f).sum())}
        if finite.any():
            fv = f[finite]
            out.update(min=float(fv.min()), max=float(fv.max()), mean=float(fv.mean()))
        else:
            out.update(min=None, max=None, mean=None)
        return out

    def to_json(self, with_values: bool = True, limit: int = 1 << 16) -> dict[str, Any]:
        out = {"name": self.name, "level": self.level, "line": self.line, "source": self.source, "type": self.type,
               "dtype": self.dtype, "shape": self.shape, "programs": [list(p) for p in self.programs],
               "iterations": self.iterations, "in_loop": self.in_loop, "hits": self.hits,
               "per_thread": self.per_thread, "stats": self.stats(), "reference": self.reference,
               "check": self.check.to_json() if self.check is not None else None,
               "reference_error": self.reference_error}
        if with_values and self.values is not None:
            sq = self.squeezed()
            out["values_shape"] = list(sq.shape)
            out["values"] = jsonable_array(sq) if sq.size <= limit else None
        return out


@dataclass
class DumpReport:
    script: str
    kernel: str
    level: str
    target: str
    pid: Any
    status: str                       # ran (<device>) | interpreted | compiled only: needs a GPU to run
    results: list[DumpResult] = field(default_factory=list)
    rewritten: str | None = None      # the rewritten level text (never written over the user's file)
    verified_for: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        return any(r.values is not None for r in self.results)

    def to_json(self, with_values: bool = True) -> dict[str, Any]:
        return {"script": self.script, "kernel": self.kernel, "level": self.level, "target": self.target,
                "pid": self.pid if isinstance(self.pid, str) else list(self.pid), "status": self.status,
                "verified_for": self.verified_for, "notes": self.notes,
                "results": [r.to_json(with_values) for r in self.results], "rewritten": self.rewritten}

    def format(self) -> str:
        pid = self.pid if isinstance(self.pid, str) else ",".join(map(str, self.pid))
        head = f"{self.kernel} [{self.level}] pid {pid} target {self.target}: {self.status}"
        if self.verified_for:
            head += f" (rewrite compiles for {', '.join(self.verified_for)})"
        rows = [("value", "line", "type", "shape", "hits", "min", "max", "mean", "nan", "inf", "reference")]
        for r in self.results:
            st = r.stats()
            shape = "x".join(map(str, r.squeezed().shape)) if r.values is not None else "x".join(map(str, r.shape))
            ref = "-"
            if r.check is not None:
                ref = ("ok" if r.check.ok else f"{r.check.mismatches} differ") + f" (max abs {r.check.max_abs:.3g})"
            elif r.reference_error:
                ref = "error: " + r.reference_error
            rows.append((r.name, str(r.line or "-"), _short(r.type), shape or "scalar",
                         ",".join(map(str, r.hits[:4])) + ("..." if len(r.hits) > 4 else "") if r.hits else "-",
                         _num(st.get("min")), _num(st.get("max")), _num(st.get("mean")),
                         str(st.get("nan", "-")), str(st.get("inf", "-")), ref))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [head] + ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        for r in self.results:
            if r.values is not None and r.values.size:
                lines.append(f"{r.name}: {_preview(r.squeezed())}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _short(t: str, n: int = 40) -> str:
    return t if len(t) <= n else t[:n - 3] + "..."


def _num(x) -> str:
    return "-" if x is None else f"{x:.4g}"


def _preview(v) -> str:
    import numpy as np
    with np.printoptions(threshold=12, edgeitems=3, precision=4, linewidth=160):
        return " ".join(str(v).split())


def jsonable_array(v) -> Any:
    import numpy as np
    if v.dtype == np.bool_:
        return v.tolist()
    f = v.astype(np.float64) if v.dtype.kind == "f" else v
    if v.dtype.kind == "f":
        return [None if not math.isfinite(x) else x for x in f.reshape(-1).tolist()] if f.ndim != 0 else \
            (None if not math.isfinite(float(f)) else float(f))
    return f.tolist()


# -- references --------------------------------------------------------------------------

def reference_values(expr: str, names: dict[str, Any]):
    """Evaluate a torch expression over the captured inputs (kernel argument names)."""
    import torch
    scope = {"__builtins__": __builtins__, "torch": torch, "math": math, **names}
    try:
        out = eval(compile(expr, "<reference>", "eval"), scope)  # noqa: S307 - globals, so comprehensions see names
    except Exception as e:  # noqa: BLE001 - the user's expression
        raise WorkbenchError.at("<reference>", f"the reference {expr!r} failed: {type(e).__name__}: {e}") from None
    if not isinstance(out, torch.Tensor):
        out = torch.tensor(out)
    return out


def attach_reference(result: DumpResult, expr: str | None, names: dict[str, Any], atol: float | None = None,
                     rtol: float | None = None) -> None:
    """Compare the dump with ``expr`` (same shape as :meth:`DumpResult.squeezed`, or same size)."""
    if not expr or result.values is None:
        return
    import torch
    from workbench.runtime.verify import check
    result.reference = expr
    try:
        ref = reference_values(expr, names)
    except WorkbenchError as e:
        result.reference_error = e.diagnostics[0].message
        return
    got = torch.from_numpy(result.squeezed().copy())
    if tuple(ref.shape) != tuple(got.shape):
        if ref.numel() == got.numel():
            ref = ref.reshape(got.shape)
        else:
            result.reference_error = (f"the reference has shape {list(ref.shape)}, the dump "
                                      f"{list(got.shape)}")
            return
    ref = ref.detach().cpu()
    if ref.dtype.is_floating_point and ref.dtype != got.dtype and got.dtype.is_floating_point:
        # compare at the dump's precision: a bf16 value against an fp32 expression, etc.
        ref = ref.to(got.dtype) if got.dtype in (torch.float16, torch.bfloat16) else ref.to(torch.float32)
    elif got.dtype == torch.bool or ref.dtype == torch.bool:
        ref, got = ref.bool(), got.bool()
    result.check = check(result.name, ref, got.to(ref.dtype) if ref.dtype != got.dtype else got, atol, rtol)


def arg_names_of(spec, snapshot) -> dict[str, Any]:
    """Kernel arguments by name, tensors as captured before the launch (copies)."""
    from workbench.runtime.launch import bound_values
    if snapshot is None:
        return {}
    args, kwargs, copies = snapshot.fresh_args()
    bound = bound_values(spec, args, kwargs)
    names = dict(zip(spec.fn.arg_names, bound))
    names.update(copies)
    return {k: getattr(v, "value", v) for k, v in names.items()}


# -- compiling and launching a rewrite ---------------------------------------------------

def compile_rewrite(compiler, rewrite: Rewrite, base_metadata: dict[str, Any], file: str = "<dump>"):
    """Compile the rewritten text from its level down (raises WorkbenchError with the text's line)."""
    try:
        return compiler.compile_level(rewrite.level, rewrite.text, base_metadata, file=file, with_sass=False)
    except WorkbenchError as e:
        e.detail = (e.detail + "\n\n--- rewritten text ---\n" + rewrite.text)[-200000:]
        raise


class _Src:
    """What Triton's launcher reads from an ASTSource, for the kernel plus the dump arguments."""

    def __init__(self, spec, rewrite: Rewrite) -> None:
        class _Fn:
            pass
        self.fn = _Fn()
        extra = rewrite.extra_signature
        self.fn.arg_names = list(spec.fn.arg_names) + list(extra)
        self.signature = {**dict(spec.signature), **extra}
        self.constants = dict(spec.raw_constexprs)
        self.attrs = dict(spec.raw_attrs)


def load_rewrite(result, spec, rewrite: Rewrite, folder: str | Path | None = None):
    """A Triton ``CompiledKernel`` for a compiled rewrite (its launcher knows the extra pointers)."""
    from workbench.runtime.launch import load
    return load(result, spec, folder, src=_Src(spec, rewrite))


def launch_dump(result, spec, snapshot, rewrite: Rewrite, reference: str | None = None,
                atol: float | None = None, rtol: float | None = None) -> list[DumpResult]:
    """Launch a compiled rewrite on the GPU with the snapshot's fresh inputs plus the dump
    buffers; returns one :class:`DumpResult` per dumped value."""
    import torch
    from workbench.runtime.launch import prepare
    run = prepare(spec, snapshot)
    grid = run.grid
    programs = grid[0] * grid[1] * grid[2]
    bufs = []
    for v in rewrite.values:
        shape = rewrite.buffer_shape(v, programs)
        dt = getattr(torch, "int8" if v.dtype == "bool" else v.dtype)
        if dt.is_floating_point:
            buf = torch.full(shape, float("nan"), dtype=torch.float32, device="cuda").to(dt)
        else:
            buf = torch.zeros(shape, dtype=dt, device="cuda")
        bufs.append(buf)
    extra = list(bufs)
    hits = None
    if rewrite.hits_arg:
        hits = torch.zeros((len(rewrite.values), programs if rewrite.pid == "all" else 1), dtype=torch.int32,
                           device="cuda")
        extra.append(hits)
    kernel = load_rewrite(result, spec, rewrite)
    kernel[grid](*run.bound, *extra)
    torch.cuda.synchronize()
    names = arg_names_of(spec, snapshot)
    out = []
    for k, (v, buf) in enumerate(zip(rewrite.values, bufs)):
        host = buf.cpu()
        if v.dtype == "bool":
            host = host.bool()
        elif host.dtype in (torch.bfloat16,) or "float8" in str(host.dtype):
            host = host.float()
        arr = host.numpy()
        progs = _program_list(rewrite.pid, grid)
        h = hits[k].cpu().tolist() if hits is not None else []
        res = _result_from(v, rewrite, arr, progs, h)
        attach_reference(res, reference, names, atol, rtol)
        out.append(res)
    return out


def _program_list(pid, grid) -> list[tuple[int, int, int]]:
    if pid != "all":
        return [tuple(pid)]
    return [(x, y, z) for z in range(grid[2]) for y in range(grid[1]) for x in range(grid[0])]


def _result_from(v: DumpValue, rewrite: Rewrite, arr, programs, hits) -> DumpResult:
    if v.per_thread:
        arr = arr.reshape(arr.shape[0], 1, arr.shape[1])
    in_loop = v.loop is not None
    if in_loop and hits and 0 < max(hits) < arr.shape[1]:
        arr = arr[:, :max(hits)]  # the iterations that ran, not every slot of the bound
    return DumpResult(name=v.spec, level=rewrite.level, line=v.line, source=v.source, type=v.type, dtype=v.dtype,
                      shape=v.shape, values=arr, programs=programs, iterations=arr.shape[1], in_loop=in_loop,
                      hits=hits, per_thread=v.per_thread)

"""Dump values from inside a kernel, at any level: results, launches, and the one call the CLI makes.

Levels (what each can dump is in :mod:`workbench.core.dump_ir`'s docstring):

- ``python``: the kernel's own ``workbench.language.dump(x)`` calls. Without a GPU,
  Triton's interpreter runs the script and ``dump`` records each value per program and
  per call (so per loop iteration). With a GPU, the calls compile to markers that become
  TTIR dumps (same machinery as ``ttir``), launched with the captured inputs.
- ``ttir`` / ``ttgir``: any SSA value by name or line, rewritten into a copy of the level's
  text; the rewrite is compiled for the target (and for sm_80 and sm_90 when asked) so a bad
  rewrite is an error before any launch.
- ``llir`` / ``ptx``: a register per thread.

Without a GPU, IR-level dumps stop after compiling: the report says "compiled only: needs a
GPU to run".
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import compat
from .dump_ir import ELEMENT_SIG, DumpValue, Rewrite, marker_values, parse_pid, rewrite_llir, rewrite_mlir, rewrite_ptx
from .errors import WorkbenchError

LEVELS = ("python", "ttir", "ttgir", "llir", "ptx")
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
            out["values"] = _jsonable_array(sq) if sq.size <= limit else None
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


def _jsonable_array(v) -> Any:
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
    from .verify import check
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
    from .launch import bound_values
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
    from .launch import load
    return load(result, spec, folder, src=_Src(spec, rewrite))


def launch_dump(result, spec, snapshot, rewrite: Rewrite, reference: str | None = None,
                atol: float | None = None, rtol: float | None = None) -> list[DumpResult]:
    """Launch a compiled rewrite on the GPU with the snapshot's fresh inputs plus the dump
    buffers; returns one :class:`DumpResult` per dumped value."""
    import torch
    from .launch import prepare
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


# -- the Python level under the interpreter -----------------------------------------------

def _interpret_python(script: str, spec_kernel: str, values: list[str], pid, iterations: int,
                      argv: list[str] | None, script_timeout: float | None = None):
    """Run the script in Triton's interpreter with ``dump`` recording; returns (capture, recorder)."""
    from .. import language as wl
    from .capture import DEFAULT_SNAPSHOT_LIMIT, run_script
    from triton.runtime import interpreter
    rec = wl.Recorder(spec_kernel)
    orig_run = interpreter.InterpretedFunction.run

    def run(self, *args, **kwargs):
        rec.launch += 1
        return orig_run(self, *args, **kwargs)
    interpreter.InterpretedFunction.run = run
    try:
        with wl.recording(rec):
            capture = run_script(script, argv=argv, mode="interpret", snapshot_limit=DEFAULT_SNAPSHOT_LIMIT,
                                 time_limit=script_timeout)
    finally:
        interpreter.InterpretedFunction.run = orig_run
    return capture, rec


def _python_sites(fn) -> dict[int, str]:
    """Lines of ``dump(...)`` calls in the kernel's source -> the dumped expression."""
    import ast
    import inspect
    import textwrap
    target = getattr(fn, "fn", fn)
    lines, first = inspect.getsourcelines(target)
    tree = ast.parse(textwrap.dedent("".join(lines)))
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name == "dump" and node.args:
                out[first + node.lineno - 1] = ast.unparse(node.args[0])
    return out


def _select_sites(sites: dict[int, str], values: list[str], file: str, line: int | None) -> list[int]:
    if not sites:
        raise WorkbenchError.at(file, "the kernel has no dump(...) call: name a variable to dump, add `from "
                                      "workbench.language import dump` and dump(x) where x is known, or dump at an "
                                      "IR level", line)
    if not values:
        return sorted(sites)
    chosen = []
    for v in values:
        s = v.strip()
        m = s.removeprefix("line:").removeprefix(":")
        if m.isdigit() and int(m) in sites:
            chosen.append(int(m))
            continue
        hits = [ln for ln, expr in sorted(sites.items()) if expr == s]
        if not hits:
            known = ", ".join(f"{expr} (line {ln})" for ln, expr in sorted(sites.items()))
            raise WorkbenchError.at(file, f"no dump({s}) in the kernel; its dumps: {known}", line)
        chosen.extend(hits)
    return chosen


def _dump_python_interpreted(script, spec_kernel, values, pid, iterations, reference, argv, atol, rtol, report,
                             script_timeout=None):
    import numpy as np
    capture, rec = _interpret_python(script, spec_kernel, values, pid, iterations, argv, script_timeout)
    specs = capture.select(spec_kernel)
    if not specs:
        _no_kernel(capture, spec_kernel, script)
    spec = specs[0]
    if capture.error is not None and capture.error.severity == "error" and not rec.values:
        # the interpreter failed inside the kernel: "never reached" would be false
        raise WorkbenchError([capture.error])
    sites = _python_sites(spec.fn)
    variables = [v for v in values if not _names_site(sites, v)]
    snapshot = capture.snapshots.get(spec.spec_id)
    names = arg_names_of(spec, snapshot)
    if variables:
        _dump_variables(spec, snapshot, variables, pid, iterations, reference, names, atol, rtol, report)
    wanted = [v for v in values if v not in variables]
    chosen = _select_sites(sites, wanted, spec.file or script, spec.line) if wanted or not values else []
    for line in chosen:
        per_pid = rec.values.get((spec.kernel, line), {})
        if pid == "all":
            programs = sorted(per_pid, key=lambda p: (p[2], p[1], p[0]))
        else:
            programs = [tuple(pid)] if tuple(pid) in per_pid else []
        call = rec.calls.get((spec.kernel, line), {})
        if not programs:
            res = DumpResult(name=sites[line], level="python", line=line, source=f"dump({sites[line]})", type="",
                             dtype="", shape=[], values=None)
            report.notes.append(f"dump({sites[line]}) at line {line} was never reached by program "
                                f"{'any' if pid == 'all' else ','.join(map(str, pid))}")
            report.results.append(res)
            continue
        counts = [len(per_pid[p]) for p in programs]
        n = min(max(counts), iterations)
        sample = per_pid[programs[0]][0]
        arr = np.zeros((len(programs), n, *sample.shape), dtype=sample.dtype)
        if arr.dtype.kind == "f":
            arr[:] = np.nan
        for i, p in enumerate(programs):
            for j, val in enumerate(per_pid[p][:n]):
                arr[i, j] = val
        res = DumpResult(name=sites[line], level="python", line=line, source=f"dump({sites[line]})",
                         type=str(call.get("dtype", sample.dtype)), dtype=str(sample.dtype),
                         shape=list(sample.shape), values=arr, programs=programs, iterations=n,
                         in_loop=max(counts) > 1, hits=counts)
        attach_reference(res, reference, names, atol, rtol)
        report.results.append(res)
    if any(c > iterations for r in report.results for c in r.hits):
        report.notes.append(f"only the first {iterations} calls per program are kept (--iterations)")
    return report


def _names_site(sites: dict[int, str], value: str) -> bool:
    """Whether ``value`` names a dump() call (its expression, or its line): else a variable."""
    s = value.strip()
    line = s.removeprefix("line:").removeprefix(":")
    return s in sites.values() or (line.isdigit() and int(line) in sites)


def _dump_variables(spec, snapshot, values, pid, iterations, reference, names, atol, rtol, report) -> None:
    """Variables with no dump() call, read as the app's watches read them (:func:`watch.python_values`)."""
    from . import watch
    if snapshot is None:
        raise WorkbenchError.at(spec.file or report.script, f"the inputs of {spec.kernel} were not kept (over the "
                                "snapshot limit): its variables cannot be read", spec.line)
    for res in watch.python_values(spec, snapshot, values, pid, iterations):
        if res.values is None:
            report.notes.append(f"{res.name} at line {res.line} was never reached by program "
                                f"{'any' if pid == 'all' else ','.join(map(str, pid))}")
        attach_reference(res, reference, names, atol, rtol)
        report.results.append(res)


def _trace_variable(fn, kernel: str, name: str, line: int, pid: tuple[int, int, int], run) -> list[Any]:
    """Run ``run()`` (an interpreted launch of ``fn``) and return ``name``'s value each time
    ``line`` of the kernel has run in program ``pid``: a variable dumped with no dump() call."""
    from .. import language as wl
    code = getattr(fn, "fn", fn).__code__
    seen: list[Any] = []

    def local(frame, event, arg):
        if state["last"] == line and (event == "return" or frame.f_lineno != line):
            if name in frame.f_locals:
                seen.append(wl.interpreted_value(frame.f_locals[name]))
        state["last"] = frame.f_lineno if event == "line" else None
        return local

    def calls(frame, event, arg):
        if event != "call" or frame.f_code.co_name != kernel or frame.f_code.co_filename != code.co_filename:
            return None
        if wl.interpreted_program() != tuple(pid):
            return None
        state["last"] = None
        return local

    state: dict[str, Any] = {"last": None}
    import sys
    old = sys.gettrace()
    sys.settrace(calls)
    try:
        run()
    finally:
        sys.settrace(old)
    return seen


def dump_python_variable(session, state, name: str, line: int, pid: Any = (0, 0, 0), iterations: int = 16,
                         reference: str | None = None, atol: float | None = None,
                         rtol: float | None = None) -> DumpReport:
    """No GPU: a Python variable of the kernel as edit/ has it (no dump() call needed), after
    ``line`` has run, through Triton's interpreter on the captured inputs."""
    import numpy as np
    from . import launch
    spec = state.spec
    pid = parse_pid(pid) if not (isinstance(pid, (tuple, list)) and len(pid) == 3) else tuple(pid)
    path = session.workspace.edit(spec.folder_name) / f"{spec.kernel}.py"
    report = DumpReport(script=str(session.script), kernel=spec.kernel, level="python",
                        target="interpreter", pid=pid, status="interpreted")
    if state.snapshot is None:
        raise WorkbenchError.at(str(path), "no inputs were captured for this kernel: nothing to run", line)
    original = state.versions["original"]
    same = path.is_file() and path.read_text() == (original.result.levels.get("python") if original.result else None)
    fn = original.fn if same or not path.is_file() else session._edited_function(spec, path)
    seen = _trace_variable(fn, spec.kernel, name, line, pid,
                           lambda: launch.interpret(fn, spec, state.snapshot))
    res = DumpResult(name=name, level="python", line=line, source=f"{name} after line {line}", type="", dtype="",
                     shape=[], values=None, programs=[pid] if seen else [], iterations=min(len(seen), iterations),
                     in_loop=len(seen) > 1, hits=[len(seen)] if seen else [])
    if not seen:
        report.notes.append(f"{name} has no value after line {line} in program {','.join(map(str, pid))} "
                            f"(not a variable there, or the line never ran in that program)")
    else:
        kept = [arr for arr, _ in seen[:iterations]]
        res.values = np.stack(kept)[None]
        res.type, res.dtype, res.shape = seen[0][1], str(kept[0].dtype), list(kept[0].shape)
        attach_reference(res, reference, arg_names_of(spec, state.snapshot), atol, rtol)
        if len(seen) > iterations:
            report.notes.append(f"only the first {iterations} of {len(seen)} values are kept (a loop)")
    report.results.append(res)
    return report


def _no_kernel(capture, kernel, script):
    if capture.error is not None and capture.error.severity == "error":
        raise WorkbenchError([capture.error])
    names = sorted({s.kernel for s in capture.specs})
    raise WorkbenchError.at(script, f"no launch of kernel {kernel!r}" +
                            (f"; the script launched {', '.join(names)}" if names else "; the script launched none"))


# -- the one call the CLI makes -----------------------------------------------------------

def dump_script(script: str | Path, kernel: str | None, level: str, values: list[str], pid: Any = (0, 0, 0),
                reference: str | None = None, target: str | None = None, iterations: int = 16,
                level_file: str | Path | None = None, verify_targets: tuple[str, ...] = (),
                argv: list[str] | None = None, atol: float | None = None, rtol: float | None = None,
                mode: str = "auto", script_timeout: float | None = None) -> DumpReport:
    """Dump ``values`` of ``kernel`` at ``level`` for the first launch ``script`` makes.

    ``pid``: (x, y, z), "x,y,z" or "all". ``level_file``: dump from this (edited) level
    file instead of the level as compiled from the script; the file is only read.
    ``verify_targets``: also compile the rewrite for these targets. ``mode``: auto (GPU if
    there is one), gpu, cpu (interpreter / compile only) or compile (compile only, the
    Python level too: its dump() calls become TTIR dumps). ``script_timeout``: seconds each run
    of the script may take (see ``run_script``).
    """
    from .cache import StageCache
    from .capture import DEFAULT_SNAPSHOT_LIMIT, run_script
    from .pipeline import Compiler
    script = str(Path(script).resolve())
    if level not in LEVELS:
        raise WorkbenchError.at(script, f"unknown level {level!r}: expected one of {', '.join(LEVELS)}")
    pid = parse_pid(pid) if not (isinstance(pid, tuple) and len(pid) == 3) else pid
    hip = bool(target) and compat.is_hip(compat.parse_target(target))  # no ROCm launch path: compiled only
    gpu = compat.has_gpu() and mode not in ("cpu", "compile") and not hip
    if mode == "gpu" and not gpu:
        raise WorkbenchError.at(script, "no GPU here: IR-level dumps can only be compiled")
    tgt = target or (compat.target_str(compat.current_gpu_target()) if gpu else "cuda:90")
    report = DumpReport(script=script, kernel=kernel or "", level=level, target=tgt, pid=pid, status="")
    if level == "python" and not gpu and mode != "compile":
        report.status = "interpreted"
        spec_kernel = kernel
        if spec_kernel is None:
            cap = run_script(script, argv=argv, mode="compile-only", time_limit=script_timeout)
            if not cap.specs:
                _no_kernel(cap, "<any>", script)
            spec_kernel = cap.specs[0].kernel
        report.kernel = spec_kernel
        return _dump_python_interpreted(script, spec_kernel, values, pid, iterations, reference, argv, atol, rtol,
                                        report, script_timeout)
    capture = run_script(script, argv=argv, target=tgt, mode="gpu" if gpu else "compile-only",
                         snapshot_limit=DEFAULT_SNAPSHOT_LIMIT if gpu else 0, time_limit=script_timeout)
    specs = [s for s in capture.select(kernel) if not s.autotune or s.chosen] or capture.select(kernel)
    if not specs:
        _no_kernel(capture, kernel or "<any>", script)
    spec = specs[0]
    report.kernel = spec.kernel
    variables = [v for v in values if not _names_site(_python_sites(spec.fn), v)] if level == "python" and gpu else []
    if variables:   # read in the interpreter, as a watch reads them, on the inputs the GPU run captured
        if len(variables) < len(values):
            raise WorkbenchError.at(spec.file or script, "dump() calls and variables are dumped apart on a GPU: "
                                                         "ask for each in a run of its own", spec.line)
        report.status = "interpreted"
        snapshot = capture.snapshots.get(spec.spec_id)
        _dump_variables(spec, snapshot, variables, pid, iterations, reference, arg_names_of(spec, snapshot), atol,
                        rtol, report)
        return report
    compiler = Compiler(tgt, cache=StageCache(None))
    if level == "python":
        from .. import language as wl
        with wl.marking() as markers:
            base = compiler.compile_spec(spec, with_sass=False)
        found = marker_values(base.levels["ttir"])
        if not found:
            raise WorkbenchError.at(spec.file or script, "the kernel has no dump(...) call reached by the compiler",
                                    spec.line)
        sites = _python_sites(spec.fn)
        wanted = set(_select_sites(sites, values, spec.file or script, spec.line))
        py_lines = _marker_lines(base.levels["ttir"], [i for _, _, i in found], spec.file)
        chosen = [(f, py_lines.get(f[2])) for f in found if py_lines.get(f[2]) in wanted or not py_lines.get(f[2])]
        names = [name for (_, name, _), _ in chosen]
        at = {k: line for k, ((_, _, line), _) in enumerate(chosen)}
        rewrite = rewrite_mlir(base.levels["ttir"], "ttir", names, pid, iterations, file="<ttir>", at_lines=at)
        # markers not chosen are removed too
        drop = {line for _, _, line in found} - set(at.values())
        if drop:
            kept = rewrite.text.split("\n")
            rewrite.text = "\n".join(r for r in kept if not any(f"wbdmarker{m}" in r for m, _, ln in found
                                                                  if ln in drop))
        for (marker, _, _), v in zip([c[0] for c in chosen], rewrite.values):
            v.python_line = py_lines.get(marker_line_of(found, marker))
            v.spec = sites.get(v.python_line, v.spec) if v.python_line else v.spec
            opts = markers[marker] if marker < len(markers) else {}
            if opts.get("pid") is not None:
                report.notes.append(f"dump({v.spec}) names pid={opts['pid']}: the --pid option chooses the program")
        metadata = base.metadata
        text_level = "ttir"
    else:
        base = compiler.compile_spec(spec, with_sass=False)
        text = Path(level_file).read_text() if level_file else base.levels[level]
        file = str(level_file) if level_file else f"{spec.kernel}{Path('x').with_suffix('.' + level).suffix}"
        if level in ("ttir", "ttgir"):
            rewrite = rewrite_mlir(text, level, values, pid, iterations, file=file)
        elif level == "llir":
            rewrite = rewrite_llir(text, values, pid, threads=int(base.metadata["num_warps"]) * 32, file=file)
        else:
            rewrite = rewrite_ptx(text, values, pid, threads=int(base.metadata["num_warps"]) * 32, file=file)
        metadata = base.metadata
        text_level = level
    report.rewritten = rewrite.text
    report.notes.extend(rewrite.notes)
    compiled = compile_rewrite(compiler, rewrite, metadata, file=f"<rewritten {text_level}>")
    report.verified_for.append(tgt)
    for other in verify_targets:
        if compat.target_str(compat.parse_target(other)) == tgt or text_level in ("llir", "ptx"):
            continue  # LLIR/PTX are target-specific text: they compile for their own target only
        ob = Compiler(other, cache=StageCache(None))
        if level == "python" or text_level == "ttir":
            compile_rewrite(ob, rewrite, metadata)
        else:
            obase = ob.compile_spec(spec, with_sass=False)
            try:
                orw = rewrite_mlir(obase.levels[text_level], text_level, [v.name for v in rewrite.values], pid,
                                   iterations) if not level_file else None
            except WorkbenchError:
                report.notes.append(f"not verified for {other}: its {text_level.upper()} names values differently")
                continue
            if orw is not None:
                compile_rewrite(ob, orw, obase.metadata)
        report.verified_for.append(compat.target_str(compat.parse_target(other)))
    if not gpu:
        report.status = f"compiled only: {tgt} needs a ROCm GPU (AMD) to run" if hip else COMPILED_ONLY
        for v in rewrite.values:
            report.results.append(DumpResult(name=v.spec, level=level, line=v.python_line or v.line, source=v.source,
                                             type=v.type, dtype=v.dtype, shape=v.shape, in_loop=v.loop is not None,
                                             per_thread=v.per_thread))
        return report
    snapshot = capture.snapshots.get(spec.spec_id)
    if snapshot is None:
        raise WorkbenchError.at(script, f"the inputs of {spec.kernel} were not kept (over the snapshot limit)")
    results = launch_dump(compiled, spec, snapshot, rewrite, reference, atol, rtol)
    for r, v in zip(results, rewrite.values):
        r.level = level
        if v.python_line:
            r.line = v.python_line
    report.results = results
    import torch
    report.status = f"ran ({torch.cuda.get_device_name()})"
    return report


def marker_line_of(found, marker: int) -> int:
    return next(line for m, _, line in found if m == marker)


def _marker_lines(ttir: str, lines: list[int], file: str | None) -> dict[int, int]:
    """0-based TTIR line -> Python line, from each op's ``loc(#locN)``."""
    import re
    text_lines = ttir.split("\n")
    aliases = {}
    for row in text_lines:
        m = re.match(r"^(#loc\d*)\s*=\s*loc\((.*)\)\s*$", row)
        if m:
            aliases[m.group(1)] = m.group(2)

    def resolve(ref: str, depth: int = 0) -> int | None:
        if depth > 20:
            return None
        body = aliases.get(ref, ref)
        m = re.search(r'"([^"]+)":(\d+):\d+', body)
        direct = re.match(r'^"([^"]+)":(\d+):\d+', body)
        if direct:
            return int(direct.group(2))
        refs = re.findall(r"#loc\d*", body)
        if body.startswith("callsite("):  # callee at caller: the caller is in the kernel
            refs = refs[1:] + refs[:1]
        for r in refs:
            got = resolve(r, depth + 1)
            if got is not None:
                return got
        return int(m.group(2)) if m else None

    out = {}
    for i in lines:
        m = re.search(r"loc\((#loc\d*)\)\s*$", text_lines[i])
        if m:
            out[i] = resolve(m.group(1))
    return out


def report_json(report: DumpReport) -> str:
    return json.dumps(report.to_json(), indent=2, default=str)


def serve(session, progress=None, kernel: str = "", level: str = "ttgir", values: list[str] | None = None,
          pid: Any = (0, 0, 0), iterations: int = 16, reference: str | None = None, version: str | None = None,
          atol: float | None = None, rtol: float | None = None, show_rewrite: bool = False,
          line: int | None = None) -> dict[str, Any]:
    """The runner's ``dump`` request, on a script already open in ``session``: the level text
    comes from the kernel's edit/ folder (what the user sees), or a saved version; the values
    go into ``dumps/`` beside it as .npy files, with a preview inline. ``line`` with a Python
    variable's name and no GPU: that variable after that line, through the interpreter."""
    import numpy as np
    values = list(values or [])
    state = session.state(kernel)
    spec = state.spec
    if level == "python" and line is not None and not session.gpu and len(values) == 1:
        report = dump_python_variable(session, state, values[0], int(line), pid, iterations, reference, atol, rtol)
    elif level == "python":  # dump() calls in the kernel's source: the script-level path
        report = dump_script(session.script, spec.kernel, level, values, pid, reference, argv=session.argv,
                             iterations=iterations, atol=atol, rtol=rtol,
                             mode="auto" if session.gpu else "cpu")
    else:
        pid = parse_pid(pid) if not (isinstance(pid, (tuple, list)) and len(pid) == 3) else tuple(pid)
        original = state.versions["original"].result
        folder = (session.workspace.version(spec.folder_name, int(version)).folder if version not in (None, "edit")
                  else session.workspace.edit(spec.folder_name))
        path = folder / f"{spec.stem}.{level}"
        text = path.read_text() if path.is_file() else original.levels[level]
        threads = int(original.metadata["num_warps"]) * 32
        if level in ("ttir", "ttgir"):
            rewrite = rewrite_mlir(text, level, values, pid, iterations, file=str(path))
        elif level == "llir":
            rewrite = rewrite_llir(text, values, pid, threads=threads, file=str(path))
        else:
            rewrite = rewrite_ptx(text, values, pid, threads=threads, file=str(path))
        if progress:
            progress("compile", {"kernel": spec.kernel, "level": level, "file": str(path)})
        compiled = compile_rewrite(session.compiler, rewrite, original.metadata, file=f"<rewritten {level}>")
        report = DumpReport(script=str(session.script), kernel=spec.kernel, level=level,
                            target=compat.target_str(session.compiler.target), pid=pid, status=COMPILED_ONLY,
                            rewritten=rewrite.text, verified_for=[compat.target_str(session.compiler.target)],
                            notes=list(rewrite.notes))
        if session.gpu and state.snapshot is not None:
            if progress:
                progress("launch", {"kernel": spec.kernel, "version": version or "edit", "level": level})
            report.results = launch_dump(compiled, spec, state.snapshot, rewrite, reference, atol, rtol)
            import torch
            report.status = f"ran ({torch.cuda.get_device_name()})"
        else:
            report.results = [DumpResult(name=v.spec, level=level, line=v.line, source=v.source, type=v.type,
                                         dtype=v.dtype, shape=v.shape, in_loop=v.loop is not None,
                                         per_thread=v.per_thread) for v in rewrite.values]
            if session.gpu:
                report.status = "compiled only: no inputs were captured for this kernel"
    out = report.to_json(with_values=True)
    if not show_rewrite:
        out["rewritten"] = None
    dumps = session.workspace.kernel_dir(spec.folder_name) / "dumps"
    for r, j in zip(report.results, out["results"]):
        if r.values is not None:
            dumps.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", r.name).strip("_") or "value"
            target = dumps / f"{level}-{name}.npy"
            np.save(target, r.squeezed())
            j["file"] = str(target)
    return out

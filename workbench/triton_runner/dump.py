"""triton-runner's ``dump_tensor=`` launches, done with the workbench's dumps.

Theirs: the kernel is recompiled with one more argument, the f32 ``dump_tensor``, and a store
of the dumped value, flattened and as f32, at ``dump_tensor[offset:]`` (``dump``: for the
program ``dump_grid``, default 0; ``dump_boundary``: the grid's last program; ``dump_grids``:
every program, at ``offset + pid_1d * numel`` with ``pid_1d = (x * ny + y) * nz + z``). At an
IR level, ``dump_value="%name"`` names the value (``ttir_dir=``/``ttgir_dir=``, program
``dump_grid``).

Ours: the Python kernel is compiled with :func:`workbench.language.dump`'s markers (their
``language.dump`` calls it, with their options), each marker becomes a TTIR dump
(:func:`workbench.instrument.dump_ir.rewrite_mlir`: a buffer of the value's own type per call,
and a counter of the times each program reached it), the rewrite is launched with the
kernel's arguments plus those buffers, and each value is then written into the user's
``dump_tensor`` where theirs would have stored it. An offset computed in the kernel is dumped
beside its value and read back. Inside a loop, theirs keeps the last iteration's store (each
overwrites the one before): ours keeps the first :data:`ITERATIONS` iterations and writes
them in order, so the last one written is the last iteration (a longer loop is said in a line).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.model.diagnostics import LevelNeedsGPU, WorkbenchError

ITERATIONS = 256   # iterations of a loop a dump inside it keeps (the buffer grows with it)
KEYWORDS = ("dump_tensor", "dump_value", "dump_grid")


@dataclass
class Site:
    """One dumped value and where theirs would store it."""

    kind: str                       # dump | dump_boundary | dump_grids | dump_value
    value: int                      # index of the value in the rewrite
    pid: Any                        # (x, y, z), or "all" (dump_grids)
    offset: int = 0                 # a constant offset ...
    offset_value: int | None = None  # ... or the index of the dumped offset
    python_line: int | None = None


@dataclass
class Prepared:
    """A compiled dump of one specialization: what a launch runs and how it places the values."""

    rewrite: Any
    compiled: Any
    spec: Any
    sites: list[Site]
    target: str
    kernel: Any = None                   # the loaded kernel (GPU)
    lines: list[str] = field(default_factory=list)   # triton-runner's "In dump mode" lines


class _Spec:
    def __init__(self, fn) -> None:
        self.fn, self.file, self.line = fn, None, None


def launch(fn, grid, args: tuple, kwargs: dict, level: tuple[str, Path] | None) -> Prepared:
    """A launch with triton-runner's dump keywords (``kwargs`` still holds them; ``level``: the
    level file the launch names, if any)."""
    from triton.runtime.driver import driver

    from workbench.compiler import compat
    from workbench.runtime.launch import bound_values, specialization_of
    from . import color_print
    dump_tensor = kwargs.pop("dump_tensor", None)
    dump_value, dump_grid = kwargs.pop("dump_value", None), kwargs.pop("dump_grid", None)
    where = _where(fn)
    if dump_tensor is None:
        raise WorkbenchError.at(where, "dump_value= and dump_grid= go with dump_tensor= (the buffer the value is "
                                       "written to)")
    import torch
    if dump_tensor.dtype != torch.float32:   # as theirs warns
        color_print.yellow_print(f"Warning: tensor dtype is {dump_tensor.dtype}, not torch.float32!")
    spec = specialization_of(_Spec(fn), args, kwargs, grid)
    bound = bound_values(spec, args, kwargs)
    named = dict(zip(spec.fn.arg_names, bound))
    g = tuple(int(x) for x in (grid(named) if callable(grid) else grid))
    g = (g + (1, 1, 1))[:3]
    try:
        target = compat.target_str(driver.active.get_current_target())
        has_driver = True
    except RuntimeError:   # no GPU, no stand-in: compile for the usual card, then say it needs one
        target, has_driver = "cuda:90", False
    # (the grid is in the key: dump_boundary's program is the grid's last)
    key = (spec.spec_id, target, str(dump_value), str(dump_grid), g, _level_key(level))
    cache = fn.__dict__.setdefault("_runner_dumps", {})
    prepared = cache.get(key)
    if prepared is None:
        prepared = cache[key] = _prepare(fn, spec, target, level, dump_value, dump_grid, g, where)
    fn.last_dump = prepared
    for line in prepared.lines:
        color_print.blue_print(line)
    if not has_driver:
        raise LevelNeedsGPU(f"{fn.__name__}: the dump (dump_tensor=) compiled for {target}; running it needs a GPU, "
                            "and this machine has none")
    if isinstance(driver.active, compat.CompileOnlyDriver):
        return prepared   # compiling only: nothing runs
    _run(prepared, bound, g, dump_tensor)
    return prepared


def _level_key(level: tuple[str, Path] | None) -> str | None:
    if level is None:
        return None
    path = level[1]
    return level[0] + ":" + hashlib.sha256(path.read_bytes()).hexdigest()


def _where(fn) -> str:
    code = getattr(fn.fn, "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code else fn.__name__


def _prepare(fn, spec, target: str, level, dump_value, dump_grid, grid, where: str) -> Prepared:
    from workbench.compiler.cache import StageCache
    from workbench.compiler.stages import Compiler
    from workbench.instrument.dump_ir import parse_pid
    from workbench.instrument.dump_mlir import rewrite_mlir
    from workbench.instrument.dump_result import compile_rewrite
    compiler = Compiler(target, cache=StageCache(None))   # (marked TTIR is never cached)
    if dump_value is not None:
        if level is None or level[0] not in ("ttir", "ttgir"):
            raise WorkbenchError.at(where, "dump_value= names a value of a TTIR or TTGIR: launch with ttir_dir= or "
                                           "ttgir_dir= (or their *_src=)")
        path = level[1]
        pid = parse_pid(dump_grid if dump_grid is not None else 0)
        rewrite = rewrite_mlir(path.read_text(), level[0], [str(dump_value)], pid, ITERATIONS, file=str(path))
        from workbench.compiler import metadata as md
        beside = md.find_beside(path)
        base = md.load(beside) if beside else compiler.compile_spec(spec, with_sass=False).metadata_json()
        sites = [Site("dump_value", 0, pid)]
    else:
        if level is not None:
            raise WorkbenchError.at(where, f"dump_tensor= with {level[0]}_dir= needs dump_value='%name' (the value "
                                           f"of the {level[0].upper()} to dump); without a level, the Python "
                                           "kernel's dump() calls are dumped")
        rewrite, base, sites = _python_rewrite(compiler, spec, dump_grid, grid, where)
    compiled = compile_rewrite(compiler, rewrite, base, file=f"<{fn.__name__} with its dumps>")
    prepared = Prepared(rewrite, compiled, spec, sites, target)
    for site in sites:
        v = rewrite.values[site.value]
        op = _op_of(rewrite.original, v.name)
        loc = f"{spec.file}:{site.python_line}" if site.python_line else f"{level[1]}:{v.line}" if level else v.line
        size = "x".join(map(str, v.shape)) or "1"
        prepared.lines.append(f"[Triton Runner] In dump mode, ssa={v.name}, op={op}, loc={loc}, size={size}")
    return prepared


def held_literals(file: str | None, line: int | None) -> tuple[int, ...] | None:
    """The program a ``dump(x, offset, name)`` call at ``line`` names through a variable the kernel
    assigns once, from integer literals (``dump_grid = 1, 0``): read from the source (parsed,
    never run); None for anything else."""
    import ast
    if not file or not line:
        return None
    try:
        tree = ast.parse(Path(file).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    around = [fn for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
              and fn.lineno <= line <= (fn.end_lineno or fn.lineno)]
    if not around:
        return None
    fn = max(around, key=lambda f: f.lineno)   # the innermost: the kernel
    calls = [c for c in ast.walk(fn) if isinstance(c, ast.Call) and c.lineno <= line <= (c.end_lineno or c.lineno)
             and getattr(c.func, "attr", getattr(c.func, "id", None)) == "dump"]
    names = [a.id for c in calls for a in c.args[2:3] + [k.value for k in c.keywords if k.arg == "dump_grid"]
             if isinstance(a, ast.Name)]
    if len(names) != 1:
        return None
    values = []   # what each assignment to the name gives it (None: not the whole value)
    for node in ast.walk(fn):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.NamedExpr)) else []
        for target in targets:
            if isinstance(target, ast.Name) and target.id == names[0]:
                values.append(node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None)
            elif any(isinstance(n, ast.Name) and n.id == names[0] for n in ast.walk(target)):
                values.append(None)
    if len(values) != 1 or values[0] is None:
        return None
    items = values[0].elts if isinstance(values[0], ast.Tuple) else [values[0]]
    if all(isinstance(i, ast.Constant) and type(i.value) is int for i in items):
        return tuple(i.value for i in items)
    return None


def _python_rewrite(compiler, spec, dump_grid, grid, where: str):
    """The TTIR of the Python kernel with each of its dump() calls a dump (all kept)."""
    from workbench import language as wl
    from workbench.instrument.dump import marker_lines
    from workbench.instrument.dump_ir import parse_pid
    from workbench.instrument.dump_mlir import marker_values, rewrite_mlir
    with wl.marking() as markers:
        base = compiler.compile_spec(spec, with_sass=False)
    ttir = base.levels["ttir"]
    found = marker_values(ttir)
    if not found:
        raise WorkbenchError.at(where, "dump_tensor= is given but the kernel has no dump() call "
                                       "(triton_runner.language.dump) the compiler reached")
    lines = marker_lines(ttir, [line for _, _, line in found], spec.file)
    index = {marker: k for k, (marker, _, _) in enumerate(found)}
    sites, pids = [], []
    for k, (marker, _, line) in enumerate(found):
        opts = markers[marker] if marker < len(markers) else {}
        kind = opts.get("kind") or "dump"
        if kind == "offset":
            continue
        if kind == "dump_grids":
            pid = "all"
        elif kind == "dump_boundary":
            pid = (grid[0] - 1, grid[1] - 1, grid[2] - 1)
        else:
            try:
                pid = parse_pid(opts.get("pid") if opts.get("pid") is not None else (dump_grid or 0))
            except TypeError:   # a program id held in a variable: tensors once compiled
                held = held_literals(spec.file, lines.get(line))
                if held is None:
                    raise WorkbenchError.at(str(spec.file), "dump()'s dump_grid is a value of the running kernel "
                                                            "here (a tuple held in a variable is made of tensors, and "
                                                            "this one is not assigned once from numbers): the "
                                                            "workbench needs the program as constants, "
                                                            "dump(x, offset, (1, 0))", lines.get(line)) from None
                pid = parse_pid(held)
        off_marker = opts.get("offset_marker")
        site = Site(kind, k, pid, int(opts.get("offset") or 0),
                    index.get(off_marker) if off_marker is not None else None, lines.get(line))
        sites.append(site)
        pids.append(pid)
    one = pids[0] if len(set(map(str, pids))) == 1 and isinstance(pids[0], tuple) else "all"
    rewrite = rewrite_mlir(ttir, "ttir", [name for _, name, _ in found], one, ITERATIONS, file="<ttir>",
                           at_lines={k: line for k, (_, _, line) in enumerate(found)})
    return rewrite, base.metadata, sites


def _op_of(text: str, name: str) -> str:
    m = re.search(r"^\s*" + re.escape(name.split("#")[0]) + r"(?::\d+)?\s*=\s*\"?([\w.]+)", text, re.M)
    return m.group(1) if m else "?"


def _run(prepared: Prepared, bound: list, grid: tuple[int, int, int], dump_tensor) -> None:
    """Launch the rewrite on the GPU and write each value into ``dump_tensor`` where theirs would."""
    import torch

    from workbench.instrument.dump_result import load_rewrite
    from . import color_print
    rewrite = prepared.rewrite
    programs = grid[0] * grid[1] * grid[2]
    device = dump_tensor.device
    bufs = []
    for v in rewrite.values:
        dt = getattr(torch, "int8" if v.dtype == "bool" else v.dtype)
        bufs.append(torch.zeros(rewrite.buffer_shape(v, programs), dtype=dt, device=device))
    slots = programs if rewrite.pid == "all" else 1
    hits = torch.zeros((len(rewrite.values), slots), dtype=torch.int32, device=device)
    if prepared.kernel is None:
        prepared.kernel = load_rewrite(prepared.compiled, prepared.spec, rewrite)
    prepared.kernel[grid](*bound, *bufs, hits)
    hits = hits.cpu()
    order = [(x, y, z) for z in range(grid[2]) for y in range(grid[1]) for x in range(grid[0])] \
        if rewrite.pid == "all" else [tuple(rewrite.pid)]
    flat = dump_tensor.view(-1)
    for site in prepared.sites:
        v = rewrite.values[site.value]
        numel = 1
        for s in v.shape:
            numel *= s
        want = None if site.pid == "all" else site.pid
        offsets = bufs[site.offset_value].cpu() if site.offset_value is not None else None
        for slot, p in enumerate(order):
            if want is not None and tuple(p) != tuple(want):
                continue
            reached = int(hits[site.value, slot])
            kept = min(reached, bufs[site.value].shape[1])
            if reached > kept:
                color_print.yellow_print(f"[Triton Runner] {v.name} was dumped {reached} times in a loop; the "
                                         f"workbench kept the first {kept}: the value written is iteration {kept}'s")
            for i in range(kept):
                off = int(offsets[slot, i].reshape(-1)[0]) if offsets is not None else site.offset
                if site.kind == "dump_grids":
                    off += ((p[0] * grid[1] + p[1]) * grid[2] + p[2]) * numel
                value = bufs[site.value][slot, i].reshape(-1)
                n = max(0, min(numel, flat.numel() - off))
                if n < numel:
                    color_print.yellow_print(f"[Triton Runner] dump_tensor holds {flat.numel()} elements: "
                                             f"{v.name} at offset {off} needs {off + numel}; the rest is not written")
                flat[off:off + n] = value[:n].to(flat.dtype)

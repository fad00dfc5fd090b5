"""Python-level values of a kernel that has no ``dump`` call: its source rewritten so each
chosen assignment is followed by ``dump(var)``, run once in Triton's interpreter.

This is how watches and the first divergence read a Python variable without the user
editing the kernel. The rewrite is text (a line inserted after the statement, at its
indentation), written to a scratch file: Triton's interpreter re-reads a kernel's source
with ``inspect``, so the probe must be a real file. Each inserted line has its own line
number, mapped back to the variable and the line of the assignment in the user's file.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.model.diagnostics import WorkbenchError


@dataclass
class Assignment:
    """One assignment to a variable in the kernel: ``ordinal`` counts the earlier assignments
    to the same variable (what identifies it when an edit moves lines)."""

    var: str
    line: int           # 1-based, in the file the kernel source came from
    ordinal: int
    reads: list[str] = field(default_factory=list)  # variables the right-hand side reads
    expr: str | None = None   # dumped instead of ``var``: a stored value that has no name
    before: bool = False      # dumped before the statement on ``line`` (a store), not after

    def to_json(self) -> dict[str, Any]:
        return {"var": self.var, "line": self.line, "ordinal": self.ordinal}


@dataclass
class KernelSource:
    """A kernel's ``def`` in its file: the text, where it starts, its assignments and stores."""

    file: str
    text: str           # the whole file
    kernel: str
    node: ast.FunctionDef
    assignments: list[Assignment]
    stores: list[dict[str, Any]]  # tl.store calls: {"line", "pointer": [vars], "value": [vars], "mask": [vars]}

    @classmethod
    def of(cls, file: str | Path, kernel: str, text: str | None = None) -> "KernelSource":
        text = Path(file).read_text() if text is None else text
        tree = ast.parse(text)
        node = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == kernel), None)
        if node is None:
            raise WorkbenchError.at(str(file), f"no kernel {kernel!r} defined at the top level of this file")
        return cls(str(file), text, kernel, node, _assignments(node), _stores(node))

    @property
    def args(self) -> list[str]:
        return [a.arg for a in self.node.args.args]

    def find(self, var: str, ordinal: int = 0) -> Assignment | None:
        hits = [a for a in self.assignments if a.var == var]
        return hits[ordinal] if ordinal < len(hits) else None

    def at_line(self, var: str, line: int) -> Assignment | None:
        return next((a for a in self.assignments if a.var == var and a.line == line), None)


def _names(node: ast.AST | None) -> list[str]:
    if node is None:
        return []
    return sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)})


def _targets(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for e in node.elts for n in _targets(e)]
    return []


def _assignments(fn: ast.FunctionDef) -> list[Assignment]:
    out: list[Assignment] = []
    seen: dict[str, int] = {}
    stmts = sorted((n for n in ast.walk(fn) if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign))),
                   key=lambda n: (n.lineno, n.col_offset))
    for node in stmts:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        reads = _names(node.value)
        if isinstance(node, ast.AugAssign):
            reads = sorted(set(reads) | set(_targets(node.target)))
        for t in targets:
            for var in _targets(t):
                out.append(Assignment(var, node.end_lineno, seen.get(var, 0), reads))
                seen[var] = seen.get(var, 0) + 1
    return out


def _stores(fn: ast.FunctionDef) -> list[dict[str, Any]]:
    out = []
    for n in ast.walk(fn):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "store":
            kw = {k.arg: k.value for k in n.keywords}
            ptr = n.args[0] if n.args else kw.get("pointer")
            val = n.args[1] if len(n.args) > 1 else kw.get("value")
            mask = n.args[2] if len(n.args) > 2 else kw.get("mask")
            out.append({"line": n.lineno, "pointer": _names(ptr), "value": _names(val), "mask": _names(mask),
                        "expr": ast.unparse(val) if val is not None else None})
    return sorted(out, key=lambda s: s["line"])


def _probe_text(src: KernelSource, chosen: list[Assignment]) -> tuple[str, dict[int, Assignment]]:
    """The kernel's ``def`` alone (no decorators) with a dump line after each chosen
    assignment; returns the text and {line of the dump in that text: assignment}."""
    lines = src.text.split("\n")
    first, last = src.node.lineno, src.node.end_lineno
    after: dict[int, list[Assignment]] = {}
    before: dict[int, list[Assignment]] = {}
    stmts = [n for n in ast.walk(src.node) if isinstance(n, ast.stmt)]
    stmt_end = {n.end_lineno: n for n in stmts}
    stmt_start = {n.lineno: n for n in stmts}
    for a in chosen:
        (before if a.before else after).setdefault(a.line, []).append(a)
    out: list[str] = []
    where: dict[int, Assignment] = {}

    def probe_line(a: Assignment, stmt) -> None:
        row = lines[stmt.lineno - 1] if stmt else ""
        col = stmt.col_offset if stmt else 0
        if row[:col].strip():  # `if c: x = 1`, `a = 1; b = 2`: no line of its own to follow
            return
        out.append(" " * col + f"_wb_dump({a.expr or a.var})")
        where[len(out)] = a

    for n in range(first, last + 1):
        for a in before.get(n, []):
            probe_line(a, stmt_start.get(n))
        out.append(lines[n - 1])
        for a in after.get(n, []):
            probe_line(a, stmt_end.get(n))
    return "\n".join(out) + "\n", where


def run(src: KernelSource, fn, spec, snapshot, chosen: list[Assignment], before_launch=None,
        poison_outputs=()) -> tuple[dict, dict, dict]:
    """Interpret the kernel once on the snapshot with ``chosen`` dumped; returns
    ({(var, ordinal): {pid: [array per call]}}, {(var, ordinal): dtype}, the tensor arguments
    after the launch). ``fn`` is the JITFunction whose globals the kernel sees (the original's,
    or an edited file's); the dumps change nothing the kernel writes."""
    from .. import language as wl
    from workbench.compiler import compat, scratch
    from workbench.runtime import launch
    text, where = _probe_text(src, chosen)
    rec = wl.Recorder(src.kernel)
    with scratch.folder() as folder:
        path = folder / f"probe_{src.kernel}.py"
        path.write_text(text)
        namespace = dict(getattr(fn, "fn", fn).__globals__)
        namespace["_wb_dump"] = wl.dump
        try:
            exec(compile(text, str(path), "exec"), namespace)  # noqa: S102 - the user's own kernel
        except SyntaxError as e:
            raise WorkbenchError.at(src.file, f"could not add dumps to the kernel: {e.msg}") from None
        probe = compat.jit_function_class()(namespace[src.kernel])
        with wl.recording(rec):
            outputs = launch.interpret(probe, spec, snapshot, poison_outputs, before_launch=before_launch)
    values, dtypes = {}, {}
    for (kernel, line), per_pid in rec.values.items():
        a = where.get(line)
        if a is not None:
            values[(a.var, a.ordinal)] = per_pid
            dtypes[(a.var, a.ordinal)] = rec.calls[(kernel, line)]["dtype"]
    return values, dtypes, outputs


def stack(per_pid: dict, pid: Any, iterations: int):
    """Recorded calls as one array (program, iteration, *shape), with the programs it holds,
    the calls each reached and whether it ran more than once (a loop); None when no program
    asked for reached it."""
    import numpy as np
    if pid == "all":
        programs = sorted(per_pid, key=lambda p: (p[2], p[1], p[0]))
    else:
        programs = [tuple(pid)] if tuple(pid) in per_pid else []
    if not programs:
        return None
    counts = [len(per_pid[p]) for p in programs]
    n = min(max(counts), iterations)
    sample = per_pid[programs[0]][0]
    shapes = {np.shape(v) for p in programs for v in per_pid[p][:n]}
    if len(shapes) > 1:  # a loop-carried value whose shape changes: keep the first call only
        n = 1
    arr = np.zeros((len(programs), n, *np.shape(sample)), dtype=np.asarray(sample).dtype)
    if arr.dtype.kind == "f":
        arr[:] = np.nan
    for i, p in enumerate(programs):
        for j, val in enumerate(per_pid[p][:n]):
            arr[i, j] = val
    return arr, programs, counts, max(counts) > 1

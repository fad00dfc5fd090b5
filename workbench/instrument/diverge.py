"""First divergence: for a version whose outputs mismatch, where its values first leave the
original's.

The first mismatching output names a kernel argument; the stores writing through it, and
everything their value, pointer and mask are computed from (the def-use chain), are dumped
in the version and in the original, in program order; the first value that differs beyond
the dtype's tolerance is the answer, with its line at every level.

- Python level (a version edited in Python): every assignment of the chain is dumped
  through :mod:`workbench.instrument.probe` under Triton's interpreter (CPU and GPU alike); the
  original's value of the same variable (same assignment number) is its counterpart.
- TTIR / TTGIR (a version edited there): the chain of SSA values feeding the ``tt.store``,
  each matched in the original's text by its anchor (:func:`workbench.instrument.watch.anchor_mlir`),
  dumped with one rewrite per side; on a GPU only (without one, both rewrites are compiled
  and the answer says "compiled only").

Pointers (addresses of fresh copies) are never compared.

JSON (runner ``diverge``, ``workbench dump --diverge --json``)::

    {"kernel", "version", "level", "status": "diverged" | "outputs match" | "no divergence found" |
     "compiled only: needs a GPU to run",
     "output": {"label", "arg", "sentence"} | null, "store_line": N | null,
     "chain": [{"name", "line", "original_line", "dtype", "differs": bool | null, "note": str | null,
                "max_abs", "count", "total"}],
     "first": {"name", "line", "original_line", "lines": {"version": {level: [N]}, "original": {...}},
               "version": side, "original": side, "diff": diff} | null,   # side, diff: watch.py
     "message": "one line"}
"""

from __future__ import annotations

import re
from typing import Any

from workbench.instrument import probe, watch
from workbench.model import srcmap
from workbench.model.diagnostics import WorkbenchError
from workbench.runtime.verify import TOLERANCES

ITERATIONS = 64  # calls kept per program and value (loop iterations)


def serve(session, kernel: str, version: str, progress=None) -> dict[str, Any]:
    """The runner's ``diverge`` request (and the CLI's): the version is read from the session's
    home workspace, also when a CLI run next to the app works in a scratch copy."""
    state = session.state(kernel)
    v = session.version(state, version)
    run = session.run(state.spec.spec_id, v.label)
    out: dict[str, Any] = {"kernel": state.spec.kernel, "version": v.label, "level": v.level, "output": None,
                           "store_line": None, "chain": [], "first": None}
    bad = next((o for o in run.outputs if not o.ok), None)
    if run.status == "ok":
        return out | {"status": "outputs match", "message": f"version {v.label}: the outputs match the original's"}
    if bad is not None:
        label, sentence = bad.name, bad.sentence
    elif run.status == "compiled-only" and v.level in ("ttir", "ttgir") and state.snapshot is not None:
        # no GPU: nothing ran, so the chain of the first output is built and compiled, not dumped
        label = next(iter(state.snapshot.checked))
        sentence = f"{label}: not run ({run.message})"
    else:
        return out | {"status": run.status, "message": run.message}
    arg = state.snapshot.checked[label]
    out["output"] = {"label": label, "arg": arg, "sentence": sentence}
    if progress:
        progress("diverge", {"kernel": state.spec.kernel, "version": v.label, "output": bad.name})
    if v.level == "python":
        return _python(session, state, v, arg, out)
    if v.level in ("ttir", "ttgir"):
        return _mlir(session, state, v, arg, out)
    return out | {"status": "no divergence found",
                  "message": f"version {v.label} starts at {v.level.upper()}: the first divergence is found at "
                             f"Python, TTIR and TTGIR only (dump registers with `workbench dump --level {v.level}`)"}


def _close(a, b) -> bool:
    import numpy as np
    if a.shape != b.shape:
        return False
    if a.dtype.kind != "f" and b.dtype.kind != "f":
        return bool((a == b).all())
    atol, rtol = TOLERANCES.get(str(a.dtype), TOLERANCES["float32"])
    fa, fb = a.astype(np.float64), b.astype(np.float64)
    return bool(np.allclose(fa, fb, atol=atol, rtol=rtol, equal_nan=True))


def _is_pointer(dtype: str) -> bool:
    return "pointer" in dtype or dtype.startswith("*") or "ptr" in dtype


# -- Python --------------------------------------------------------------------------------------

def chain_of(src: probe.KernelSource, arg: str) -> tuple[int | None, list[probe.Assignment]]:
    """(line of the store, assignments it depends on in program order) for output argument ``arg``."""
    pointers = {arg}
    for a in src.assignments:  # pointers derived from the argument (p = out_ptr + offs)
        if set(a.reads) & pointers:
            pointers.add(a.var)
    stores = [s for s in src.stores if set(s["pointer"]) & pointers]
    if not stores:
        return None, []
    needed = set(stores[0]["value"]) | set(stores[0]["mask"]) | set(stores[0]["pointer"])
    grew = True
    while grew:
        grew = False
        for a in src.assignments:
            if a.var in needed and not set(a.reads) <= needed:
                needed |= set(a.reads)
                grew = True
    store = stores[0]
    chain = [a for a in src.assignments if a.var in needed and a.line <= store["line"]]
    stored = probe.Assignment(store["expr"] or "value", store["line"], 0, store["value"], expr=store["expr"],
                              before=True)  # the stored value itself, which often has no name
    return store["line"], sorted(chain, key=lambda a: a.line) + \
        ([stored] if store["expr"] and not store["expr"].isidentifier() else [])


def _python(session, state, v, arg, out):
    from workbench.instrument.dump_result import DumpResult
    original = state.versions["original"]
    vfile = v.file or (session.workspace.version(state.spec.folder_name, int(v.label)).folder /
                       f"{state.spec.stem}.py")
    vsrc = probe.KernelSource.of(vfile, state.spec.kernel)
    osrc = probe.KernelSource.of(state.spec.file, state.spec.kernel)
    store_line, chain = chain_of(vsrc, arg)
    out["store_line"] = store_line
    if store_line is None:
        return out | {"status": "no divergence found",
                      "message": f"{vfile}: no tl.store through {arg} in {state.spec.kernel}"}
    counterpart = {(a.var, a.ordinal): osrc.find(a.var, a.ordinal) for a in chain if not a.before}
    if chain and chain[-1].before:  # the stored value: the original's store through the same argument
        o_line, o_chain = chain_of(osrc, arg)
        counterpart[(chain[-1].var, 0)] = o_chain[-1] if o_chain and o_chain[-1].before else None
    hook = state.config.before_launch if state.config else None
    mine, mtypes, _ = probe.run(vsrc, v.fn, state.spec, state.snapshot, chain, before_launch=hook)
    theirs, _, _ = probe.run(osrc, original.fn, state.spec, state.snapshot,
                          [c for c in counterpart.values() if c is not None], before_launch=hook)
    vmap = _smap(v.result)
    omap = _smap(original.result)
    for a in chain:
        o = counterpart[(a.var, a.ordinal)]
        dtype = mtypes.get((a.var, a.ordinal), "")
        row = {"name": a.var, "line": a.line, "original_line": o.line if o else None, "dtype": dtype,
               "differs": None, "note": None, "max_abs": None, "count": None, "total": None}
        out["chain"].append(row)
        if _is_pointer(dtype):
            row["note"] = "a pointer: addresses are not compared"
            continue
        if o is None:
            row["note"] = f"not in the original (no assignment number {a.ordinal + 1} of {a.var})"
            continue
        got = probe.stack(mine.get((a.var, a.ordinal), {}), "all", ITERATIONS)
        want = probe.stack(theirs.get((o.var, o.ordinal), {}), "all", ITERATIONS)
        if got is None or want is None:
            row["note"] = "never reached in " + ("the version" if got is None else "the original")
            continue
        d = watch.diff(got[0], want[0])
        row.update(max_abs=d["max_abs"], count=d["count"], total=d["total"])
        row["differs"] = not _close(got[0], want[0])
        if row["differs"] and out["first"] is None:
            sides = []
            for (arr, programs, counts, in_loop), label, line in ((got, v.label, a.line), (want, "original", o.line)):
                res = DumpResult(name=a.var, level="python", line=line, source=f"{a.var} (line {line})", type=dtype,
                                 dtype=str(arr.dtype), shape=list(arr.shape[2:]), values=arr, programs=programs,
                                 iterations=arr.shape[1], in_loop=in_loop, hits=counts)
                sides.append(watch.side_json(res, label, "interpreted"))
            out["first"] = {"name": a.var, "line": a.line, "original_line": o.line,
                            "lines": {"version": _lines(vmap, str(vfile), a.line),
                                      "original": _lines(omap, state.spec.file, o.line)},
                            "version": sides[0], "original": sides[1], "diff": d}
    first = out["first"]
    if first is None:
        return out | {"status": "no divergence found",
                      "message": f"every value feeding the store at line {store_line} agrees with the original's: "
                                 f"the store itself (its pointer or mask arithmetic on pointers) differs"}
    d = first["diff"]
    where = f"[{', '.join(map(str, d['first_index']))}]" if d.get("first_index") else ""
    return out | {"status": "diverged",
                  "message": f"{vfile}:{first['line']}: {first['name']} is the first value that differs from the "
                             f"original's (line {first['original_line']}): {d['count']} of {d['total']} elements, "
                             f"first at {where or '-'}, max abs {d['max_abs']:.3g}"}


def _smap(result):
    if result is None:
        return None
    return srcmap.build(result.levels, result.sass_lines, result.python, result.sass_ptx_lines)


def _lines(smap, file: str, line: int) -> dict[str, list[int]]:
    """The line at every level made from Python ``file:line`` (the file the levels were compiled
    from, which for a saved version is the edit/ file it was saved as)."""
    if smap is None:
        return {}
    file = next((f for locs in smap.levels.get("python", {}).values() for f, _ in locs), file)
    out = {"python": [line]}
    for level in smap.levels:
        if level != "python":
            got = smap.lines_for(level, (str(file), line))
            if got:
                out[level] = got
    return out


# -- TTIR / TTGIR ----------------------------------------------------------------------------------

_OPERAND = re.compile(r"%[\w$.\-]+(?:#\d+)?")


def mlir_chain(text: str, arg: str, file: str = "<mlir>") -> tuple[int | None, list[str]]:
    """(1-based line of the tt.store through ``%arg``, SSA values feeding it in text order):
    the store's operands and, transitively, the operands of the ops defining them (values
    defined inside combine regions are left out: they cannot be dumped)."""
    from workbench.instrument.dump_mlir import MlirIndex, strip_loc
    index = MlirIndex(text, file)
    lines = index.lines
    target = "%" + arg.lstrip("%")

    def operands(line: int) -> list[str]:
        row = strip_loc(lines[line])
        rhs = row.split("=", 1)[1] if "=" in row.split('"')[0] and index.by_line.get(line) else row
        return [n for n in _OPERAND.findall(rhs.split(":")[0] if " : " in rhs else rhs) if n in index.defs]

    def derives(name: str, seen: set) -> bool:
        if name == target:
            return True
        d = index.defs.get(name)
        if d is None or name in seen or d.kind != "op":
            return False
        seen.add(name)
        return any(derives(n, seen) for n in operands(d.line))

    def loop_carried(name: str) -> list[str]:
        """For a result #i of scf.for or its iter_arg i: the i-th value its scf.yield passes."""
        d = index.defs[name]
        row = lines[d.line]
        if "scf.for" not in row:
            return []
        if d.kind == "iter_arg":
            inits = re.search(r"iter_args\((.*?)\)\s*->", row)
            names = re.findall(r"(%[\w$.\-]+)\s*=", inits.group(1)) if inits else []
            k = names.index(name) if name in names else -1
        else:
            k = int(name.split("#")[1]) if "#" in name else 0
        end = index.op_end(d.line, 1)
        for i in range(end, d.line, -1):
            if re.match(r"^\s*scf\.yield ", lines[i]) and index.stack_at.get(i, [None])[-1:] == [d.line]:
                ys = operands(i)
                return [ys[k]] if 0 <= k < len(ys) else []
        return []

    store = next((i for i in range(index.func_line, index.func_end + 1) if re.match(r"^\s*tt\.store ", lines[i])
                  and (ops := operands(i)) and derives(ops[0], set())), None)
    if store is None:
        return None, []
    needed, todo = set(), list(operands(store))
    while todo:
        n = todo.pop()
        d = index.defs.get(n)
        if n in needed or d is None:
            continue
        needed.add(n)
        if d.kind == "op":
            todo.extend(operands(d.line))
        if d.kind in ("op", "iter_arg"):
            todo.extend(loop_carried(n))
    multi = {n.split("#")[0] for n in needed if "#" in n}
    chain = [n for n in needed if index.defs[n].kind in ("op", "iter_arg") and n not in multi]
    return store + 1, sorted(chain, key=lambda n: (index.defs[n].line, n))


def _mlir(session, state, v, arg, out):
    from workbench.instrument.dump_result import COMPILED_ONLY, compile_rewrite, launch_dump
    from workbench.instrument.dump_mlir import rewrite_mlir
    iterations = 16
    level = v.level
    text = v.result.levels[level]
    otext = state.versions["original"].result.levels[level]
    store_line, chain = mlir_chain(text, arg, f"<{level} of version {v.label}>")
    out["store_line"] = store_line
    if store_line is None:
        return out | {"status": "no divergence found", "message": f"no tt.store through %{arg} in the {level.upper()}"}
    pairs = []
    for name in chain:
        anchor = watch.anchor_mlir(text, name)
        oname, oline, why = watch.resolve_mlir(otext, anchor)
        note = None
        if oname is None and anchor.get("op"):  # an op the edit replaced: its place on the same Python line
            oname, oline = watch.resolve_mlir_by_line(otext, anchor)
            note = f"paired by its place among the ops of Python line {anchor['loc_line']}" if oname else None
        row = {"name": name, "line": anchor.get("line"), "original_line": oline, "dtype": None, "differs": None,
               "note": note if oname else f"not in the original: {why}", "max_abs": None, "count": None,
               "total": None}
        out["chain"].append(row)
        if oname:
            pairs.append((row, name, oname))
    dumpable = []
    for row, name, oname in pairs:
        try:  # one value at a time first: values inside regions that cannot store are skipped
            rewrite_mlir(text, level, [name], "all", iterations)
            rewrite_mlir(otext, level, [oname], "all", iterations)
            dumpable.append((row, name, oname))
        except WorkbenchError as e:
            row["note"] = e.diagnostics[0].message if e.diagnostics else str(e)
    if not dumpable:
        return out | {"status": "no divergence found", "message": "no value feeding the store can be dumped"}
    mine = rewrite_mlir(text, level, [n for _, n, _ in dumpable], "all", iterations)
    theirs = rewrite_mlir(otext, level, [o for _, _, o in dumpable], "all", iterations)
    compiled = compile_rewrite(session.compiler, mine, v.result.metadata, file=f"<rewritten {level}>")
    ocompiled = compile_rewrite(session.compiler, theirs, state.versions["original"].result.metadata,
                                file=f"<rewritten original {level}>")
    for (row, _, _), dv in zip(dumpable, mine.values):
        row["dtype"] = dv.dtype
    if not session.gpu:
        return out | {"status": COMPILED_ONLY, "message": f"the {len(dumpable)} values feeding the store at line "
                                                          f"{store_line} are rewritten and compile in the version and "
                                                          f"the original; {COMPILED_ONLY}"}
    got = launch_dump(compiled, state.spec, state.snapshot, mine)
    want = launch_dump(ocompiled, state.spec, state.snapshot, theirs)
    vmap, omap = srcmap.mlir_map(text), srcmap.mlir_map(otext)
    for (row, name, oname), g, w in zip(dumpable, got, want):
        if row["dtype"] == "int64" and "ptr" in (g.type or ""):
            row["note"] = "a pointer: addresses are not compared"
            continue
        a, b = g.squeezed(), w.squeezed()
        d = watch.diff(a, b)
        row.update(max_abs=d["max_abs"], count=d["count"], total=d["total"], differs=not _close(a, b))
        if row["differs"] and out["first"] is None:
            py = (vmap.get(row["line"]) or [(None, None)])[0][1]
            opy = (omap.get(row["original_line"]) or [(None, None)])[0][1]
            out["first"] = {"name": name, "line": row["line"], "original_line": row["original_line"],
                            "lines": {"version": {level: [row["line"]], "python": [py] if py else []} |
                                      _lines(_smap(v.result), state.spec.file, py) if py else {level: [row["line"]]},
                                      "original": {level: [row["original_line"]]} |
                                      (_lines(_smap(state.versions["original"].result), state.spec.file, opy)
                                       if opy else {})},
                            "version": watch.side_json(g, v.label, "ran"),
                            "original": watch.side_json(w, "original", "ran"), "diff": d}
    first = out["first"]
    if first is None:
        return out | {"status": "no divergence found",
                      "message": f"every dumpable value feeding the store at line {store_line} agrees"}
    return out | {"status": "diverged",
                  "message": f"{level.upper()} line {first['line']}: {first['name']} is the first value that differs "
                             f"from the original's (line {first['original_line']}): {first['diff']['count']} of "
                             f"{first['diff']['total']} elements, max abs {first['diff']['max_abs']:.3g}"}


def format_report(out: dict[str, Any]) -> str:
    """The CLI's text: the one-line answer, the chain as a table, the two values side by side."""
    lines = [f"{out['kernel']} version {out['version']} [{out['level']}]: {out['status']}", out["message"]]
    if out.get("output"):
        lines.append(f"output: {out['output']['sentence']}")
    if out["chain"]:
        lines.append("chain (program order):")
        for r in out["chain"]:
            state = "-" if r["differs"] is None else ("DIFFERS" if r["differs"] else "same")
            extra = r["note"] or (f"max abs {r['max_abs']:.3g}, {r['count']}/{r['total']}" if r["count"] is not None
                                  else "")
            lines.append(f"  line {r['line']:>4} (original {r['original_line'] or '-':>4})  {r['name']:<14} "
                         f"{state:<8} {extra}")
    first = out.get("first")
    if first:
        at = ", ".join(f"{lv} {_ranges(ns)}" for lv, ns in first["lines"].get("version", {}).items())
        lines.append(f"first divergence: {first['name']} at {at}")
        for side in ("version", "original"):
            s = first[side]
            vals = s.get("values") if s.get("values") is not None else s.get("sample")
            lines.append(f"  {side:>8}: {_short(vals)}")
    return "\n".join(lines)


def _ranges(lines: list[int]) -> str:
    """[3, 4, 5, 9] -> "3-5,9"."""
    out: list[str] = []
    for n in sorted(lines):
        if out and "-" not in out[-1].split(",")[-1] and int(out[-1]) == n - 1:
            out[-1] = f"{out[-1]}-{n}"
        elif out and "-" in out[-1] and int(out[-1].split("-")[1]) == n - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ",".join(out)


def _short(vals, width: int = 150) -> str:
    text = "-" if vals is None else str(vals)
    return text if len(text) <= width else text[:width - 3] + "..."

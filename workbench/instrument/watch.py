"""Watched values: a list per kernel, kept in the workspace, dumped again on every save
beside the original's, with their difference.

The list is ``<kernel>-<spec>/watch.json`` (written whole or not at all). A watch is named
by what survives an edit, its *anchor*, not by the text the user pointed at:

- Python: the variable and which assignment of it (``ordinal``: 0 for the first ``x = ...``
  in the kernel, 1 for the second), with the line it was on when added.
- TTIR / TTGIR: the op (``arith.addf``), the Python line of its ``loc`` and its position
  among the ops of that name from that line, plus ``#i`` for one result of several; an edit
  that renumbers SSA values leaves these alone. Kernel arguments, loop induction variables
  and iter_args keep their SSA name.
- LLIR / PTX: the register name.

Each version resolves the anchor in its own text; a watch it cannot find says so in one
line ("not found: ...") and never dumps another value.

JSON the runner answers with (``watch_add`` -> watch, ``watch_list`` / ``watch_remove`` ->
[watch], ``watch_values`` -> [entry]; ``apply`` adds ``watches``: [entry], ``watch_notes``:
[str] (a watch list that could not be read) and ``times.watch_ms``)::

    watch   = {"id": "w1", "level": "python", "value": "out", "pid": [0, 0, 0] | "all",
               "iterations": 16, "anchor": {...as above...}, "label": "out (line 31)"}
    entry   = watch | {"version": side, "original": side, "diff": diff | null, "notes": [str]}
    side    = {"label": "3" | "original", "found": bool, "status": str,  # interpreted | ran (...) |
               #   compiled only: ... | not found: ... | error: ...
               "name": "%x_5" | "out", "line": N,        # where it was found in that version's text
               "python_line": N, "type", "dtype", "shape", "values_shape", "programs", "in_loop",
               "hits", "stats": {min, max, mean, nan, inf},
               "values": [...] | null,                   # null past MAX_INLINE elements ("sampled")
               "sample": [...] | null, "sampled": bool, "file": ".npy path" | null}
    diff    = {"shape_mismatch": str | null, "total": N, "count": N (elements that differ),
               "max_abs", "max_rel", "first_index": [i, ...] | null,
               "nan": [version, original], "inf": [version, original],
               "heat": {"rows": R, "cols": C, "cells": [[max abs diff]]}}  # at most 16 x 32 cells

Without a GPU the Python level runs in Triton's interpreter and IR-level watches are
compiled (so a watch that no longer resolves or no longer compiles says so) but not run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from workbench.instrument import probe
from workbench.model import srcmap
from workbench.instrument.dump_ir import parse_pid
from workbench.instrument.dump_mlir import MLIR_DEF, MlirIndex, resolve_value
from workbench.model.diagnostics import WorkbenchError
from workbench.compiler.files import atomic_write

LEVELS = ("python", "ttir", "ttgir", "llir", "ptx")
MAX_INLINE = 4096          # elements sent inline per side; the whole value is in the .npy file
SAMPLE = 256               # elements of an evenly spaced sample sent for a larger value
HEAT = (16, 32)            # rows x columns of the difference heat map


# -- the list ---------------------------------------------------------------------------------

def path_of(session, state) -> Path:
    return session.workspace.kernel_dir(state.spec.folder_name) / "watch.json"


def load(session, state) -> list[dict[str, Any]]:
    path = path_of(session, state)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise WorkbenchError.at(str(path), f"the watch list could not be read: {e}") from None
    watches = data.get("watches", []) if isinstance(data, dict) else data
    if not isinstance(data, dict) or not isinstance(watches, list):
        raise WorkbenchError.at(str(path), f'the watch list could not be read: {{"watches": [...]}} was expected, '
                                f'not {_a(watches)}; delete the file to start the list again')
    for n, w in enumerate(watches, 1):
        wrong = _not_a_watch(w)
        if wrong:
            raise WorkbenchError.at(str(path), f"the watch list could not be read: watch {n} {wrong}; delete that "
                                    f"watch (or the file) to go on")
    return watches


# what a watch holds, as add() writes it and the dumps read it: key -> allowed types
_WATCH = {"id": (str,), "level": (str,), "value": (str,), "iterations": (int,), "anchor": (dict,), "label": (str,)}
_ANCHORS = {"python": {"var": (str,)},
            "mlir_op": {"op": (str,), "loc_line": (int, type(None)), "position": (int,), "line_position": (int,),
                        "name": (str,)},
            "name": {"name": (str,)}}


def _not_a_watch(w: Any) -> str | None:
    """Why ``w`` is not a watch (a sentence's end), or None."""
    if not isinstance(w, dict):
        return f"is {_a(w)}, not an object"
    if w.get("level") not in LEVELS:
        return f"has no level of {', '.join(LEVELS)}"
    pid = w.get("pid")
    if pid != "all" and not (isinstance(pid, list) and len(pid) == 3 and all(type(p) is int for p in pid)):
        return 'has a pid that is neither "all" nor three integers'
    for key, types in _WATCH.items():
        if type(w.get(key)) not in types:
            return f"has no {key} of the right type ({_a(w.get(key))})"
    anchor = w["anchor"]
    kind = "python" if w["level"] == "python" else "mlir_op" if "op" in anchor and w["level"] in ("ttir", "ttgir") \
        else "name"
    for key, types in _ANCHORS[kind].items():
        if type(anchor.get(key)) not in types:
            return f"has no anchor {key} of the right type ({_a(anchor.get(key))})"
    if type(anchor.get("ordinal", 0)) is not int or type(anchor.get("result")) not in (str, type(None)):
        return "has an anchor of the wrong shape"
    return None


def _a(value: Any) -> str:
    name = type(value).__name__
    return "nothing" if value is None else f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _save(session, state, watches: list[dict[str, Any]]) -> None:
    atomic_write(path_of(session, state), json.dumps({"watches": watches}, indent=1) + "\n")


def add(session, kernel: str, level: str, value: str, pid: Any = (0, 0, 0), iterations: int = 16,
        version: str | None = None) -> dict[str, Any]:
    """Add a watch on ``value`` as it reads in ``version``'s text (default: the edit/ folder, what
    the user sees), anchored so later versions find it; returns the watch."""
    state = session.state(kernel)
    if level not in LEVELS:
        raise WorkbenchError.at(str(session.script), f"unknown level {level!r}: expected one of {', '.join(LEVELS)}")
    pid = parse_pid(pid) if not (isinstance(pid, (tuple, list)) and len(pid) == 3) else tuple(pid)
    text, file = _text_for_adding(session, state, level, version)
    if level == "python":
        anchor = anchor_python(probe.KernelSource.of(file, state.spec.kernel, text), value, file)
        label = f"{anchor['var']} (line {anchor['line']})"
    elif level in ("ttir", "ttgir"):
        anchor = anchor_mlir(text, value, file)
        label = f"{anchor['name']} {anchor.get('op', '')} (line {anchor['line']})".replace("  ", " ")
    else:
        anchor = {"name": value if value.startswith("%") else "%" + value}
        label = anchor["name"]
    watches = load(session, state)
    same = next((w for w in watches if w["level"] == level and w["anchor"] == anchor and
                 w["pid"] == (pid if pid == "all" else list(pid))), None)
    if same is not None:
        return same
    n = max([int(w["id"][1:]) for w in watches if re.fullmatch(r"w\d+", w["id"])] or [0]) + 1
    watch = {"id": f"w{n}", "level": level, "value": value, "pid": pid if pid == "all" else list(pid),
             "iterations": int(iterations), "anchor": anchor, "label": label}
    _save(session, state, watches + [watch])
    return watch


def remove(session, kernel: str, watch_id: str) -> list[dict[str, Any]]:
    state = session.state(kernel)
    watches = load(session, state)
    if not any(w["id"] == watch_id for w in watches):
        raise WorkbenchError.at(str(path_of(session, state)), f"no watch {watch_id!r} "
                                f"(the list has {', '.join(w['id'] for w in watches) or 'none'})")
    kept = [w for w in watches if w["id"] != watch_id]
    _save(session, state, kept)
    return kept


def _text_for_adding(session, state, level: str, version: str | None) -> tuple[str, str]:
    ws, spec = session.workspace, state.spec
    folder = ws.version(spec.folder_name, int(version)).folder if version not in (None, "edit") \
        else ws.edit(spec.folder_name)
    path = folder / (f"{spec.stem}.py" if level == "python" else f"{spec.stem}.{level}")
    if path.is_file():
        return path.read_text(), str(path)
    if level == "python":
        return Path(spec.file).read_text(), str(spec.file)
    return state.versions["original"].result.levels[level], str(path)


# -- anchors ----------------------------------------------------------------------------------

def anchor_python(src: probe.KernelSource, value: str, file: str) -> dict[str, Any]:
    """``var``, ``var@LINE`` or ``line:N`` (the variable assigned on line N)."""
    s = value.strip()
    m = re.fullmatch(r"(?:line:|:)(\d+)", s) or re.fullmatch(r"(\w+)@(\d+)", s)
    if m and len(m.groups()) == 1:
        hits = [a for a in src.assignments if a.line == int(m.group(1))]
    elif m:
        hits = [a for a in src.assignments if a.var == m.group(1) and a.line == int(m.group(2))]
    else:
        hits = [a for a in src.assignments if a.var == s][:1]
    if not hits:
        known = ", ".join(sorted({a.var for a in src.assignments}))
        raise WorkbenchError.at(file, f"no assignment of {s!r} in {src.kernel}; it assigns: {known}",
                                src.node.lineno)
    return hits[0].to_json()


def resolve_python(src: probe.KernelSource, anchor: dict[str, Any]) -> probe.Assignment | None:
    return src.find(anchor["var"], anchor.get("ordinal", 0))


def _op_of(row: str) -> str | None:
    m = MLIR_DEF.match(row)
    if not m:
        return None
    op = re.match(r'\s*"?([\w.]+)"?', m.group("rest"))
    return op.group(1) if op else None


def _op_lines(index: MlirIndex, locs: dict[int, list]) -> list[tuple[int, str, int | None]]:
    """(0-based line, op, Python line) of every op that defines values, in text order."""
    out = []
    for line in sorted({d.line for d in index.defs.values() if d.kind == "op"}):
        op = _op_of(index.lines[line])
        if op:
            got = locs.get(line + 1)
            out.append((line, op, got[0][1] if got else None))
    return out


def anchor_mlir(text: str, value: str, file: str = "<mlir>") -> dict[str, Any]:
    index = MlirIndex(text, file)
    d = resolve_value(index, value, file)
    if d.kind != "op":
        return {"name": d.name, "kind": d.kind, "line": d.line + 1}
    ops = _op_lines(index, srcmap.mlir_map(text))
    here = next(o for o in ops if o[0] == d.line)
    position = sum(1 for o in ops if o[1:] == here[1:] and o[0] < d.line)
    line_position = sum(1 for o in ops if o[2] == here[2] and o[0] < d.line)
    result = d.name.split("#")[1] if "#" in d.name else None
    return {"op": here[1], "loc_line": here[2], "position": position, "result": result, "name": d.name,
            "line": d.line + 1, "line_position": line_position}


def resolve_mlir(text: str, anchor: dict[str, Any], file: str = "<mlir>") -> tuple[str | None, int | None, str]:
    """(SSA name, 1-based line, "") in ``text``, or (None, None, why not)."""
    index = MlirIndex(text, file)
    if "op" not in anchor:
        d = index.defs.get(anchor["name"])
        return (d.name, d.line + 1, "") if d else (None, None, f"no {anchor['name']} in this text")
    ops = [o for o in _op_lines(index, srcmap.mlir_map(text)) if o[1] == anchor["op"] and o[2] == anchor["loc_line"]]
    if anchor["position"] >= len(ops):
        where = f"Python line {anchor['loc_line']}" if anchor["loc_line"] else "no location"
        return None, None, (f"no {anchor['op']} from {where} (the watch was number {anchor['position'] + 1}, "
                            f"this text has {len(ops)})")
    return _name_at(index, ops[anchor["position"]][0], anchor), ops[anchor["position"]][0] + 1, ""


def resolve_mlir_by_line(text: str, anchor: dict[str, Any], file: str = "<mlir>") -> tuple[str | None, int | None]:
    """The op at the anchor's place among the ops of its Python line, whatever its name: how the
    first divergence pairs an op an edit replaced (never used for a watch)."""
    if anchor.get("loc_line") is None:
        return None, None
    index = MlirIndex(text, file)
    ops = [o for o in _op_lines(index, srcmap.mlir_map(text)) if o[2] == anchor["loc_line"]]
    if anchor["line_position"] >= len(ops):
        return None, None
    line = ops[anchor["line_position"]][0]
    return _name_at(index, line, anchor), line + 1


def _name_at(index: MlirIndex, line: int, anchor: dict[str, Any]) -> str:
    names = [n for n in index.by_line.get(line, []) if "#" not in n]
    return names[0] + (f"#{anchor['result']}" if anchor.get("result") is not None else "")


# -- values and differences ---------------------------------------------------------------

def side_json(result, label: str, status: str, dumps: Path | None = None, tag: str = "") -> dict[str, Any]:
    """One version's value of a watch (a :class:`~workbench.instrument.dump_result.DumpResult`), bounded."""
    import numpy as np
    out = result.to_json(with_values=False) | {"label": label, "found": True, "status": status,
                                               "python_line": getattr(result, "python_line", None),
                                               "values": None, "sample": None, "sampled": False, "file": None}
    if result.values is not None:
        from workbench.instrument.dump_result import jsonable_array
        sq = result.squeezed()
        out["values_shape"] = list(sq.shape)
        if sq.size <= MAX_INLINE:
            out["values"] = jsonable_array(sq)
        else:
            idx = np.linspace(0, sq.size - 1, SAMPLE).astype(np.int64)
            out["sample"] = jsonable_array(sq.reshape(-1)[idx])
            out["sample_index"] = idx.tolist()
            out["sampled"] = True
        if dumps is not None:
            dumps.mkdir(parents=True, exist_ok=True)
            target = dumps / f"{tag}.npy"
            np.save(target, sq)
            out["file"] = str(target)
    return out


def missing(label: str, status: str) -> dict[str, Any]:
    return {"label": label, "found": False, "status": status, "values": None, "file": None}


def diff(a, b) -> dict[str, Any]:
    """Version ``a`` against original ``b`` (numpy arrays): what differs and by how much."""
    import numpy as np
    a, b = np.asarray(a), np.asarray(b)
    counts = {"nan": [int(np.isnan(x).sum()) if x.dtype.kind == "f" else 0 for x in (a, b)],
              "inf": [int(np.isinf(x).sum()) if x.dtype.kind == "f" else 0 for x in (a, b)]}
    if a.shape != b.shape:
        return {"shape_mismatch": f"the version's shape is {list(a.shape)}, the original's {list(b.shape)}",
                "total": int(a.size), "count": None, "max_abs": None, "max_rel": None, "first_index": None,
                "heat": None, **counts}
    fa, fb = a.astype(np.float64), b.astype(np.float64)
    both_nan = np.isnan(fa) & np.isnan(fb)
    same_inf = np.isinf(fa) & (fa == fb)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):   # (x / tiny: inf, meant)
        err = np.where(both_nan | same_inf, 0.0, np.abs(fa - fb))
        err = np.where(np.isnan(err), np.inf, err)  # NaN on one side only
        rel = np.where(err == 0, 0.0, err / np.maximum(np.abs(fb), np.finfo(np.float64).tiny))
    differ = err > 0
    first = np.argwhere(differ)[0].tolist() if differ.any() else None
    finite = np.isfinite(err)
    return {"shape_mismatch": None, "total": int(a.size), "count": int(differ.sum()),
            "max_abs": float(err.max()) if err.size else 0.0,
            "max_rel": float(rel[finite].max()) if finite.any() else (float("inf") if err.size else 0.0),
            "first_index": first, "heat": heat(err), **counts}


def heat(err) -> dict[str, Any] | None:
    """The absolute difference folded to at most HEAT cells (max of each block), 2-D."""
    import numpy as np
    if err.size == 0:
        return None
    m = err.reshape(1, -1) if err.ndim < 2 else err.reshape(-1, err.shape[-1])
    rows, cols = min(HEAT[0], m.shape[0]), min(HEAT[1], m.shape[1])
    rs = np.array_split(np.arange(m.shape[0]), rows)
    cs = np.array_split(np.arange(m.shape[1]), cols)
    cells = [[float(m[np.ix_(r, c)].max()) for c in cs] for r in rs]
    return {"rows": rows, "cols": cols, "cells": [[c if np.isfinite(c) else None for c in row] for row in cells]}


# -- dumping the list for a version ---------------------------------------------------------

class Live:
    """The watch list of one save. ``launch`` makes the save's one interpreted launch with the
    Python-level watches dumped, and returns the outputs for the run to verify (so a save costs
    one launch, not two); ``values`` is then the ``watches`` of the ``apply`` answer. A watch
    list that cannot be read, or a dump that fails, is a note or a watch's status: never a
    failed save."""

    def __init__(self, session, state, version) -> None:
        self.session, self.state, self.version = session, state, version
        self.notes: list[str] = []
        self.ms = 0.0
        self._python: dict | None = None
        try:
            self.watches = load(session, state)
        except WorkbenchError as e:
            self.watches = []
            d = e.diagnostics[0] if e.diagnostics else None
            self.notes.append(f"{d.file}: {d.message}" if d else str(e))

    def launch(self, poison_outputs=()) -> dict | None:
        import time
        group = [w for w in self.watches if w["level"] == "python"]
        s, state, v = self.session, self.state, self.version
        if not group or s.gpu or v.level != "python" or state.snapshot is None:
            return None
        t0 = time.perf_counter()
        try:
            self._python = _python_launch(s, state, v, group, poison_outputs)
        except Exception:  # noqa: BLE001 - the run launches again and reports the kernel's error its way
            self._python = None
        self.ms += (time.perf_counter() - t0) * 1e3
        return self._python["outputs"] if self._python else None

    def values(self) -> list[dict[str, Any]]:
        import time
        t0 = time.perf_counter()
        out = values(self.session, self.state, self.version, self.watches, self._python) if self.watches else []
        self.ms += (time.perf_counter() - t0) * 1e3
        return out


def values(session, state, version, watches: list[dict[str, Any]] | None = None,
           launched: dict | None = None) -> list[dict[str, Any]]:
    """Every watch of the kernel dumped for ``version`` and (once, then cached) the original,
    with the difference. ``launched``: the Python-level values of a launch already made."""
    watches = load(session, state) if watches is None else watches
    if not watches:
        return []
    original = state.versions["original"]
    mine = _sides(session, state, version, watches, launched)
    todo = [w for w in watches if _key(w) not in state.watch_cache]
    if version.label == "original":
        for w in watches:
            state.watch_cache.setdefault(_key(w), mine[w["id"]])
    elif todo:
        for w_id, side in _sides(session, state, original, todo).items():
            state.watch_cache[_key(next(w for w in todo if w["id"] == w_id))] = side
    out = []
    for w in watches:
        (side, arr), (oside, oarr) = mine[w["id"]], state.watch_cache[_key(w)]
        d = diff(arr, oarr) if arr is not None and oarr is not None else None
        notes = []
        if (side.get("sampled") or oside.get("sampled")):
            notes.append(f"{side.get('values_shape') or oside.get('values_shape')}: more than {MAX_INLINE} elements, "
                         f"{SAMPLE} evenly spaced are sent; the whole value is in the .npy file")
        if any(c > w["iterations"] for c in (side.get("hits") or []) + (oside.get("hits") or [])):
            notes.append(f"only the first {w['iterations']} iterations per program are kept")
        out.append(dict(w, version=side, original=oside, diff=d, notes=notes))
    return out


def _key(w: dict[str, Any]) -> str:
    return json.dumps([w["level"], w["anchor"], w["pid"], w["iterations"]], sort_keys=True)


def _sides(session, state, version, watches, launched: dict | None = None) -> dict[str, tuple[dict[str, Any], Any]]:
    """{watch id: (side JSON, squeezed values or None)} for one version."""
    out: dict[str, tuple[dict[str, Any], Any]] = {}
    by_level: dict[str, list[dict[str, Any]]] = {}
    for w in watches:
        by_level.setdefault(w["level"], []).append(w)
    for level, group in by_level.items():
        try:
            if level == "python":
                got = _python_sides(session, state, version, group, launched)
            else:
                got = _ir_sides(session, state, version, group, level)
        except WorkbenchError as e:
            d = e.diagnostics[0] if e.diagnostics else None
            why = f"error: {d.file}:{d.line}: {d.message}" if d and d.line else f"error: {d.message if d else e}"
            got = {w["id"]: (missing(version.label, why), None) for w in group}
        out.update(got)
    return out


def _dumps_dir(session, state) -> Path:
    return session.workspace.kernel_dir(state.spec.folder_name) / "dumps"


def _python_source(session, state, version) -> probe.KernelSource:
    if version.label == "original":
        return probe.KernelSource.of(state.spec.file, state.spec.kernel)
    folder = session.workspace.version(state.spec.folder_name, int(version.label)).folder
    return probe.KernelSource.of(folder / f"{state.spec.stem}.py", state.spec.kernel)


def _python_launch(session, state, version, group, poison_outputs=()) -> dict[str, Any]:
    """One interpreted launch of ``version`` with the group's variables dumped."""
    src = _python_source(session, state, version)
    found = {w["id"]: resolve_python(src, w["anchor"]) for w in group}
    chosen = [a for a in found.values() if a is not None]
    recorded, dtypes, outputs = probe.run(src, version.fn, state.spec, state.snapshot, chosen,
                                          before_launch=state.config.before_launch if state.config else None,
                                          poison_outputs=poison_outputs)
    return {"found": found, "recorded": recorded, "dtypes": dtypes, "outputs": outputs}


def _python_sides(session, state, version, group, launched: dict | None = None):
    label = version.label
    if version.level != "python":
        why = (f"not at this level: version {label} starts at {version.level.upper()}, below Python "
               f"(watch the value at {version.level.upper()} or below)")
        return {w["id"]: (missing(label, why), None) for w in group}
    if state.snapshot is None:
        return {w["id"]: (missing(label, "compiled only: no inputs were captured for this kernel"), None)
                for w in group}
    if launched is None or any(w["id"] not in launched["found"] for w in group):
        launched = _python_launch(session, state, version, group)
    found, recorded, dtypes = launched["found"], launched["recorded"], launched["dtypes"]
    out = {}
    for w in group:
        a = found[w["id"]]
        var = w["anchor"]["var"]
        if a is None:
            nth = w["anchor"].get("ordinal", 0) + 1
            out[w["id"]] = (missing(label, f"not found: {state.spec.kernel} in version {label} has no "
                                           f"assignment number {nth} of {var}"), None)
            continue
        res = _python_result(a, recorded, dtypes, _pid(w), w["iterations"])
        if res.values is None:
            out[w["id"]] = (missing(label, f"not reached: program {_pid_text(w)} never ran line {a.line}"), None)
            continue
        side = side_json(res, label, "interpreted", _dumps_dir(session, state), f"watch-{w['id']}-{label}")
        side["python_line"] = a.line
        out[w["id"]] = (side, res.squeezed())
    return out


def _python_result(a: probe.Assignment, recorded: dict, dtypes: dict, pid: Any, iterations: int):
    """An assignment's recorded values as a :class:`~workbench.instrument.dump_result.DumpResult` (no values
    when no program asked for reached it)."""
    from workbench.instrument.dump_result import DumpResult
    res = DumpResult(name=a.var, level="python", line=a.line, source=f"{a.var} (line {a.line})", type="",
                     dtype="", shape=[])
    stacked = probe.stack(recorded.get((a.var, a.ordinal), {}), pid, iterations)
    if stacked is not None:
        arr, res.programs, res.hits, res.in_loop = stacked
        res.values, res.iterations, res.dtype, res.shape = arr, arr.shape[1], str(arr.dtype), list(arr.shape[2:])
        res.type = dtypes.get((a.var, a.ordinal), str(arr.dtype))
    return res


def python_values(spec, snapshot, values: list[str], pid: Any, iterations: int,
                  src: probe.KernelSource | None = None, fn=None) -> list:
    """Variables of the kernel as a watch names them (``var``, ``var@LINE``, ``line:N``), each
    after its assignment, from one interpreted launch on the snapshot: no dump() call needed
    (``workbench dump --level python``, the app's ``x``). ``src``, ``fn``: an edited kernel's."""
    src = src or probe.KernelSource.of(spec.file, spec.kernel)
    chosen = [resolve_python(src, anchor_python(src, v, src.file)) for v in values]
    recorded, dtypes, _ = probe.run(src, fn or spec.fn, spec, snapshot, chosen)
    return [_python_result(a, recorded, dtypes, pid, iterations) for a in chosen]


def _pid(w):
    return "all" if w["pid"] == "all" else tuple(w["pid"])


def _pid_text(w) -> str:
    return "any" if w["pid"] == "all" else ",".join(map(str, w["pid"]))


def _ir_sides(session, state, version, group, level):
    """IR-level watches of one version: resolved in its text, rewritten in one text per
    (program, iterations), compiled, and launched where there is a GPU and inputs."""
    from workbench.instrument.dump_result import COMPILED_ONLY, DumpResult, compile_rewrite, launch_dump
    from workbench.instrument.dump_llir import rewrite_llir
    from workbench.instrument.dump_mlir import rewrite_mlir
    from workbench.instrument.dump_ptx import rewrite_ptx
    label = version.label
    text = version.result.levels.get(level) if version.result else None
    if not isinstance(text, str):
        why = f"not at this level: version {label} starts at {version.level.upper()}, below {level.upper()}"
        return {w["id"]: (missing(label, why), None) for w in group}
    file = f"<{level} of version {label}>"
    out = {}
    resolved: dict[str, tuple[str, int | None]] = {}
    for w in group:
        if level in ("ttir", "ttgir"):
            name, line, why = resolve_mlir(text, w["anchor"], file)
        else:
            name, line, why = (w["anchor"]["name"], None, "") if re.search(
                re.escape(w["anchor"]["name"]) + r"\b", text) else (None, None, f"no {w['anchor']['name']} in this text")
        if name is None:
            out[w["id"]] = (missing(label, f"not found: {why}"), None)
        else:
            resolved[w["id"]] = (name, line)
    batches: dict[tuple, list[dict[str, Any]]] = {}
    for w in group:
        if w["id"] in resolved:
            batches.setdefault((json.dumps(w["pid"]), w["iterations"]), []).append(w)
    threads = int(version.result.metadata["num_warps"]) * 32
    smap = srcmap.mlir_map(text) if level in ("ttir", "ttgir") else {}
    for (pid_json, iterations), ws in batches.items():
        pid = _pid(ws[0])
        names = [resolved[w["id"]][0] for w in ws]
        if level in ("ttir", "ttgir"):
            rewrite = rewrite_mlir(text, level, names, pid, iterations, file=file)
        elif level == "llir":
            rewrite = rewrite_llir(text, names, pid, threads=threads, file=file)
        else:
            rewrite = rewrite_ptx(text, names, pid, threads=threads, file=file)
        compiled = compile_rewrite(session.compiler, rewrite, version.result.metadata, file=f"<rewritten {level}>")
        if session.gpu and state.snapshot is not None:
            results = launch_dump(compiled, state.spec, state.snapshot, rewrite)
            import torch
            status = f"ran ({torch.cuda.get_device_name()})"
        else:
            results = [DumpResult(name=v.spec, level=level, line=v.line, source=v.source, type=v.type,
                                  dtype=v.dtype, shape=v.shape, in_loop=v.loop is not None, per_thread=v.per_thread)
                       for v in rewrite.values]
            status = COMPILED_ONLY if not session.gpu else "compiled only: no inputs were captured for this kernel"
        for w, res in zip(ws, results):
            res.level = level
            side = side_json(res, label, status, _dumps_dir(session, state), f"watch-{w['id']}-{label}")
            locs = smap.get(res.line or 0)
            side["python_line"] = locs[0][1] if locs else None
            out[w["id"]] = (side, res.squeezed() if res.values is not None else None)
    return out

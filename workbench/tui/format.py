"""Words and numbers for the app's tables, from the runner's JSON (pure functions, no widgets)."""

from __future__ import annotations

from workbench.model.levels import EDITABLE_PANES, PANES, title_of
from workbench.model.results import KernelEntry, RunResult

# The panes, by level (their titles, files and lexers are the open script's family's: app.family).
LEVELS = PANES
EDITABLE = EDITABLE_PANES
STATUS_WORDS = {"ok": "ok", "mismatch": "MISMATCH", "compiled-only": "compiled only", "error": "error"}
SPARKS = "▁▂▃▄▅▆▇█"


def kernel_label(entry: KernelEntry) -> str:
    return f"{entry.kernel}-{entry.spec_id}"


def kernel_facts(entry: KernelEntry, compiled: dict | None = None) -> str:
    """One kernel specialization in a line or two: grid, warps, registers, shared memory, spills
    (of ``compiled``, a version's compile summary, when given: the changes against the original shown)."""
    if entry.error is not None:
        return f"compile failed: {entry.error.get('message', 'error')}"
    grid = "×".join(str(g) for g in entry.grids[0]) if entry.grids and entry.grids[0] else "?"
    n = len(entry.grids)
    return (f"grid {grid} · {n} launch{'es' if n != 1 else ''}\n"
            + resource_facts(compiled or entry.result or {}, entry.result if compiled else None))


RESOURCES = (("warps", "num_warps"), ("regs", "registers"), ("spills", "spills"), ("smem", "shared"))


def resources(summary: dict | None) -> dict[str, object]:
    """warps, regs, spills, smem of a compile summary (``CompileResult.summary``); "?" where unknown."""
    s = summary or {}
    spills = (s.get("spill_stores") or 0) + (s.get("spill_loads") or 0) if "spill_stores" in s else None
    values = {"num_warps": s.get("num_warps"), "registers": s.get("registers"), "spills": spills,
              "shared": s.get("shared")}
    return {short: "?" if values[key] is None else values[key] for short, key in RESOURCES}


def resource_facts(summary: dict | None, original: dict | None = None) -> str:
    """``warps 4→8 · regs 26→40`` / ``spills 0 · smem 0 B``: a version's own values, and where they
    differ from the original's, the original's before the arrow."""
    parts = [f"{short} {cell}" + (" B" if short == "smem" else "")
             for (short, _), cell in zip(RESOURCES, resource_cells(summary, original))]
    return " · ".join(parts[:2]) + "\n" + " · ".join(parts[2:])


def resource_cells(summary: dict | None, original: dict | None = None) -> tuple[str, ...]:
    """warps, regs, spills, smem as table cells, a change against the original marked ``4→8``."""
    mine, base = resources(summary), resources(original) if original else None
    cells = []
    for short, _ in RESOURCES:
        value = str(mine[short])
        if base is not None and base[short] != mine[short] and "?" not in (base[short], mine[short]):
            value = f"{base[short]}→{value}"
        cells.append(value)
    return tuple(cells)


RESOURCE_COLUMNS = ("warps", "regs", "spills", "smem B")


def constexpr_text(spec: dict) -> str:
    """What tells specializations of one kernel apart: its constexpr values (``BLOCK_M=128
    CAUSAL=True``; arguments specialized to 1 are named together) and num_stages."""
    consts = spec.get("constexprs") or {}
    ones = [k for k, v in consts.items() if v == 1 and type(v) is int and not k.isupper()]
    parts = [f"{k}={v}" for k, v in consts.items() if k not in ones]
    if ones:
        parts.append(" ".join(ones) + " =1")
    stages = (spec.get("options") or {}).get("num_stages")
    if stages is not None:
        parts.append(f"stages={stages}")
    return " ".join(parts)


def us(ms: float | None) -> str:
    """A time given in ms, in µs."""
    return "-" if ms is None else f"{ms * 1e3:,.1f}"


def version_label(version: str | int) -> str:
    return "original" if str(version) == "original" else f"v{version}"


def output_rows(result: RunResult) -> list[tuple[str, ...]]:
    return [(o.name, o.dtype, "×".join(str(s) for s in o.shape) or "-", "ok" if o.ok else "FAIL",
             f"{o.max_abs:.3g}", f"{o.max_rel:.3g}", str(o.mismatches), str(o.nan), str(o.inf), o.sentence)
            for o in result.outputs]


OUTPUT_COLUMNS = ("output", "dtype", "shape", "verify", "max abs", "max rel", "mismatches", "nan", "inf", "")


INTERPRETER_NOTE = "interpreter wall time, not a GPU timing"


def bench_row(result: RunResult, original: RunResult | None) -> tuple[str, ...]:
    """A version's row: its median against the original's median shown beside it (the ratio is
    of the two medians on screen), and its own warps, registers, spills and shared memory."""
    t = result.timing
    base = original.median if original else None
    ratio = result.median / base if base and result.median else None
    return (version_label(result.version), result.level,
            STATUS_WORDS.get(result.status, result.status) + (", inexact" if result.caveat else ""),
            us(result.median), f"{t.spread * 100:.1f}%" if t and t.spread is not None else "-",
            f"{t.tflops:.2f}" if t and t.tflops else "-", f"{t.gbps:.3g}" if t and t.gbps else "-",
            f"{ratio:.3f}×" if ratio else "-", ("interpreter" if t.interpreted else t.mode or "-") if t else "-",
            *resource_cells(result.compile, original.compile if original else None))


BENCH_COLUMNS = ("version", "from", "verify", "median µs", "spread", "TFLOP/s", "GB/s", "vs original", "timer",
                 *RESOURCE_COLUMNS)


def chart(results: list[RunResult], width: int = 40) -> str:
    """Median time per version as horizontal bars (shorter is faster)."""
    timed = [(version_label(r.version), r.median) for r in results]
    timed = [(v, m) for v, m in timed if m]
    if not timed:
        return "no timings yet (bench runs on save when enabled: key b)"
    top = max(m for _, m in timed)
    name_w = max(len(v) for v, _ in timed)
    lines = [f"{v:>{name_w}} {'█' * max(1, round(m / top * width)):<{width}} {us(m)} µs" for v, m in timed]
    return "\n".join(lines)


def sparkline(values: list[float]) -> str:
    values = [v for v in values if v]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(SPARKS[min(len(SPARKS) - 1, int((v - lo) / span * (len(SPARKS) - 1)))] for v in values)


def result_summary(result: RunResult) -> str:
    """A status-line sentence for a run or apply result."""
    who = f"{result.kernel} {version_label(result.version)}"
    if result.level and result.version != "original":
        who += f" (from {title_of(result.level)})"
    word, message = STATUS_WORDS.get(result.status, result.status), result.message
    if message.startswith(word):   # "compiled only: no GPU (...)" says the status itself: once
        word, message = message, ""
    parts = [f"{who}: {word}" + (f" ({result.caveat})" if result.caveat else "")]
    bad = [o.name for o in result.outputs if not o.ok]
    if bad:
        parts.append("differs: " + ", ".join(bad))
    if result.median:
        parts.append(f"median {us(result.median)} µs" + (f" ({INTERPRETER_NOTE})" if result.timing.interpreted else ""))
    vs = result.vs_original
    if vs and vs.ratio:
        base = vs.timing.median if vs.timing else None   # the original, timed beside this version
        parts.append(f"{vs.ratio:.3f}× the original" + (f"'s {us(base)} µs" if base else ""))
    if result.compile_ms is not None:
        parts.append(f"compiled in {result.compile_ms:.0f} ms")
    if message:
        parts.append(message)
    return " · ".join(parts)


def diagnostic_text(d: dict) -> str:
    col = d.get("column", d.get("col"))
    where = f"line {d.get('line')}" + (f":{col}" if col not in (None, "") else "") if d.get("line") else ""
    return f"{where}: {d.get('severity', 'error')}: {d.get('message', '')}".lstrip(": ")


def locate_unplaced(text: str, message: str) -> tuple[int, str] | None:
    """A verifier error MLIR gave without a location, placed at the op it names: ``'tt.load' op``
    at the first such op, a layout (``#ttg.blocked<{...}>``) at the first op using it (or its
    alias). (1-based line, what was found) or None."""
    import re
    lines = text.splitlines()
    m = re.search(r"'([\w.]+)' op", message)
    if m:
        op = re.compile(r"(^|[\s=\"])" + re.escape(m.group(1)) + r"[\s\"(]")
        for n, line in enumerate(lines, 1):
            if op.search(line):
                return n, f"the first {m.group(1)}"
    m = re.search(r"(#\w+\.\w+<.*>)", message)
    if m:
        attr = m.group(1).rstrip(".")
        names = [attr]
        for line in lines:
            alias = re.match(r"\s*(#[\w$.-]+)\s*=\s*(.*?)\s*$", line)
            if alias and alias.group(2) == attr:
                names.insert(0, alias.group(1))
        for name in names:
            use = re.compile(re.escape(name) + r"(?![\w$.-])")
            for n, line in enumerate(lines, 1):
                if use.search(line) and not re.match(r"\s*" + re.escape(name) + r"\s*=", line):
                    return n, f"the first op using {name}"
    return None


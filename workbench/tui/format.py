"""Words and numbers for the app's tables, from the runner's JSON (pure functions, no widgets)."""

from __future__ import annotations

LEVELS = ("python", "ttir", "ttgir", "llir", "ptx", "sass")
EDITABLE = frozenset({"python", "ttir", "ttgir", "llir", "ptx"})
TITLES = {"python": "Python", "ttir": "TTIR", "ttgir": "TTGIR", "llir": "LLIR", "ptx": "PTX", "sass": "SASS"}
SUFFIX = {"python": ".py", "ttir": ".ttir", "ttgir": ".ttgir", "llir": ".llir", "ptx": ".ptx", "sass": ".sass"}
LEVEL_OF_SUFFIX = {v: k for k, v in SUFFIX.items()}
STATUS_WORDS = {"ok": "ok", "mismatch": "MISMATCH", "compiled-only": "compiled only", "error": "error"}
SPARKS = "▁▂▃▄▅▆▇█"


def kernel_label(entry: dict) -> str:
    spec = entry.get("spec", {})
    return f"{spec.get('kernel', '?')}-{spec.get('spec_id', '?')}"


def kernel_facts(entry: dict) -> str:
    """One kernel specialization in a line or two: grid, warps, registers, shared memory, spills."""
    if "error" in entry:
        return f"compile failed: {entry['error'].get('message', 'error')}"
    r = entry.get("result", {})
    launches = entry.get("launches", [])
    grid = "×".join(str(g) for g in launches[0]["grid"]) if launches and launches[0].get("grid") else "?"
    spills = r.get("spill_stores", 0) + r.get("spill_loads", 0)
    n = len(launches)
    return (f"grid {grid} · warps {r.get('num_warps', '?')} · regs {r.get('registers', '?')}\n"
            f"smem {r.get('shared', '?')} B · spills {spills} · {n} launch{'es' if n != 1 else ''}")


def us(ms: float | None) -> str:
    """A time given in ms, in µs."""
    return "-" if ms is None else f"{ms * 1e3:,.1f}"


def version_label(version: str | int) -> str:
    return "original" if str(version) == "original" else f"v{version}"


def output_rows(result: dict) -> list[tuple[str, ...]]:
    rows = []
    for o in result.get("outputs", []):
        rows.append((o["name"], str(o.get("dtype", "")), "×".join(str(s) for s in o.get("shape") or []) or "-",
                     "ok" if o.get("ok") else "FAIL", f"{o.get('max_abs', 0):.3g}", f"{o.get('max_rel', 0):.3g}",
                     str(o.get("mismatches", 0)), str(o.get("nan", 0)), str(o.get("inf", 0)),
                     o.get("sentence", "")))
    return rows


OUTPUT_COLUMNS = ("output", "dtype", "shape", "verify", "max abs", "max rel", "mismatches", "nan", "inf", "")


def timing_of(result: dict) -> dict:
    return (result or {}).get("timing") or {}


def bench_row(result: dict, original: dict | None) -> tuple[str, ...]:
    t = timing_of(result)
    stats = t.get("stats") or {}
    ratio = (result.get("vs_original") or {}).get("ratio")
    base = (timing_of(original).get("stats") or {}).get("median") if original else None
    if ratio is None and base and stats.get("median"):
        ratio = base / stats["median"] if result.get("version") != "original" else 1.0
    return (version_label(result.get("version", "?")), result.get("level", "?"),
            STATUS_WORDS.get(result.get("status", ""), result.get("status", "")),
            us(stats.get("median")), f"{stats['spread'] * 100:.1f}%" if "spread" in stats else "-",
            f"{t['tflops']:.2f}" if t.get("tflops") else "-", f"{t['gbps']:.3g}" if t.get("gbps") else "-",
            f"{ratio:.3f}×" if ratio else "-", t.get("mode", "-") if t else "-")


BENCH_COLUMNS = ("version", "from", "verify", "median µs", "spread", "TFLOP/s", "GB/s", "vs original", "timer")


def chart(results: list[dict], width: int = 40) -> str:
    """Median time per version as horizontal bars (shorter is faster)."""
    timed = [(version_label(r.get("version")), (timing_of(r).get("stats") or {}).get("median")) for r in results]
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


def result_summary(result: dict) -> str:
    """A status-line sentence for a run or apply result."""
    status = result.get("status", "?")
    who = f"{result.get('kernel', '?')} {version_label(result.get('version', '?'))}"
    if result.get("level") and str(result.get("version")) != "original":
        who += f" (from {TITLES.get(result['level'], result['level'])})"
    parts = [f"{who}: {STATUS_WORDS.get(status, status)}"]
    bad = [o["name"] for o in result.get("outputs", []) if not o.get("ok")]
    if bad:
        parts.append("differs: " + ", ".join(bad))
    stats = timing_of(result).get("stats") or {}
    if stats.get("median"):
        parts.append(f"median {us(stats['median'])} µs")
    if result.get("vs_original"):
        parts.append(f"{result['vs_original']['ratio']:.3f}× vs original")
    if result.get("compile_ms") is not None:
        parts.append(f"compiled in {result['compile_ms']:.0f} ms")
    if result.get("message"):
        parts.append(result["message"])
    return " · ".join(parts)


def diagnostic_text(d: dict) -> str:
    col = d.get("column", d.get("col"))
    where = f"line {d.get('line')}" + (f":{col}" if col not in (None, "") else "") if d.get("line") else ""
    return f"{where}: {d.get('severity', 'error')}: {d.get('message', '')}".lstrip(": ")

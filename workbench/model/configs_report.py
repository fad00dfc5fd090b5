"""The autotune configs of a script as one table: every config replayed on the same inputs,
verified against the chosen one, timed side by side. Built from the runner's JSON (``open``'s
``tunings``) and each config's run (``RunResult``, parsed where it arrived), so the CLI and the
app show the same rows.
Imports nothing heavy."""

from __future__ import annotations

from typing import Any

from workbench.model.results import RunResult

VERIFY = {"ok": "ok", "mismatch": "FAIL", "compiled-only": "compiled only", "error": "error"}


def config_tables(tunings: list[dict], results: list[RunResult]) -> list[dict[str, Any]]:
    """One table per tuning: its configs (the chosen first), each with its compile facts, its
    verdict and timing, the fastest verified one, and whether the autotuner's choice is the
    fastest within the noise (the 20th to 80th percentile ranges overlap)."""
    by_spec = {}
    for r in results:   # a config run again (tried again, with another grid): its latest run
        if r.version == "original":
            by_spec[r.spec_id] = r
    tables = []
    for t in tunings:
        rows = []
        for index, c in sorted(t["configs"].items(), key=lambda kv: int(kv[0])):
            r = by_spec.get(c["spec_id"])
            comp = (r.compile or {}) if r else {}
            timing = r.timing if r else None
            rows.append({"index": int(index), "config": label(c["kwargs"]), "kwargs": c["kwargs"],
                         "spec_id": c["spec_id"], "chosen": int(index) == t["chosen"],
                         "tried": int(index) in t.get("tried", []),
                         "num_warps": comp.get("num_warps"), "num_stages": comp.get("num_stages"),
                         "registers": comp.get("registers"), "spills": _spills(comp), "shared": comp.get("shared"),
                         "status": r.status if r else "not run", "stats": (timing.stats or None) if timing else None,
                         "tflops": timing.tflops if timing else None, "gbps": timing.gbps if timing else None,
                         "message": r.message if r else "", "caveat": r.caveat if r else None,
                         "failed": [o.sentence for o in r.outputs if not o.ok] if r else []})
        rows.sort(key=lambda row: (not row["chosen"], row["index"]))
        chosen = next((row for row in rows if row["chosen"]), None)
        timed = [row for row in rows if row["stats"] and row["status"] == "ok"]
        fastest = min(timed, key=lambda row: row["stats"]["median"]) if timed else None
        for row in rows:
            base = chosen["stats"] if chosen and chosen["stats"] else None
            row["vs_chosen"] = row["stats"]["median"] / base["median"] if row["stats"] and base else None
            row["fastest"] = row is fastest
        tables.append({"kernel": t["kernel"], "key": t["key"], "pruned": t.get("pruned", 0), "rows": rows,
                       "verdict": _verdict(chosen, fastest)})
    return tables


def label(kwargs: dict) -> str:
    """A config as its meta-parameters and the options it sets (defaults left out)."""
    return ", ".join(f"{k}={v}" for k, v in kwargs.items() if v is not None and (k, v) != ("num_ctas", 1))


def _spills(comp: dict) -> int | None:
    if "spill_stores" not in comp:
        return None
    return int(comp.get("spill_stores", 0)) + int(comp.get("spill_loads", 0))


def _verdict(chosen: dict | None, fastest: dict | None) -> str:
    if chosen is None or fastest is None or not chosen["stats"]:
        return ""
    if chosen["status"] != "ok":
        return "the autotuner's choice does not verify against itself"
    if fastest is chosen:
        return "the autotuner's choice is the fastest verified config"
    a, b = fastest["stats"], chosen["stats"]
    if a["p80"] < b["p20"]:
        return (f"the autotuner's choice is not the fastest: {fastest['config']} takes "
                f"{a['median'] / b['median']:.3f}x its time, outside the noise")
    return (f"the autotuner's choice is the fastest within the noise ({fastest['config']}: "
            f"{a['median'] / b['median']:.3f}x, inside the spread)")


def table_rows(table: dict) -> list[dict[str, str]]:
    """A tuning's rows as the CLI prints them."""
    out = []
    for row in table["rows"]:
        s = row["stats"]
        mark = ("*" if row["chosen"] else "+" if row["tried"] else " ") + ("<" if row["fastest"] else " ")
        out.append({" ": mark, "config": row["config"],
                    "regs": _cell(row["registers"]), "spills": _cell(row["spills"]), "smem": _cell(row["shared"]),
                    "verify": VERIFY.get(row["status"], row["status"]) + (", inexact" if row["caveat"] else ""),
                    "median us": f"{s['median'] * 1e3:.2f}" if s else "-",
                    "spread": f"{s['spread'] * 100:.1f}%" if s else "-",
                    "TFLOP/s": f"{row['tflops']:.1f}" if row["tflops"] else "-",
                    "GB/s": f"{row['gbps']:.0f}" if row["gbps"] else "-",
                    "vs chosen": f"{row['vs_chosen']:.3f}x" if row["vs_chosen"] else "-"})
    return out


def _cell(value) -> str:
    return "-" if value is None else str(value)

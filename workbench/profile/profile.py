"""A version's profile: its exported replay (``run.py --profile``, one launch) under ncu, in a
process of its own, read back as the figures the Profile tab and ``workbench profile`` show,
a roofline point, the hot lines of every level, and its proton scopes' cycles where it has any.

Never run in the runner that holds the app's CUDA context: ncu replays the kernel many times
in the process it starts, and a profile takes seconds.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from workbench.profile import hotlines, ncu, roofline, scopes
from workbench.model import srcmap
from workbench.model.diagnostics import WorkbenchError
from workbench.model.level_files import SUFFIX

REPORT = "profile/kernel.ncu-rep"
STALL_PREFIX, STALL_SUFFIX = "smsp__average_warps_issue_stalled_", "_per_issue_active.ratio"
OCCUPANCY_LIMITS = {"registers": "registers", "shared_mem": "smem", "warps": "warps", "blocks": "blocks",
                    "barriers": "barriers"}
# (key, label, unit) in the order the table shows them
FIGURES = (
    ("duration_us", "duration", "us"),
    ("achieved_occupancy_pct", "achieved occupancy", "%"),
    ("theoretical_occupancy_pct", "theoretical occupancy", "%"),
    ("occupancy_limiter", "occupancy limited by", ""),
    ("blocks_per_sm", "blocks per SM at most", ""),
    ("sm_throughput_pct", "SM throughput", "% of peak"),
    ("memory_throughput_pct", "memory throughput", "% of peak"),
    ("dram_read_bytes", "DRAM read", "bytes"),
    ("dram_write_bytes", "DRAM written", "bytes"),
    ("l1_hit_pct", "L1 hit rate", "%"),
    ("l2_hit_pct", "L2 hit rate", "%"),
    ("registers", "registers per thread", ""),
    ("shared_bytes", "shared memory per block", "bytes"),
    ("spills", "spill instructions", ""),
    ("instructions", "instructions executed", ""),
)


def version_tag(version) -> str:
    """``original`` or ``vN``: an export's name, and its profile's."""
    return "original" if str(version) == "original" else f"v{version}"


def figures(raw: ncu.RawLaunch) -> dict[str, Any]:
    g = raw.get
    limits = {label: g(f"launch__occupancy_limit_{key}") for key, label in OCCUPANCY_LIMITS.items()}
    limits = {k: v for k, v in limits.items() if v is not None}
    least = min(limits.values()) if limits else None
    stalls = {}
    for name in raw.values:
        if name.startswith(STALL_PREFIX) and name.endswith(STALL_SUFFIX):
            reason = name[len(STALL_PREFIX):-len(STALL_SUFFIX)]
            if reason != "selected" and (v := g(name)):  # "selected" is the issue itself, not a stall
                stalls[reason] = v
    duration = g("gpu__time_duration.sum")
    static, dynamic = g("launch__shared_mem_per_block_static"), g("launch__shared_mem_per_block_dynamic")
    return {
        "kernel": raw.text("Kernel Name"), "device": raw.text("device__attribute_display_name"),
        "grid": raw.text("Grid Size"), "block": raw.text("Block Size"),
        "duration_us": duration / 1e3 if duration is not None else None,
        "achieved_occupancy_pct": g("sm__warps_active.avg.pct_of_peak_sustained_active"),
        "theoretical_occupancy_pct": g("sm__maximum_warps_per_active_cycle_pct"),
        "occupancy_limiter": ", ".join(k for k, v in limits.items() if v == least) if least is not None else None,
        "blocks_per_sm": least,
        "sm_throughput_pct": g("sm__throughput.avg.pct_of_peak_sustained_elapsed"),
        "memory_throughput_pct": g("gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed"),
        "dram_read_bytes": g("dram__bytes_read.sum"), "dram_write_bytes": g("dram__bytes_write.sum"),
        "l1_hit_pct": g("l1tex__t_sector_hit_rate.pct"), "l2_hit_pct": g("lts__t_sector_hit_rate.pct"),
        "registers": g("launch__registers_per_thread"),
        "shared_bytes": (static or 0) + (dynamic or 0) if static is not None or dynamic is not None else None,
        "spills": g("sass__inst_executed_register_spilling"),
        "instructions": g("smsp__inst_executed.sum"),
        "stalls": sorted(stalls.items(), key=lambda kv: -kv[1])[:5],
    }


def counted_flops(raw: ncu.RawLaunch) -> tuple[float, str | None]:
    """FLOPs ncu counted, and the dtype that did most of them (tensor cores by input dtype,
    else the CUDA cores' fp32)."""
    by_dtype = {dtype: raw.get(metric) or 0.0 for dtype, metric in ncu.TENSOR_FLOPS.items()}
    by_dtype["fp32"] = sum((raw.get(ncu.FP32_METRIC.format(op)) or 0.0) * n for op, n in ncu.FP32_OPS.items())
    total = sum(by_dtype.values())
    return total, (max(by_dtype, key=by_dtype.get) if total else None)


def flops_from_expr(expr: str, launch: dict) -> float:
    """``--flops EXPR`` over the exported launch's arguments: scalars by value, tensors by
    their shape (the evaluation ``workbench run --flops`` uses)."""
    from workbench.runtime.bench import eval_flops
    bound: dict[str, Any] = {}
    for a in launch["args"]:
        if "tensor" in a:
            v = launch["views"][a["tensor"]]
            bound[a["name"]] = SimpleNamespace(shape=tuple(v["shape"]), dtype=v["dtype"])
        else:
            bound[a["name"]] = a["value"]
    bound.update(launch.get("constexprs") or {})
    return eval_flops(expr, bound)


def level_texts(folder: Path, stem: str) -> tuple[dict[str, str | bytes], dict | None]:
    """The levels written in ``folder`` (an export or a compile), and the kernel's Python
    location from its metadata."""
    levels: dict[str, str | bytes] = {}
    for level in ("ttir", "ttgir", "llir", "ptx", "cubin"):
        path = folder / f"{stem}{SUFFIX[level]}"
        if path.is_file():
            levels[level] = path.read_bytes() if level == "cubin" else path.read_text()
    meta = folder / f"{stem}.json"
    python = json.loads(meta.read_text()).get("workbench", {}).get("python") if meta.is_file() else None
    return levels, python


def source_map(levels: dict, python: dict | None) -> tuple[srcmap.SourceMap, str]:
    """The version's source map and its SASS text, disassembled here from its cubin."""
    from workbench.compiler import compat, sass
    sass_text, sass_lines, ptx_lines = "", {}, {}
    if isinstance(levels.get("cubin"), bytes):
        dis = sass.disassemble(levels["cubin"], compat.nvidia_tool("nvdisasm"))
        sass_text, sass_lines, ptx_lines = dis.text, dis.lines, dis.ptx_lines
    return srcmap.build(levels, sass_lines, python, ptx_lines), sass_text


def from_pages(raw_text: str, source_text: str | None, folder: Path, stem: str, flops: float | None = None,
               flops_source: str = "counted by ncu") -> dict[str, Any]:
    """The profile as JSON from ncu's raw and source pages and the version's levels in ``folder``."""
    raw = ncu.parse_raw(raw_text)
    out = figures(raw)
    counted, dtype = counted_flops(raw)
    if flops is None:
        flops, flops_source = counted, "counted by ncu"
    dram = (out["dram_read_bytes"] or 0) + (out["dram_write_bytes"] or 0)
    seconds = (out["duration_us"] or 0) * 1e-6
    peaks = roofline.peaks_for(out["device"] or "")
    out["roofline"] = roofline.point(flops, flops_source, dtype, dram, seconds, peaks).to_json()
    out["hot"] = None
    if source_text is not None:
        levels, python = level_texts(folder, stem)
        smap, sass_text = source_map(levels, python)
        hot = hotlines.fold(ncu.parse_source(source_text), sass_text, smap)
        out["hot"] = hot.to_json() | {"top": {c: {lv: hot.top(lv, c) for lv in hot.levels} for c in hotlines.COUNTERS}}
    return out


def profile_export(folder: Path, flops_expr: str | None = None, timeout: float = 600.0) -> dict[str, Any]:
    """Run an exported version's replay once under ncu and read the report back."""
    folder = Path(folder)
    launch = json.loads((folder / "launch.json").read_text())
    where = str(folder / launch["file"])
    tool = ncu.find_ncu()
    if tool is None:
        raise WorkbenchError.at(where, ncu.no_ncu_sentence())
    meta = json.loads((folder / launch["metadata"]).read_text())
    kernel = meta.get("name") or launch["kernel"]
    flops = flops_from_expr(flops_expr, launch) if flops_expr else None
    report = folder / REPORT
    report.parent.mkdir(exist_ok=True)
    report.unlink(missing_ok=True)
    program = [sys.executable, str(folder / "run.py"), "--profile"]
    t0 = time.monotonic()
    _, log = ncu.run(ncu.profile_command(tool, report, kernel, program), where, kernel, folder, timeout)
    seconds = time.monotonic() - t0
    (report.parent / "ncu.log").write_text(log)
    if not report.is_file():
        raise WorkbenchError.at(where, f"ncu wrote no report for {kernel}", detail=log)
    pages = {page: ncu.run(ncu.page_command(tool, report, page), where, kernel, folder, timeout)[0]
             for page in ("raw", "source")}
    for page, text in pages.items():
        (report.parent / f"{page}.csv").write_text(text)
    stem = Path(launch["metadata"]).stem
    out = from_pages(pages["raw"], pages["source"], folder, stem, flops,
                     f"--flops {flops_expr}" if flops_expr else "counted by ncu")
    out.update(version=launch["version"], level=launch["level"], folder=str(folder), report=str(report),
               ncu_seconds=seconds, ncu_passes=ncu.passes(log))
    out["scopes"] = scopes.profile(folder, launch, (meta.get("workbench") or {}).get("python"), timeout)
    return out


def change(a: Any, b: Any) -> str:
    """How ``b`` differs from ``a``: a percentage for numbers, "same" or the new text."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if a == b:
            return "same"
        return f"{(b - a) / a * 100:+.1f}%" if a else "new"
    return "same" if a == b else "changed"


def fmt(unit: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if unit == "bytes":
        for scale, name in ((1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
            if abs(value) >= scale:
                return f"{value / scale:.3g} {name}"
        return f"{value:.0f} B"
    if unit.startswith("%"):
        return f"{value:.1f}%"
    if unit == "us":
        return f"{value:.2f} us"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.3g}"


def table(profiles: dict[str, dict]) -> list[dict[str, str]]:
    """One row per figure, a column per version (the first is the base) and the change of the
    last from the first; the roofline and the top stall reasons as rows too."""
    labels = list(profiles)
    rows = []
    for key, label, unit in FIGURES:
        row = {"figure": label} | {lab: fmt(unit, profiles[lab].get(key)) for lab in labels}
        if len(labels) > 1:
            row["change"] = change(profiles[labels[0]].get(key), profiles[labels[-1]].get(key))
        rows.append(row)
    for key, label, unit in (("intensity", "FLOP per DRAM byte", ""), ("tflops", "achieved TFLOP/s", ""),
                             ("pct_of_roof", "of the roof", "%")):
        vals = {lab: (profiles[lab].get("roofline") or {}).get(key) for lab in labels}
        row = {"figure": label} | {lab: fmt(unit, v) for lab, v in vals.items()}
        if len(labels) > 1:
            row["change"] = change(vals[labels[0]], vals[labels[-1]])
        rows.append(row)
    for i in range(5):
        row = {"figure": f"stall #{i + 1} (cycles/issue)"}
        for lab in labels:
            stalls = profiles[lab].get("stalls") or []
            row[lab] = f"{stalls[i][0]} {stalls[i][1]:.2f}" if i < len(stalls) else "-"
        if len(labels) > 1:
            row["change"] = ""
        rows.append(row)
    return rows

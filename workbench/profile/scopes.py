"""Intra-kernel timing with proton's scopes: the kernel's own ``pl.enter_scope("name")`` /
``pl.scope("name")`` regions, timed in cycles by proton's instrumentation backend when the
export's replay runs once under it (``run.py --proton DIR``, a process of its own).

proton writes a tree (``scopes-tree.hatchet``: a node per scope with its ``cycles``, summed
over every warp that ran it, and ``normalized_cycles``, that sum per warp) and a trace
(``scopes-trace.chrome_trace``: an ``X`` event per scope entry and warp, the CTA as ``pid`` and
the warp as ``tid``); both are read back here. The trace's times are the Chrome format's
microseconds, made from cycles at the frequency each event names (``args["Frequency (MHz)"]``,
1000 in Triton 3.6: a nanosecond per cycle), so ``dur`` times that frequency is cycles again
(checked against the tree on a real H200 trace in tests/data/proton). A version that cannot
be timed so (no scope in the kernel, a version started from an IR level, no GPU, a Triton
without proton) says why instead.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

_SCOPE = re.compile(r"""\b(?:enter_scope|scope)\(\s*["']([^"']+)["']""")
FOLDER = "profile/scopes"
DEFAULT_TRACE_MHZ = 1000.0   # proton's trace clock where an event does not name it (1 cycle = 1 ns)


def declared(source: str, first: int = 1, last: int | None = None) -> list[str]:
    """The scope names the kernel's lines open, in order."""
    lines = source.splitlines()[first - 1:last]
    return list(dict.fromkeys(m.group(1) for row in lines for m in _SCOPE.finditer(row.split("#")[0])))


def read(folder: Path, names: list[str]) -> list[dict[str, Any]]:
    """Each scope's cycles over all warps (the tree) and per warp (the trace: how many warps, the
    min, median and max of each warp's cycles in it, all its entries summed)."""
    cycles: dict[str, float] = {}
    tree_file = folder / "scopes-tree.hatchet"
    if tree_file.is_file():
        def walk(node: dict) -> None:
            name = (node.get("frame") or {}).get("name")
            if name in names:
                cycles[name] = cycles.get(name, 0.0) + float((node.get("metrics") or {}).get("cycles", 0))
            for child in node.get("children", []):
                walk(child)
        for root in json.loads(tree_file.read_text()):
            walk(root)
    per_warp: dict[str, dict[Any, float]] = {}
    trace_file = folder / "scopes-trace.chrome_trace"
    if trace_file.is_file():
        for ev in json.loads(trace_file.read_text()).get("traceEvents", []):
            if ev.get("ph") == "X" and ev.get("name") in names:
                warps = per_warp.setdefault(ev["name"], {})
                key = (ev.get("pid"), ev.get("tid"))
                mhz = float((ev.get("args") or {}).get("Frequency (MHz)") or DEFAULT_TRACE_MHZ)
                warps[key] = warps.get(key, 0.0) + float(ev.get("dur", 0)) * mhz   # us * MHz: cycles
    out = []
    for name in names:
        times = sorted(per_warp.get(name, {}).values())
        out.append({"name": name, "cycles": cycles.get(name),
                    "warps": len(times), "warp_min": times[0] if times else None,
                    "warp_median": statistics.median(times) if times else None,
                    "warp_max": times[-1] if times else None})
    return out


def profile(folder: Path, launch: dict, python: dict | None, timeout: float = 300.0) -> dict[str, Any]:
    """The scopes of an export's kernel timed by proton, or the sentence why not."""
    if launch["level"] != "python":  # said without starting run.py (it would say the same)
        return {"scopes": [], "note": "no proton timing: proton scopes are compiled in from the Python source: "
                                      f"this version starts from {launch['level'].upper()}"}
    first = (python or {}).get("first_line", 1)
    names = declared((folder / launch["file"]).read_text(), first, (python or {}).get("last_line"))
    if not names:
        return {"scopes": [], "note": f"{launch['kernel']} opens no proton scope (pl.enter_scope(\"name\") or "
                                      "pl.scope(\"name\") in the kernel): no intra-kernel timing"}
    out_dir = folder / FOLDER
    proc = subprocess.run([sys.executable, str(folder / "run.py"), "--proton", str(out_dir)], cwd=folder,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        errors = [ln.split(": error: ", 1)[1] for ln in proc.stderr.splitlines() if ": error: " in ln]
        tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return {"scopes": [], "note": f"no proton timing: {errors[0] if errors else tail}"}
    return {"scopes": read(out_dir, names), "note": ""}


def lines(label: str, timing: dict | None) -> list[str]:
    """proton's intra-kernel timing of a version (:func:`profile`'s answer), or why there is none."""
    if not timing:
        return []
    if timing.get("note"):
        return [f"scopes {label}: {timing['note']}"]
    out = []
    for sc in timing["scopes"]:
        total = f"{sc['cycles']:,.0f} cycles in all" if sc["cycles"] is not None else "no cycle total"
        if sc["warps"]:
            warps = f"{sc['warps']} warp{'s' if sc['warps'] != 1 else ''}"
            out.append(f"scope {sc['name']} ({label}): {sc['warp_median']:,.0f} cycles per warp (median of {warps}; "
                       f"min {sc['warp_min']:,.0f}, max {sc['warp_max']:,.0f}), {total}")
        else:
            out.append(f"scope {sc['name']} ({label}): {total}")
    return out

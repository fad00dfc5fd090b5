"""The compile table's columns and one row per compile: what ``workbench compile`` and
``workbench compile NN-<stage>-<pass>.mlir`` print (the runner builds the rows, the CLI prints them)."""

from __future__ import annotations

from typing import Any

STAGE_COLUMNS = ("ttir", "ttgir", "llir", "ptx", "cubin", "sass")
AMD_STAGE_COLUMNS = ("ttir", "ttgir", "llir", "amdgcn", "hsaco")  # hip targets: no SASS
PASS_STAGES = ("ttir", "ttgir", "llir")   # the MLIR stages whose passes `workbench passes` records


def compile_row(spec, result) -> dict[str, Any]:
    """``spec``: the captured specialization (None for a level file); ``result``: its CompileResult."""
    res = result.resources
    spills = res.get("spill_stores", 0) + res.get("spill_loads", 0) if "spill_stores" in res else None
    row = {"kernel": spec.kernel if spec else result.name,
           "spec": (spec.spec_id + (" *" if spec.chosen else "")) if spec else f"from {result.start}",
           "warps": result.num_warps, "regs": res.get("registers", "-"), "smem": result.shared,
           "spills": "-" if spills is None else spills}
    ms = result.stage_ms()
    for stage in AMD_STAGE_COLUMNS if result.target.startswith("hip:") else STAGE_COLUMNS:
        row[stage] = "-" if stage not in ms else ("hit" if _cached(result, stage) else f"{ms[stage]:.0f}")
    return row


def _cached(result, stage: str) -> bool:
    return any(s.level == stage and s.cached for s in result.stages)

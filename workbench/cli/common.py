"""What the commands share: exit codes, the script's time limit, the compiler and its target,
the workspace lock, and the compile table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE_OR_INPUT = 0, 1, 2
DEFAULT_SCRIPT_TIMEOUT = 300.0

LEVEL_SUFFIXES = (".ttir", ".ttgir", ".llir", ".ptx", ".cubin", ".amdgcn", ".hsaco")

# what each command's user does when the system refuses a file (read-only, full)
ELSEWHERE = {"compile": "--out DIR writes the levels elsewhere", "run": "--workspace DIR puts the workspace elsewhere",
             "export": "--out DIR writes the export elsewhere"}


def add_script_timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument("--script-timeout", type=float, default=DEFAULT_SCRIPT_TIMEOUT, metavar="S",
                   help="the script is stopped after S seconds, at the line it is on; launches it made are "
                        f"kept (default {DEFAULT_SCRIPT_TIMEOUT:.0f} s)")


def target_error(text: str):
    from workbench.model.diagnostics import WorkbenchError
    return WorkbenchError.at("--target", text)


def lock_workspace(script: Path):
    """Be the workspace's one writer while original/ is written (the app may have it open)."""
    from workbench.model.diagnostics import WorkbenchError
    from workbench.session.lock import WorkspaceBusy, WorkspaceLock
    from workbench.session.workspace import Workspace
    lock = WorkspaceLock(Workspace.beside(script).root)
    try:
        lock.acquire()
    except WorkspaceBusy as busy:
        raise WorkbenchError.at(str(lock.root), f"workspace is in use by {busy.who}: --out DIR writes the levels "
                                                f"elsewhere") from None
    return lock


def make_compiler(target: str | None):
    from workbench.compiler import compat
    from workbench.compiler.cache import StageCache, default_dir
    from workbench.compiler.stages import Compiler
    try:
        return Compiler(target, StageCache(default_dir()))
    except compat.TargetError as e:
        raise target_error(str(e)) from None


def compiler_target(compiler) -> str:
    from workbench.compiler import compat
    return compat.target_str(compiler.target)


STAGE_COLUMNS = ("ttir", "ttgir", "llir", "ptx", "cubin", "sass")
AMD_STAGE_COLUMNS = ("ttir", "ttgir", "llir", "amdgcn", "hsaco")  # hip targets: no SASS


def compile_row(spec, result) -> dict[str, Any]:
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


def print_table(rows: list[dict[str, Any]], target: str) -> None:
    if not rows:
        return
    print(f"target {target}")
    print_rows(rows)


def print_rows(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    headers = list(rows[0].keys())
    labels = {s: f"{s} ms" for s in STAGE_COLUMNS + AMD_STAGE_COLUMNS}
    cols = [labels.get(h, h) for h in headers]
    widths = [max(len(c), *(len(str(r[h])) for r in rows)) for c, h in zip(cols, headers)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip())
    for r in rows:
        print("  ".join(str(r[h]).ljust(w) for h, w in zip(headers, widths)).rstrip())

"""``workbench passes``: the IR after every pass of a kernel's MLIR stages, as files and a table
(recorded in a runner: workbench/session/record_passes.py). ``workbench compile
NN-<stage>-<pass>.mlir`` restarts after that pass (workbench/session/compile_levels.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from workbench.cli.common import add_script_timeout, print_rows, runner, said
from workbench.model.compile_table import PASS_STAGES
from workbench.model.diagnostics import WorkbenchError


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "passes", help="the IR after every pass of the TTIR, TTGIR and LLIR stages, as files and a table",
        description="Record the IR after each pass Triton runs (its own stage functions, this version's pass "
                    "list), write passes/NN-<stage>-<pass>.mlir (in the workspace by default) and print the "
                    "table. `workbench compile passes/NN-....mlir` restarts after that pass.")
    p.add_argument("input", metavar="SCRIPT|LEVEL_FILE", help="a script (arguments after -- go to it), or a "
                                                               ".ttir/.ttgir file (its stages below are recorded)")
    p.add_argument("--kernel", help="only this kernel (name, or <kernel>-<spec> folder name)")
    p.add_argument("--stage", choices=PASS_STAGES, help="only the passes of this stage")
    p.add_argument("--target", help="compile target (default: the GPU's, else cuda:90)")
    p.add_argument("--out", help="output folder (default: <workspace>/<kernel>-<spec>/passes, or passes/ beside "
                                 "a level file)")
    p.add_argument("--metadata", help="metadata JSON for a level file (default: <stem>.json beside it)")
    p.add_argument("--version", type=int, metavar="N",
                   help="compare a saved version's passes with the original's: which passes produce other IR")
    p.add_argument("--workspace", help="the workspace the version is in (default: beside the script)")
    p.add_argument("--interpret", action="store_true",
                   help="no GPU: run the script's launches in Triton's interpreter, so the script sees real "
                        "outputs (default: compile only)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_script_timeout(p)
    p.set_defaults(func=run)


def run(args) -> int:
    path = Path(args.input)
    if not path.exists():
        raise WorkbenchError.at(str(path), "no such file")
    if path.suffix.lower() in (".ttir", ".ttgir"):
        if args.version is not None:
            raise WorkbenchError.at(str(path), "--version compares a script's saved version: give the script")
        with runner("passes") as ask:
            out = ask("passes_of_file", path=str(path), stage=args.stage, target=args.target, out=args.out,
                      metadata=args.metadata)
        _print(args, out["report"]["target"], out["report"]["kernels"])
        return 0
    if path.suffix.lower() != ".py":
        raise WorkbenchError.at(str(path), "not a script or a .ttir/.ttgir file (the passes below LLIR are "
                                           "LLVM's and ptxas's, not MLIR's)")
    with runner("passes") as ask:
        out = ask("passes_of_script", script=str(path), argv=args.script_args, kernel=args.kernel, stage=args.stage,
                  target=args.target, out=args.out, version=args.version, workspace=args.workspace,
                  interpret=args.interpret, script_timeout=args.script_timeout)
    said(out)
    if "compare" in out:
        return _print_compare(args, out["compare"])
    _print(args, out["report"]["target"], out["report"]["kernels"])
    return 0


def _print(args, target: str, report: list[dict[str, Any]]) -> None:
    if args.json:
        json.dump({"target": target, "kernels": report}, sys.stdout, indent=2)
        print()
        return
    print(f"target {target}")
    for kernel in report:
        print(f"{kernel['kernel']}" + (f" ({kernel['spec']})" if kernel.get("spec") else ""))
        print_rows([{"#": f"{r['number']:02d}", "stage": r["stage"], "pass": r["pass"],
                      "changed": {True: "yes", False: "-", None: "not kept"}[r["changed"]], "+lines": r["added"] or "",
                      "-lines": r["removed"] or "", "ms": f"{r['ms']:.2f}"} for r in kernel["passes"]])
        changed = sum(r["changed"] is True for r in kernel["passes"])
        print(f"{len(kernel['passes'])} passes, {changed} changed the IR; files in {kernel['folder']}")


# -- a saved version against the original -----------------------------------------------------

def _print_compare(args, out: dict[str, Any]) -> int:
    rows = out["passes"]
    differ = [r for r in rows if r["decided_otherwise"]]
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        print()
        return 0
    print(f"{out['kernel']} version {args.version} (edited at {out['level']}) against the original: the passes that "
          f"did something else (locations aside)")
    print_rows([{"#": "-" if r["original"] is None else f"{r['original']:02d}", "stage": r["stage"],
                  "pass": r["pass"], "changed lines (original)": r["own_original"],
                  "changed lines (version)": r["own_version"], "IR +lines": r["added"], "IR -lines": r["removed"]}
                 for r in differ])
    differing = sum(r["differs"] for r in rows)
    if differ:
        print(f"{len(differ)} of {len(rows)} passes did something else; the IR differs after {differing} of them "
              f"(IR +/-lines: against the original's IR after the same pass)")
    else:
        print(f"none of the {len(rows)} passes did something else" + (f" (the IR differs after {differing}, "
              f"as edited)" if differing else ""))
    return 0

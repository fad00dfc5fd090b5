"""``workbench compile SCRIPT``: capture a script's launches, write every level of each kernel;
``workbench compile LEVEL_FILE``: compile a .ttir/.ttgir/.llir/.ptx/.cubin to the levels below.
Both run in a runner (workbench/session/compile_levels.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from workbench.cli.common import (EXIT_OK, EXIT_USAGE_OR_INPUT, LEVEL_SUFFIXES, add_script_timeout, diagnostic_line,
                                  print_table, runner, said)


def add(sub) -> None:
    c = sub.add_parser("compile", help="every level of a script's kernels, or the levels below a level file",
                       description="Compile every captured kernel of SCRIPT to TTIR, TTGIR, LLIR, PTX, cubin and "
                                   "SASS, or compile LEVEL_FILE (.ttir .ttgir .llir .ptx .cubin) to the levels "
                                   "below it.")
    c.add_argument("input", metavar="SCRIPT|LEVEL_FILE", help="arguments after -- go to the script")
    c.add_argument("--kernel", help="only this kernel (name, or <kernel>-<spec> folder name)")
    c.add_argument("--target", help="cuda:90, cuda:80, cuda:120, ... (default: the GPU's, else cuda:90)")
    c.add_argument("--out", help="output folder (default: .workbench/<script> beside the script; "
                                 "for a level file, the file's folder)")
    c.add_argument("--metadata", help="metadata JSON for a .llir/.ptx/.cubin (default: <stem>.json beside it)")
    c.add_argument("--interpret", action="store_true",
                   help="no GPU: run the script's launches in Triton's interpreter, so the script sees real "
                        "outputs (default: compile only)")
    c.add_argument("--no-sass", action="store_true", help="skip disassembly (nvdisasm takes ~0.4 s per kernel)")
    c.add_argument("--json", action="store_true", help="machine-readable output, with the source map")
    add_script_timeout(c)
    c.set_defaults(func=run)


def run(args) -> int:
    path = Path(args.input)
    if not path.exists():
        from workbench.model.diagnostics import WorkbenchError
        raise WorkbenchError.at(str(path), "no such file")
    # .mlir: the IR after a pass, written by `workbench passes`
    if path.suffix.lower() in LEVEL_SUFFIXES + (".mlir",):
        return _compile_file(args, path)
    with runner("compile") as ask:
        out = ask("compile_script", script=str(path), argv=args.script_args, kernel=args.kernel, target=args.target,
                  out=args.out, interpret=args.interpret, with_sass=not args.no_sass, with_srcmap=args.json,
                  script_timeout=args.script_timeout)
    said(out)
    for kernel in out["report"]["kernels"]:
        for d in kernel.get("error", {}).get("diagnostics", []):
            print(diagnostic_line(d), file=sys.stderr)
    if args.json:
        json.dump(out["report"], sys.stdout, indent=2)
        print()
    else:
        print_table(out["rows"], out["report"]["target"])
        if out["rows"]:
            print(f"levels written under {out['report']['out']}")
    return EXIT_USAGE_OR_INPUT if out["failures"] else EXIT_OK


def _compile_file(args, path: Path) -> int:
    with runner("compile") as ask:
        out = ask("compile_file", path=str(path), target=args.target, metadata=args.metadata, out=args.out,
                  with_sass=not args.no_sass, with_srcmap=args.json)
    report = out["report"]
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    elif "after" in report:
        print_table(out["rows"], report["target"])
        print(f"levels after {path.name} written to {out['out']}")
    else:
        print_table(out["rows"], report["target"])
        print(f"levels below {report['level']} written to {out['out']}")
    return EXIT_OK

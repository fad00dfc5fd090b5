"""``workbench dump``: values from inside a kernel, at any level."""

from __future__ import annotations

import json

from workbench.cli.common import add_script_timeout, runner


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "dump", help="dump values from inside a kernel at any level",
        description="Dump values from inside a kernel: Python (variables, or workbench.language.dump calls), "
                    "TTIR/TTGIR (any SSA value by name or line:N), LLIR/PTX (a register per thread). Without a GPU, "
                    "Python-level dumps run in Triton's interpreter and IR-level dumps are compiled only.")
    p.add_argument("script", help="a Python script that launches the kernel")
    p.add_argument("--kernel", "-k", default=None, help="kernel name (default: the first launched)")
    p.add_argument("--level", choices=("python", "ttir", "ttgir", "llir", "ptx"), default="python")
    p.add_argument("--value", "-v", action="append", default=[], dest="values",
                   help="value to dump: %%name, %%name#i, line:N (IR levels); a dump() call's expression or "
                        "line, or a variable as a watch names it: x, x@LINE, line:N, no dump() call needed "
                        "(python; default: every dump call). Repeat for several")
    p.add_argument("--pid", default=None, help="program id X,Y,Z, or 'all' (default: the one a dump() call "
                                               "names, else 0,0,0)")
    p.add_argument("--iterations", type=int, default=16, help="loop iterations kept per value (default 16)")
    p.add_argument("--reference", default=None,
                   help="torch expression over the kernel's argument names to compare with, e.g. 'x_ptr + y_ptr'")
    p.add_argument("--atol", type=float, default=None)
    p.add_argument("--rtol", type=float, default=None)
    p.add_argument("--target", default=None, help="compile target (default: the GPU's, else cuda:90)")
    p.add_argument("--verify", action="append", default=[], metavar="TARGET",
                   help="also compile the rewrite for this target (e.g. cuda:80)")
    p.add_argument("--from-file", default=None, dest="level_file",
                   help="dump from this level file (an edited copy); it is read, never written")
    p.add_argument("--show-rewrite", action="store_true", help="print the rewritten level text")
    p.add_argument("--diverge", action="store_true",
                   help="for --version N whose outputs mismatch: dump the values feeding the first mismatching "
                        "output in the version and the original, and name the first that differs")
    p.add_argument("--version", default=None, help="a saved version of the kernel (with --diverge)")
    p.add_argument("--workspace", default=None, help="the workspace the version is in (default: beside the script)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_script_timeout(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """``workbench dump``, in a runner (``dump_script``: workbench/instrument/dump.py); arguments
    after ``--`` go to the script, and bad input is reported by the CLI's one handler
    (``FILE:LINE: error: ...``, exit status 2)."""
    if args.diverge:
        return _diverge(args)
    with runner("dump") as ask:
        out = ask("dump_script", script=args.script, kernel=args.kernel, level=args.level, values=args.values,
                  pid=args.pid, reference=args.reference, target=args.target, iterations=args.iterations,
                  level_file=args.level_file, verify_targets=list(args.verify), argv=list(args.script_args or []),
                  atol=args.atol, rtol=args.rtol, script_timeout=args.script_timeout, as_json=args.json,
                  show_rewrite=args.show_rewrite)
    print(out["text"])
    if out["rewritten"]:
        print("\n--- rewritten " + ("ttir" if args.level == "python" else args.level) + " ---")
        print(out["rewritten"])
    return 1 if out["bad"] else 0


def _diverge(args) -> int:
    """``--diverge --version N``: the version is read from the workspace, never written; when
    the app holds the workspace, the capture goes into a scratch copy. Exit 1 when a value diverges."""
    from workbench.model.diagnostics import WorkbenchError
    if args.version is None:
        raise WorkbenchError.at(args.script, "--diverge needs --version N (a saved version whose outputs mismatch)")
    with runner("dump") as ask:
        opened = ask("open", script=args.script, argv=list(args.script_args or []), target=args.target,
                     workspace=args.workspace, with_sass=False, if_busy="scratch", script_timeout=args.script_timeout)
        kernel = args.kernel or opened["kernels"][0]["spec"]["kernel"]
        out = ask("diverge", kernel=kernel, version=str(args.version))
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    else:
        from workbench.instrument.diverge import format_report
        print(format_report(out))
    return 1 if out["status"] == "diverged" else 0

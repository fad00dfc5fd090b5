"""``workbench export``: a version as a folder that runs with torch and Triton only."""

from __future__ import annotations

from pathlib import Path

from workbench.cli.common import add_script_timeout, runner


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="write a version as a folder that runs with only torch and triton (a reproducer)",
        description="Write version N of a kernel (its level file, the levels below, Triton's metadata, the "
                    "captured inputs and the original's outputs, the launch) and a run.py that compiles it from "
                    "that level with Triton's own API, launches it with the captured grid, checks the outputs "
                    "and times it. run.py needs torch and triton only.")
    p.add_argument("script", metavar="SCRIPT", help="arguments after -- go to the script")
    p.add_argument("--kernel", "-k", required=True, help="kernel name (or <kernel>-<spec> folder name)")
    p.add_argument("--version", required=True, help="a saved version number, or 'original'")
    p.add_argument("--out", help="the folder to write (default: <kernel>-v<N>-export beside the script)")
    p.add_argument("--inputs", choices=("captured", "random"), default="captured",
                   help="captured: the script's inputs and the original's outputs (default); random: shapes, "
                        "dtypes and strides only, filled at random by run.py (nothing to check against)")
    p.add_argument("--target", default=None, help="compile target (default: the GPU's, else cuda:90)")
    p.add_argument("--workspace", default=None, help="the workspace the version is in (default: beside the script)")
    add_script_timeout(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """The version is read from the workspace, never written; when the app holds the workspace,
    the script's capture (in a runner) goes into a scratch copy and the version is still read
    from there."""
    from workbench.model.diagnostics import WorkbenchError
    script = Path(args.script)
    if not script.is_file():
        raise WorkbenchError.at(str(script), "no such script")
    out = Path(args.out) if args.out else script.resolve().parent / f"{args.kernel}-v{args.version}-export"
    with runner("export") as ask:
        ask("open", script=str(script), argv=list(args.script_args or []), target=args.target,
            workspace=args.workspace, with_sass=False, if_busy="scratch", script_timeout=args.script_timeout)
        folder = Path(ask("export", kernel=args.kernel, version=str(args.version), out=str(out),
                          inputs=args.inputs)["folder"])
    print(f"exported {args.kernel} version {args.version} to {folder}: run it with `python {folder / 'run.py'}`")
    return 0

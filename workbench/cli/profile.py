"""``workbench profile``: a version's replay under Nsight Compute, beside the original's.

``workbench profile SCRIPT --kernel K --version N`` exports the original and version N (the
script's capture, as ``workbench export`` does), then profiles each export's ``run.py
--profile`` under ncu, one process per version; ``workbench profile EXPORT_DIR...`` profiles
folders already exported (the app does this: its runner exports, and this command, with a
runner of its own, profiles). Exports and profiles are the runner's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from workbench.cli.common import add_script_timeout, print_rows, runner


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "profile", help="profile versions under Nsight Compute (ncu): counters, a roofline and hot lines, side by side",
        description="Run a version's replay (one launch, the captured inputs) under ncu in a process of its own and "
                    "read back duration, occupancy, throughputs, DRAM bytes, hit rates, registers, shared memory, "
                    "spills, instructions and stall reasons, a roofline point, and the hot lines of every level; "
                    "beside the original's (or --vs's), with the change.")
    p.add_argument("input", metavar="SCRIPT|EXPORT_DIR", nargs="+",
                   help="a script (arguments after -- go to it), or folders written by `workbench export`")
    p.add_argument("--kernel", "-k", help="kernel name (or <kernel>-<spec> folder name); with a script")
    p.add_argument("--version", default="original", help="a saved version number, or 'original' (default)")
    p.add_argument("--vs", default="original", help="the version to compare with (default: original)")
    p.add_argument("--flops", metavar="EXPR", help="FLOPs per launch over the arguments, e.g. '2*M*N*K' (default: "
                                                   "the FLOPs ncu counts)")
    p.add_argument("--target", default=None, help="compile target (default: the GPU's, else cuda:90)")
    p.add_argument("--workspace", default=None, help="the workspace the versions are in (default: beside the script)")
    p.add_argument("--timeout", type=float, default=600.0, metavar="S", help="stop ncu after S seconds (default 600)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_script_timeout(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from workbench.model.diagnostics import WorkbenchError
    from workbench.profile import ncu, profile
    first = Path(args.input[0])
    if not first.exists():
        raise WorkbenchError.at(str(first), "no such file")
    if ncu.find_ncu() is None:  # before a capture that may take minutes
        raise WorkbenchError.at(str(first), ncu.no_ncu_sentence())
    profiles: dict[str, dict[str, Any]] = {}
    with runner("profile") as ask:
        folders = _exports(args, ask) if first.is_file() else _given_folders(args.input)
        for label, folder in folders.items():
            if not args.json:
                print(f"profiling {label} under ncu ({folder})", file=sys.stderr, flush=True)
            profiles[label] = ask("profile_export", folder=str(folder), flops=args.flops, ncu_timeout=args.timeout)
    rows = profile.table(profiles)
    if args.json:
        json.dump({"profiles": profiles, "table": rows}, sys.stdout, indent=2, default=str)
        print()
        return 0
    _print(profiles, rows)
    return 0


def _given_folders(inputs: list[str]) -> dict[str, Path]:
    from workbench.model.diagnostics import WorkbenchError
    from workbench.profile.profile import version_tag
    out: dict[str, Path] = {}
    for item in inputs:
        folder = Path(item)
        if not (folder / "launch.json").is_file():
            raise WorkbenchError.at(str(folder), "not a script nor a folder written by `workbench export` "
                                                 "(no launch.json)")
        label = version_tag(json.loads((folder / "launch.json").read_text()).get("version", folder.name))
        out[label if label not in out else f"{label} ({folder.name})"] = folder
    return out


def _exports(args, ask) -> dict[str, Path]:
    """The --vs and --version versions exported from the script's workspace (read, never written),
    by the runner that then profiles them."""
    from workbench.model.diagnostics import WorkbenchError
    from workbench.profile.profile import version_tag
    if not args.kernel:
        raise WorkbenchError.at(args.input[0], "name the kernel to profile with --kernel")
    ask("open", script=args.input[0], argv=list(args.script_args or []), target=args.target,
        workspace=args.workspace, with_sass=False, if_busy="scratch", script_timeout=args.script_timeout)
    wanted = list(dict.fromkeys([str(args.vs), str(args.version)]))
    exports = {version_tag(v): Path(ask("export", kernel=args.kernel, version=v)["folder"]) for v in wanted}
    ask("close")   # the script's session and its workspace are let go before ncu starts
    return exports


def _print(profiles: dict[str, dict], rows: list[dict]) -> None:
    from workbench.profile import roofline, scopes
    any_p = next(iter(profiles.values()))
    print(f"{any_p['kernel']} on {any_p['device']}, grid {any_p['grid']}, block {any_p['block']}")
    print_rows(rows)
    points = {label: p["roofline"] for label, p in profiles.items()}
    for label, pt in points.items():
        bound = f", {pt['bound']}-bound, {pt['pct_of_roof']:.1f}% of the roof" if pt.get("bound") else ""
        print(f"roofline {label}: {pt['flops']:.4g} FLOP ({pt['flops_source']}, {pt['dtype'] or '-'}) over "
              f"{pt['dram_bytes']:.4g} DRAM bytes{bound}; peaks {pt['peaks_source']}")
    for line in roofline.chart(points):
        print(f"  {line}")
    for label, p in profiles.items():
        hot = p.get("hot") or {}
        if hot.get("note"):
            print(f"hot lines {label}: {hot['note']}")
        for line in scopes.lines(label, p.get("scopes")):
            print(line)
        counter = "samples" if (hot.get("totals") or {}).get("samples") else "executed"
        for level in ("python", "ttgir", "sass"):
            top = (hot.get("top") or {}).get(counter, {}).get(level)
            if top:
                print(f"hot {level} lines {label} ({counter}): " + ", ".join(f"{n} {share:.0%}" for n, _, share in top))



"""``workbench sanitize``: a version's replay under NVIDIA's compute-sanitizer.

``workbench sanitize SCRIPT --kernel K --version N`` exports version N (the script's capture, as
``workbench export`` does) and runs its ``run.py --sanitize`` (one launch on the captured
inputs) under memcheck (``--tool`` another, ``--all`` every tool), a process per tool, as
``profile`` runs ncu. The original is sanitized once and its findings kept in the workspace
(``sanitize/``, keyed by its binary and launch); the version's errors are marked new or not
against them. ``workbench sanitize EXPORT_DIR`` checks a folder already exported; with
``--original ORIGINAL_EXPORT_DIR`` its errors are marked against that one's (kept in
``--workspace``'s ``sanitize/`` when given), as the app runs it on the exports its runner wrote.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from workbench.cli.common import EXIT_MISMATCH, EXIT_OK, add_script_timeout


def add(subparsers) -> None:
    from workbench.profile.sanitize import TOOLS
    p = subparsers.add_parser(
        "sanitize", help="check a version under compute-sanitizer: out-of-bounds accesses, races, uninitialised reads",
        description="Run a version's replay (one launch, the captured inputs) under compute-sanitizer in a process of "
                    "its own and say each error in one line: the access, the address against the nearest argument "
                    "buffer, the thread and block, and the line of every level the instruction comes from; the "
                    "errors the original does not have are marked new.")
    p.add_argument("input", metavar="SCRIPT|EXPORT_DIR",
                   help="a script (arguments after -- go to it), or a folder written by `workbench export`")
    p.add_argument("--kernel", "-k", help="kernel name (or <kernel>-<spec> folder name); with a script")
    p.add_argument("--version", default="original", help="a saved version number, or 'original' (default)")
    p.add_argument("--tool", choices=TOOLS, default="memcheck", help="the compute-sanitizer tool (default memcheck)")
    p.add_argument("--all", action="store_true", help="every tool: " + ", ".join(TOOLS))
    p.add_argument("--target", default=None, help="compile target (default: the GPU's)")
    p.add_argument("--workspace", default=None, help="the workspace the versions are in (default: beside the script); "
                   "with EXPORT_DIR and --original: where the original's findings are kept")
    p.add_argument("--original", default=None, metavar="ORIGINAL_EXPORT_DIR",
                   help="with EXPORT_DIR: the original's export, whose findings mark the version's new or not")
    p.add_argument("--timeout", type=float, default=600.0, metavar="S",
                   help="stop a tool after S seconds (default 600)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_script_timeout(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from workbench.model.diagnostics import WorkbenchError
    from workbench.profile import sanitize
    given = Path(args.input)
    if not given.exists():
        raise WorkbenchError.at(str(given), "no such file")
    if sanitize.find_sanitizer() is None:  # before a capture that may take minutes
        raise WorkbenchError.at(str(given), sanitize.no_sanitizer_sentence())
    tools = list(sanitize.TOOLS) if args.all else [args.tool]
    if given.is_file():
        if not _has_gpu():   # (for an export, its replay says so: the app has asked its runner already)
            raise WorkbenchError.at(str(given), sanitize.NO_GPU)
        reports = _script(args, tools)
    else:
        if not (given / "launch.json").is_file():
            raise WorkbenchError.at(str(given), "not a script nor a folder written by `workbench export` "
                                                "(no launch.json)")
        original = Path(args.original) if args.original else None
        if original is not None and not (original / "launch.json").is_file():
            raise WorkbenchError.at(str(original), "not a folder written by `workbench export` (no launch.json)")
        cache_dir = Path(args.workspace) / sanitize.FOLDER if args.workspace and original is not None else None
        reports, _ = _against(given, original, tools, args, cache_dir)
    if args.json:
        json.dump(reports, sys.stdout, indent=2, default=str)
        print()
    else:
        _print(reports, tools)
    return EXIT_MISMATCH if any(r["errors"] for r in reports["version"]) else EXIT_OK


def _has_gpu() -> bool:
    import torch
    return bool(torch.cuda.is_available())


def _one(folder: Path, tool: str, args) -> dict[str, Any]:
    from workbench.profile import sanitize
    if not args.json:
        print(f"sanitizing {folder.name} under {tool}", file=sys.stderr, flush=True)
    return sanitize.run_tool(folder, tool, args.timeout)


def _script(args, tools: list[str]) -> dict[str, Any]:
    """The version exported and checked; the original's findings from the workspace's cache, or
    checked once and kept. Exports are left in the workspace (``exports/``) as ``profile`` leaves them;
    an original exported only to be found in the cache is removed again."""
    from workbench.model.diagnostics import WorkbenchError
    from workbench.profile import sanitize
    from workbench.session.export import default_folder, export
    from workbench.session.session import Session
    if not args.kernel:
        raise WorkbenchError.at(args.input, "name the kernel to check with --kernel")
    session = Session(Path(args.input), argv=list(getattr(args, "script_args", None) or []), target=args.target,
                      workspace=args.workspace, with_sass=False, if_busy="scratch",
                      script_timeout=args.script_timeout)
    try:
        session.open()
        version = export(session, args.kernel, args.version, default_folder(session, args.kernel, args.version))
        original = None
        if str(args.version) != "original":
            original = export(session, args.kernel, "original", default_folder(session, args.kernel, "original"))
        cache_dir = session.workspace.root / sanitize.FOLDER
    finally:
        session.close()  # its CUDA context is gone before the tool starts
    out, used_original = _against(version, original, tools, args, cache_dir)
    if original is not None and not used_original:
        shutil.rmtree(original, ignore_errors=True)
    out["label"] = "original" if original is None else f"v{args.version}"
    return out


def _against(version: Path, original: Path | None, tools: list[str], args,
             cache_dir: Path | None) -> tuple[dict[str, Any], bool]:
    """Each tool over the version's export and, with ``original``, its errors marked against the
    original's findings: those kept in ``cache_dir`` for its binary and launch, else checked and
    kept there. Whether the original's export was checked (not only found kept)."""
    from workbench.profile import sanitize
    out: dict[str, Any] = {"version": [], "original": []}
    used_original = False
    for tool in tools:
        if original is not None:
            key = sanitize.cache_key(original, tool)
            name = f"{json.loads((original / 'launch.json').read_text())['kernel']}-original-{tool}.json"
            kept = sanitize.cached(cache_dir / name, key) if cache_dir is not None else None
            if kept is None:
                kept = _one(original, tool, args)
                if cache_dir is not None:
                    sanitize.keep(cache_dir / name, key, kept)
                used_original = True
            else:
                kept = kept | {"cached": str(cache_dir / name)}
            out["original"].append(kept)
        report = _one(version, tool, args)
        if original is not None:
            sanitize.mark_new(report, kept["errors"])
        out["version"].append(report)
    return out, used_original


def _print(reports: dict[str, Any], tools: list[str]) -> None:
    label = reports.get("label", "version")
    reps = reports["version"]
    kernel = reps[0]["kernel"]
    clean = [r["tool"] for r in reps if not r["errors"]]
    for r, orig in zip(reps, reports.get("original") or [None] * len(reps)):
        if not r["errors"]:
            continue
        new = sum(1 for e in r["errors"] if e.get("new"))
        against = ""
        if orig is not None:
            n = len(orig["errors"])
            against = f", {new} new (the original: {n} error{'s' if n != 1 else ''}" + \
                      (", kept from an earlier check)" if orig.get("cached") else ")")
        print(f"{kernel} {label} under {r['tool']}: {len(r['errors'])} error{'s' if len(r['errors']) != 1 else ''}"
              f"{against}")
        for e in r["errors"]:
            mark = {True: "new  ", False: "     "}.get(e.get("new"), "")
            print(f"  {mark}{e['line']}")
        if r.get("dropped"):
            print(f"  compute-sanitizer left {r['dropped']} more records out (its error buffer overflowed): "
                  "the lines above may not be all")
    if clean:
        print(f"{kernel} {label}: no errors under {', '.join(clean)}")

"""``workbench passes``: the IR after every pass of a kernel's MLIR stages, as files and a table;
and ``workbench compile NN-<stage>-<pass>.mlir``, the restart after that pass."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from workbench.cli.common import (add_script_timeout, compile_row, compiler_target, lock_workspace, make_compiler,
                                  print_rows, print_table)
from workbench.model.diagnostics import WorkbenchError

STAGES = ("ttir", "ttgir", "llir")


def add(subparsers) -> None:
    p = subparsers.add_parser(
        "passes", help="the IR after every pass of the TTIR, TTGIR and LLIR stages, as files and a table",
        description="Record the IR after each pass Triton runs (its own stage functions, this version's pass "
                    "list), write passes/NN-<stage>-<pass>.mlir (in the workspace by default) and print the "
                    "table. `workbench compile passes/NN-....mlir` restarts after that pass.")
    p.add_argument("input", metavar="SCRIPT|LEVEL_FILE", help="a script (arguments after -- go to it), or a "
                                                               ".ttir/.ttgir file (its stages below are recorded)")
    p.add_argument("--kernel", help="only this kernel (name, or <kernel>-<spec> folder name)")
    p.add_argument("--stage", choices=STAGES, help="only the passes of this stage")
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
        return _level_file(args, path)
    if path.suffix.lower() != ".py":
        raise WorkbenchError.at(str(path), "not a script or a .ttir/.ttgir file (the passes below LLIR are "
                                           "LLVM's and ptxas's, not MLIR's)")
    lock = None if args.out or args.version is not None else lock_workspace(path)
    try:
        return _script(args, path)
    finally:
        if lock is not None:
            lock.release()


def _script(args, script: Path) -> int:
    from workbench.compiler import passes
    from workbench.runtime.capture.script import run_script
    from workbench.session.workspace import Workspace

    compiler = make_compiler(args.target)
    capture = run_script(script, args.script_args, target=compiler_target(compiler),
                         mode="interpret" if args.interpret else "auto", time_limit=args.script_timeout)
    if capture.error is not None:
        print(str(capture.error), file=sys.stderr)
    for note in capture.notes:
        print(f"note: {note}", file=sys.stderr)
    specs = capture.select(args.kernel)
    if not capture.specs:
        raise WorkbenchError.at(str(script), "the script launched no Triton kernel")
    if not specs:
        known = ", ".join(sorted({s.kernel for s in capture.specs}))
        raise WorkbenchError.at(str(script), f"no kernel named {args.kernel!r} was launched (launched: {known})")
    home = Workspace(args.workspace) if args.workspace else Workspace.beside(script)
    if args.version is not None:
        if len(specs) > 1:
            raise WorkbenchError.at(str(script), "--version needs one kernel: name it with --kernel")
        return _compare_version(args, compiler, specs[0], home)
    out_root = Path(args.out) if args.out else None
    report = []
    for spec in specs:
        result = compiler.compile_spec(spec, with_sass=False, record_passes=_stages(args))
        folder = out_root / spec.folder_name if out_root else home.kernel_dir(spec.folder_name) / "passes"
        report.append(_write(args, passes.pass_list(result.passes), folder, spec.kernel, result,
                             {"kernel": spec.kernel, "spec": spec.spec_id}))
    _print(args, compiler_target(compiler), report)
    return 0


def _level_file(args, path: Path) -> int:
    from workbench.compiler import metadata as md, passes
    meta_path = Path(args.metadata) if args.metadata else md.find_beside(path)
    base = md.load(meta_path) if meta_path else None
    compiler = make_compiler(args.target or _stated_target(base, meta_path))
    result = compiler.compile_file(path, base, with_sass=False, record_passes=_stages(args))
    folder = Path(args.out) if args.out else path.parent / "passes"
    report = [_write(args, passes.pass_list(result.passes), folder, result.name, result,
                     {"kernel": result.name, "input": str(path)})]
    _print(args, compiler_target(compiler), report)
    return 0


def _stages(args) -> tuple[str, ...]:
    """The stages to record: reading the IR after each pass costs time, so only those asked for."""
    return (args.stage,) if args.stage else STAGES


def _write(args, plist, folder: Path, kernel: str, result, head: dict[str, Any]) -> dict[str, Any]:
    from workbench.compiler import passes
    passes.write_pass_files(plist, folder, kernel, result.metadata_json())
    rows = [p.summary() for p in plist if args.stage is None or p.stage == args.stage]
    return {**head, "folder": str(folder), "passes": rows}


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


def _stated_target(base: dict | None, meta_path: Path | None) -> str | None:
    if not base or not base.get("target"):
        return None
    from workbench.compiler import compat
    try:
        return compat.target_str(compat.target_from_json(base["target"]))
    except compat.TargetError as e:
        raise WorkbenchError.at(str(meta_path), f"its target: {e}") from None


# -- a saved version against the original -----------------------------------------------------

def _compare_version(args, compiler, spec, home) -> int:
    from workbench.compiler import passes
    try:
        info = home.version(spec.folder_name, args.version)
    except KeyError:
        raise WorkbenchError.at(str(home.versions_dir(spec.folder_name)), f"no version {args.version} of "
                                                                          f"{spec.folder_name}") from None
    rows = passes.compare_version(compiler, spec, info)
    differ = [r for r in rows if r["decided_otherwise"]]
    if args.json:
        json.dump({"target": compiler_target(compiler), "kernel": spec.kernel, "version": args.version,
                   "level": info.level, "passes": rows}, sys.stdout, indent=2)
        print()
        return 0
    print(f"{spec.kernel} version {args.version} (edited at {info.level}) against the original: the passes that "
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


# -- workbench compile NN-<stage>-<pass>.mlir ---------------------------------------------------

def compile_pass_file(args, path: Path) -> int:
    """The restart after the pass a file's header names, through the rest of its stage and below."""
    from workbench.compiler import metadata as md, passes
    from workbench.model import srcmap
    try:
        text = path.read_text()
    except UnicodeDecodeError as e:
        raise WorkbenchError.at(str(path), f"not UTF-8 text: byte 0x{e.object[e.start]:02x} cannot be read",
                                e.object.count(b"\n", 0, e.start) + 1) from None
    header = passes.read_pass_header(path, text)
    meta_path = Path(args.metadata) if args.metadata else header.metadata
    if meta_path is None or not meta_path.is_file():
        raise WorkbenchError.at(str(path), f"the metadata it names ({meta_path}) is not there: pass --metadata", 2)
    base = md.load(meta_path)
    compiler = make_compiler(args.target or _stated_target(base, meta_path))
    result = compiler.compile_level("", text, base, file=str(path), with_sass=not args.no_sass,
                                    after_pass=(header.stage, header.index))
    out = Path(args.out) if args.out else path.parent
    files = result.write(out, path.stem)
    if args.json:
        json.dump({"target": compiler_target(compiler), "input": str(path), "after": [header.stage, header.index],
                   "result": result.summary(), "files": {k: str(v) for k, v in files.items()},
                   "srcmap": srcmap.build(result.levels, result.sass_lines,
                                          sass_ptx_lines=result.sass_ptx_lines).to_json()}, sys.stdout, indent=2)
        print()
    else:
        row = compile_row(None, result)
        row["spec"] = f"after {path.stem}"
        print_table([row], compiler_target(compiler))
        print(f"levels after {path.name} written to {out}")
    return 0

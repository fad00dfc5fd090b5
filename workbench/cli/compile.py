"""``workbench compile SCRIPT``: capture a script's launches, write every level of each kernel;
``workbench compile LEVEL_FILE``: compile a .ttir/.ttgir/.llir/.ptx/.cubin to the levels below."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from workbench.cli.common import (EXIT_OK, EXIT_USAGE_OR_INPUT, LEVEL_SUFFIXES, add_script_timeout, compile_row,
                                  compiler_target, lock_workspace, make_compiler, print_table)


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
    if path.suffix.lower() in LEVEL_SUFFIXES:
        return _compile_level_file(args, path)
    if path.suffix.lower() == ".mlir":  # the IR after a pass, written by `workbench passes`
        from workbench.cli.passes import compile_pass_file
        return compile_pass_file(args, path)
    lock = None if args.out else lock_workspace(path)
    try:
        return _compile_script(args, path)
    finally:
        if lock is not None:
            lock.release()


def _compile_script(args, script: Path) -> int:
    from workbench.model import srcmap
    from workbench.runtime.capture.script import run_script
    from workbench.model.diagnostics import WorkbenchError
    from workbench.session.workspace import Workspace

    compiler = make_compiler(args.target)
    script_args = args.script_args
    mode = "interpret" if args.interpret else "auto"
    capture = run_script(script, script_args, target=compiler_target(compiler), mode=mode,
                         time_limit=args.script_timeout)
    specs = capture.select(args.kernel)
    if capture.error is not None:
        print(str(capture.error), file=sys.stderr)
    for note in capture.notes:
        print(f"note: {note}", file=sys.stderr)
    if not capture.specs:
        raise WorkbenchError.at(str(script), "the script launched no Triton kernel")
    if not specs:
        known = ", ".join(sorted({s.kernel for s in capture.specs}))
        raise WorkbenchError.at(str(script), f"no kernel named {args.kernel!r} was launched (launched: {known})")
    out_root = Path(args.out) if args.out else Workspace.beside(script).root
    rows, failures, kernels = [], 0, []
    for spec in specs:
        folder = out_root / spec.folder_name / ("" if args.out else "original")
        try:
            result = compiler.compile_spec(spec, with_sass=not args.no_sass)
        except WorkbenchError as e:
            failures += 1
            for d in e.diagnostics:
                print(str(d), file=sys.stderr)
            kernels.append({"spec": spec.to_json(), "error": e.to_json()})
            continue
        files = result.write(folder, spec.stem)
        rows.append(compile_row(spec, result))
        entry: dict[str, Any] = {"spec": spec.to_json(), "result": result.summary(),
                                 "files": {k: str(v) for k, v in files.items()},
                                 "launches": [lc.to_json() for lc in capture.launches_of(spec.spec_id)]}
        if args.json:
            entry["srcmap"] = srcmap.build(result.levels, result.sass_lines, result.python,
                                           result.sass_ptx_lines).to_json()
        kernels.append(entry)
    if args.json:
        json.dump({"target": compiler_target(compiler), "script": str(script.resolve()), "mode": capture.mode,
                   "notes": capture.notes, "script_error": capture.error.to_json() if capture.error else None,
                   "out": str(out_root), "kernels": kernels}, sys.stdout, indent=2)
        print()
    else:
        print_table(rows, compiler_target(compiler))
        if rows:
            print(f"levels written under {out_root}")
    return EXIT_USAGE_OR_INPUT if failures else EXIT_OK


def _compile_level_file(args, path: Path) -> int:
    from workbench.compiler import metadata as md
    from workbench.model import srcmap
    from workbench.model.level_files import level_of
    from workbench.compiler.sources import read_level_file

    level = level_of(path)
    compiler = make_compiler(args.target) if args.target else None  # an unknown target is said first
    meta_path = Path(args.metadata) if args.metadata else md.find_beside(path)
    base = md.load(meta_path) if meta_path else None
    if compiler is None:  # what the level (or its metadata) says it is for
        content = read_level_file(path)
        facts = md.level_facts(level, content) if isinstance(content, str) else {}
        stated = md.stated_target(facts)
        if stated is None and base and base.get("target"):
            from workbench.compiler import compat
            from workbench.model.diagnostics import WorkbenchError
            try:
                stated = compat.target_str(compat.target_from_json(base["target"]))
            except compat.TargetError as e:
                raise WorkbenchError.at(str(meta_path), f"its target: {e}") from None
        compiler = make_compiler(stated)
    result = compiler.compile_file(path, base, with_sass=not args.no_sass)
    out = Path(args.out) if args.out else path.parent
    files = result.write(out, path.stem)
    if level in files and out.resolve() == path.parent.resolve():
        files.pop(level)  # the input itself is never rewritten
    if args.json:
        json.dump({"target": compiler_target(compiler), "input": str(path), "level": level,
                   "result": result.summary(), "files": {k: str(v) for k, v in files.items()},
                   "srcmap": srcmap.build(result.levels, result.sass_lines,
                                          sass_ptx_lines=result.sass_ptx_lines).to_json()}, sys.stdout, indent=2)
        print()
    else:
        print_table([compile_row(None, result)], compiler_target(compiler))
        print(f"levels below {level} written to {out}")
    return EXIT_OK

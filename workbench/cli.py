"""The ``workbench`` command.

``workbench compile SCRIPT``      capture a script's launches, write every level of each kernel
``workbench compile LEVEL_FILE``  compile a .ttir/.ttgir/.llir/.ptx/.cubin to the levels below

Errors in the user's input print as ``FILE:LINE:COL: error: ...`` and exit with status 2;
a traceback means a bug of ours.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_USAGE_OR_INPUT = 0, 2
DEFAULT_SCRIPT_TIMEOUT = 300.0

LEVEL_SUFFIXES = (".ttir", ".ttgir", ".llir", ".ptx", ".cubin", ".amdgcn", ".hsaco")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description="A terminal workbench for Triton kernels.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

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

    r = sub.add_parser("run", help="replay a script's kernels (or an edited level) and verify them against the "
                                   "original; --bench times them",
                       description="Capture SCRIPT's launches, replay each kernel on fresh copies of its captured "
                                   "inputs and check every output against the original kernel's. --from LEVEL_FILE "
                                   "compiles an edited level first and runs that version. Without a GPU, Python-"
                                   "level kernels run in Triton's interpreter; IR levels are compiled only.")
    r.add_argument("script", metavar="SCRIPT", help="arguments after -- go to the script")
    r.add_argument("--kernel", help="only this kernel (name, or <kernel>-<spec> folder name)")
    r.add_argument("--from", dest="from_file", metavar="LEVEL_FILE",
                   help="an edited .py/.ttir/.ttgir/.llir/.ptx/.cubin of one of the script's kernels")
    r.add_argument("--bench", action="store_true", help="time each version (CUDA events, L2 flushed per run)")
    r.add_argument("--graph", action="store_true", help="with --bench: time launches inside a CUDA graph")
    r.add_argument("--warmup", type=float, default=25.0, metavar="MS", help="warm-up budget (default 25 ms)")
    r.add_argument("--rep", type=float, default=100.0, metavar="MS", help="timing budget (default 100 ms)")
    r.add_argument("--flops", metavar="EXPR", help="FLOPs per launch over the arguments, e.g. '2*M*N*K'")
    r.add_argument("--atol", type=float, help="absolute tolerance (default: by dtype)")
    r.add_argument("--rtol", type=float, help="relative tolerance (default: by dtype)")
    r.add_argument("--target", help="compile target (default: the GPU's, else cuda:90)")
    r.add_argument("--timeout", type=float, default=20.0, metavar="S",
                   help="a kernel running longer is stopped and the runner restarted (default 20 s)")
    add_script_timeout(r)
    r.add_argument("--workspace", help="workspace folder (default: .workbench/<script> beside the script)")
    r.add_argument("--config", action="append", metavar="K=V,...",
                   help="try a config the script does not list, e.g. 'BLOCK_M=128,num_warps=8' (repeatable)")
    r.add_argument("--sweep", metavar="K=V1,V2 ...", help="try every combination, e.g. 'BLOCK_M=64,128 num_warps=4,8'")
    r.add_argument("--grid", metavar="EXPR", help="with --config/--sweep, where the script's grid is fixed numbers: "
                                                  "the grid over arguments and meta-parameters, e.g. "
                                                  "'cdiv(M, BLOCK_M) * cdiv(N, BLOCK_N)'")
    r.add_argument("--json", action="store_true", help="machine-readable output")
    _add_extra_commands(sub)
    return p


def add_script_timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument("--script-timeout", type=float, default=DEFAULT_SCRIPT_TIMEOUT, metavar="S",
                   help="the script is stopped after S seconds, at the line it is on; launches it made are "
                        f"kept (default {DEFAULT_SCRIPT_TIMEOUT:.0f} s)")


def _add_extra_commands(sub) -> None:
    """Commands that live in modules of their own."""
    try:
        from workbench.dump_command import add_dump_command
    except ImportError:  # pragma: no cover - a partial checkout
        return
    add_dump_command(sub)
    from workbench.export_command import add_export_command
    add_export_command(sub)
    from workbench.passes_command import add_passes_command
    add_passes_command(sub)
    from workbench.profile_command import add_profile_command
    add_profile_command(sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):  # a name no encoding can print (a lone surrogate) prints escaped
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    # names this command in the workspace lock its runner takes ("in use by `workbench app x.py`")
    os.environ["WORKBENCH_COMMAND"] = shlex.join(["workbench", *argv])
    if _wants_app(argv):  # `workbench`, `workbench SCRIPT.py`, `workbench app [SCRIPT]`: the app
        # no garbage collection until the first frame (the app turns it on then): the imports and
        # the first frame make ~300k objects that all live on, and scanning them on the way cost
        # ~50 ms of a ~300 ms start (CPU time, 2-core EPYC)
        gc.disable()
        from workbench.tui.app import run_app
        return run_app(argv)
    script_args: list[str] = []
    if "--" in argv:  # everything after -- belongs to the user's script
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1:]
    args = parser.parse_args(argv)
    args.script_args = script_args
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    if args.command == "compile":
        return _guarded(cmd_compile, args)
    if args.command == "run":
        return _guarded(cmd_run, args)
    if args.command == "dump":
        from workbench.dump_command import run_dump_command
        return _guarded(run_dump_command, args)
    if args.command == "export":
        from workbench.export_command import run_export_command
        return _guarded(run_export_command, args)
    if args.command == "passes":
        from workbench.passes_command import run_passes_command
        return _guarded(run_passes_command, args)
    if args.command == "profile":
        from workbench.profile_command import run_profile_command
        return _guarded(run_profile_command, args)
    parser.error(f"unknown command {args.command}")
    return EXIT_USAGE_OR_INPUT


def _wants_app(argv: list[str]) -> bool:
    head = argv[0] if argv else None
    return head is None or head == "app" or head == "--" or (head.endswith(".py") and not head.startswith("-"))


class _Stopped(BaseException):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C, so a runner is stopped on the way out."""


def _stop(signum, frame) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):  # a second one must not interrupt the cleanup
        signal.signal(sig, signal.SIG_IGN)
    raise _Stopped(signum)


# what each command's user does when the system refuses a file (read-only, full)
ELSEWHERE = {"compile": "--out DIR writes the levels elsewhere", "run": "--workspace DIR puts the workspace elsewhere",
             "export": "--out DIR writes the export elsewhere"}


def _guarded(fn, args) -> int:
    from workbench.core.errors import WorkbenchError, os_error
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    try:
        return fn(args)
    except WorkbenchError as e:
        for d in e.diagnostics:
            print(str(d), file=sys.stderr)
        return EXIT_USAGE_OR_INPUT
    except OSError as e:  # a file the system refused (read-only, full, a folder): its path and what to do
        print(str(os_error(e, elsewhere=ELSEWHERE.get(args.command, ""))), file=sys.stderr)
        return EXIT_USAGE_OR_INPUT
    except KeyboardInterrupt:
        return 130
    except _Stopped as e:
        print(f"workbench: stopped by {signal.Signals(e.args[0]).name}", file=sys.stderr)
        return 128 + e.args[0]


EXIT_MISMATCH = 1


def _runner_error(e) -> int:
    for line in e.lines():
        print(line, file=sys.stderr)
    return EXIT_USAGE_OR_INPUT


def _check_from_file(path: Path) -> None:
    """Before the script runs (it may take minutes): --from names an existing level file."""
    from workbench.core.errors import WorkbenchError
    if path.is_dir():
        raise WorkbenchError.at(str(path), "is a folder, not a level file")
    if not path.is_file():
        raise WorkbenchError.at(str(path), "no such file")
    suffixes = (".py",) + LEVEL_SUFFIXES + (".mlir",)  # .mlir: the IR after a pass (`workbench passes`)
    if path.suffix.lower() not in suffixes:
        raise WorkbenchError.at(str(path), f"not a level file (expected one of {', '.join(suffixes)})")


def cmd_run(args) -> int:
    from workbench.runner.client import RunnerClient
    from workbench.runner.protocol import RunnerCrashed, RunnerError, diagnostic_line

    script = Path(args.script)
    if not script.is_file():
        from workbench.core.errors import WorkbenchError
        raise WorkbenchError.at(str(script), "is a folder, not a script" if script.is_dir() else "no such script")
    if args.from_file:
        _check_from_file(Path(args.from_file))
    if args.flops:   # refused before the script runs, as --from is
        from workbench.core.expr import parse
        parse(args.flops, "--flops")
    bench = {"warmup_ms": args.warmup, "rep_ms": args.rep, "graph": args.graph} if args.bench else None

    def progress(msg: dict) -> None:
        if not args.json and msg.get("what") == "script":
            print(f"running {msg['info']['script']} ({msg['info']['mode']})", file=sys.stderr)

    rows, results = [], []
    with RunnerClient(kernel_timeout=args.timeout) as client:
        if bench is not None and client.call("hello")["gpu"] is None:
            # the session refuses too (the app never asks): said before the script runs
            from workbench.core.bench import NO_GPU_TIMING
            from workbench.core.errors import WorkbenchError
            raise WorkbenchError.at(str(script), f"--bench: {NO_GPU_TIMING}: run without --bench to verify only, "
                                                 "or on a GPU")
        try:
            # the app (or another run) may hold the workspace: then this run works in a scratch copy
            opened = client.call("open", script=str(script.resolve()), argv=args.script_args, target=args.target,
                                 workspace=args.workspace, with_sass=False, if_busy="scratch",
                                 script_timeout=args.script_timeout, on_event=progress,
                                 elsewhere=ELSEWHERE["run"])
        except RunnerError as e:
            return _runner_error(e)
        status = EXIT_OK
        if opened.get("script_error"):
            if not args.json:
                print(diagnostic_line(opened["script_error"]), file=sys.stderr)
            if opened["script_error"].get("severity") == "error":
                status = EXIT_USAGE_OR_INPUT  # its launches still replay, but the script failed
        for note in opened.get("notes", []) if not args.json else []:
            print(f"note: {note}", file=sys.stderr)
        kernels = [k for k in opened["kernels"] if "error" not in k]
        for k in opened["kernels"]:
            if "error" in k:
                print("\n".join(RunnerError(k["error"]["message"], k["error"].get("diagnostics")).lines()),
                      file=sys.stderr)
                status = EXIT_USAGE_OR_INPUT
        wanted = _kernel_for_file(args, kernels) if args.from_file else args.kernel
        if wanted is not None:
            kernels = [k for k in kernels if wanted in (k["spec"]["kernel"], k["spec"]["spec_id"],
                                                        k["spec"]["folder_name"])]
            if not kernels:
                names = ", ".join(sorted({k["spec"]["kernel"] for k in opened["kernels"]}))
                print(f"{script}: error: no kernel {wanted!r} was launched (launched: {names})", file=sys.stderr)
                return EXIT_USAGE_OR_INPUT
        for k in kernels:
            spec_id = k["spec"]["spec_id"]
            common = dict(bench=bench, flops=args.flops, atol=args.atol, rtol=args.rtol)
            try:
                res = [client.call("run", kernel=spec_id, **common)]
                if args.from_file:  # a new version; edit/ is the app's, never written from here
                    # (absolute, not resolved: a linked file is named as the user named it)
                    res.append(client.call("apply", kernel=spec_id, path=os.path.abspath(args.from_file),
                                           update_edit=False, **common))
            except RunnerCrashed as e:
                print(f"error: {e.reason}", file=sys.stderr)
                status = EXIT_USAGE_OR_INPUT
                continue
            except RunnerError as e:
                status = _runner_error(e)
                continue
            for r in res:
                results.append(r)
                rows.append(_run_row(r))
                if r["status"] in ("mismatch", "error"):
                    status = max(status, EXIT_MISMATCH)
        if args.config or args.sweep:
            status = max(status, _try_configs(client, args, opened, kernels, bench, results, rows))
    from workbench.configs_report import config_tables
    tables = config_tables(opened.get("tunings", []), results)
    if args.json:
        json.dump({"script": str(script.resolve()), "mode": opened["mode"], "target": opened["target"],
                   "notes": opened["notes"], "script_error": opened.get("script_error"), "runs": results,
                   "configs": tables}, sys.stdout, indent=2)
        print()
    else:
        in_tables = {row["spec_id"] for t in tables for row in t["rows"]}
        rows = [row for row, r in zip(rows, results) if not (r["version"] == "original" and r["spec_id"] in in_tables)]
        print(f"target {opened['target']}" + ("" if opened["gpu"] else " (no GPU: Python level in the interpreter)"))
        _print_rows(rows)
        _print_config_tables(tables)
        for r in (r for r in results if not (r["version"] == "original" and r["spec_id"] in in_tables)):
            for o in r["outputs"]:
                if not o["ok"]:
                    print(f"  {r['kernel']} version {r['version']}: {o['sentence']}")
            for sentence in filter(None, (r["message"], r.get("caveat"))):
                print(f"  {r['kernel']} version {r['version']}: {sentence}")
            for key in ("vs_original", "vs_previous"):
                if r.get(key):
                    print(f"  {r[key]['sentence']}")
    return status


def _try_configs(client, args, opened: dict, kernels: list[dict], bench, results: list, rows: list) -> int:
    """--config and --sweep: each config compiled, replayed, verified and timed in the runner,
    added to its kernel's config table; a sweep shows its progress and stops on Ctrl-C keeping
    what finished."""
    from workbench.core.configs import parse_config, parse_sweep
    from workbench.runner.protocol import RunnerCrashed, RunnerError
    wanted = args.kernel or (kernels[0]["spec"]["kernel"] if len({k["spec"]["kernel"] for k in kernels}) == 1
                             else None)
    if wanted is None:
        names = ", ".join(sorted({k["spec"]["kernel"] for k in kernels}))
        print(f"{args.script}: error: --config/--sweep need --kernel (the script launched {names})", file=sys.stderr)
        return EXIT_USAGE_OR_INPUT
    todo = [parse_config(c) for c in args.config or []] + (parse_sweep(args.sweep) if args.sweep else [])
    status, t0 = EXIT_OK, time.monotonic()
    try:
        if len(todo) > 1:   # their compiles in worker processes, while the configs run one by one
            client.call("prefetch_configs", kernel=wanted, configs=todo, grid=args.grid)
        for i, config in enumerate(todo, 1):
            out = client.call("try_config", kernel=wanted, config=config, bench=bench, flops=args.flops,
                              atol=args.atol, rtol=args.rtol, grid=args.grid)
            tunings = opened.setdefault("tunings", [])
            if out["tuning_index"] < len(tunings):
                tunings[out["tuning_index"]] = out["tuning"]
            else:
                tunings.append(out["tuning"])
            results.append(out["result"])
            rows.append(_run_row(out["result"]))
            if out["result"]["status"] in ("mismatch", "error"):
                status = EXIT_MISMATCH
            if len(todo) > 1 and not args.json:
                elapsed = time.monotonic() - t0
                print(f"configs {i}/{len(todo)}, {elapsed:.1f} s elapsed, about {elapsed / i * (len(todo) - i):.0f} s "
                      f"to go", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"stopped after {len(results)} runs: the configs that finished are in the table", file=sys.stderr)
    except RunnerCrashed as e:
        print(f"error: {e.reason}", file=sys.stderr)
        status = EXIT_USAGE_OR_INPUT
    except RunnerError as e:
        status = _runner_error(e)
    return status


def _print_config_tables(tables: list[dict]) -> None:
    from workbench.configs_report import table_rows
    for t in tables:
        key = f" for key {t['key']}" if t["key"] is not None else ""
        pruned = f"; {t['pruned']} more pruned or not compiled" if t["pruned"] else ""
        tried = sum(row["tried"] for row in t["rows"])
        listed = len(t["rows"]) - tried
        what = f"{listed} autotune configs" if listed > 1 or t["key"] is not None else "its own config"
        print(f"\n{t['kernel']}: {what}{key}{f' and {tried} tried here' if tried else ''} on the same inputs "
              f"(* chosen, + tried, < fastest verified{pruned})")
        _print_rows(table_rows(t))
        for row in t["rows"]:
            for sentence in row["failed"] + [s for s in (row["message"], row["caveat"]) if s]:
                print(f"  {row['config']}: {sentence}")
        if t["verdict"]:
            print(f"  {t['verdict']}")


def _kernel_for_file(args, kernels: list[dict]) -> str | None:
    """The kernel an edited level file belongs to: --kernel, its workspace folder, or its stem."""
    if args.kernel:
        return args.kernel
    path = Path(os.path.abspath(args.from_file))  # a link is named by its own name, not its target's
    for k in kernels:
        if k["spec"]["folder_name"] in path.parts + path.resolve().parts:
            return k["spec"]["folder_name"]
    if path.suffix == ".mlir":   # a pass file (NN-<stage>-<pass>.mlir): its header names the kernel
        from workbench.core.passes import kernel_of_pass_file
        named = kernel_of_pass_file(path.read_text(errors="replace"))
        if named:
            return named
    for k in kernels:
        if path.stem in (k["spec"]["kernel"], k["spec"]["stem"]):
            return k["spec"]["kernel"]
    return path.stem


def _run_row(r: dict) -> dict[str, Any]:
    t = r.get("timing") or {}
    stats = t.get("stats") or {}
    verify = {"ok": "ok", "mismatch": "FAIL", "compiled-only": "compiled only", "error": "error"}[r["status"]]
    verify += ", inexact" if r.get("caveat") else ""   # (the interpreter's: said below the table)
    vs = r.get("vs_original")
    return {"kernel": r["kernel"], "spec": r["spec_id"], "version": r["version"],
            "from": r["level"], "verify": verify,
            "median us": f"{stats['median'] * 1e3:.2f}" if stats else "-",
            "spread": f"{stats['spread'] * 100:.1f}%" if stats else "-",
            "TFLOP/s": f"{t['tflops']:.1f}" if t.get("tflops") else "-",
            "GB/s": f"{t['gbps']:.0f}" if t.get("gbps") else "-",
            "vs original": f"{vs['ratio']:.3f}x" if vs else "-"}


def _target_error(text: str):
    from workbench.core.errors import WorkbenchError
    return WorkbenchError.at("--target", text)


# -- compile ---------------------------------------------------------------------------------

def cmd_compile(args) -> int:
    path = Path(args.input)
    if not path.exists():
        from workbench.core.errors import WorkbenchError
        raise WorkbenchError.at(str(path), "no such file")
    if path.suffix.lower() in LEVEL_SUFFIXES:
        return _compile_level_file(args, path)
    if path.suffix.lower() == ".mlir":  # the IR after a pass, written by `workbench passes`
        from workbench.passes_command import compile_pass_file
        return compile_pass_file(args, path)
    lock = None if args.out else _lock_workspace(path)
    try:
        return _compile_script(args, path)
    finally:
        if lock is not None:
            lock.release()


def _lock_workspace(script: Path):
    """Be the workspace's one writer while original/ is written (the app may have it open)."""
    from workbench.core.errors import WorkbenchError
    from workbench.core.lock import WorkspaceBusy, WorkspaceLock
    from workbench.core.workspace import Workspace
    lock = WorkspaceLock(Workspace.beside(script).root)
    try:
        lock.acquire()
    except WorkspaceBusy as busy:
        raise WorkbenchError.at(str(lock.root), f"workspace is in use by {busy.who}: --out DIR writes the levels "
                                                f"elsewhere") from None
    return lock


def _compiler(target: str | None):
    from workbench.core import compat
    from workbench.core.cache import StageCache, default_dir
    from workbench.core.pipeline import Compiler
    try:
        return Compiler(target, StageCache(default_dir()))
    except compat.TargetError as e:
        raise _target_error(str(e)) from None


def _compile_script(args, script: Path) -> int:
    from workbench.core import srcmap
    from workbench.core.capture import run_script
    from workbench.core.errors import WorkbenchError
    from workbench.core.workspace import Workspace

    compiler = _compiler(args.target)
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
        rows.append(_row(spec, result))
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
        _print_table(rows, compiler_target(compiler))
        if rows:
            print(f"levels written under {out_root}")
    return EXIT_USAGE_OR_INPUT if failures else EXIT_OK


def _compile_level_file(args, path: Path) -> int:
    from workbench.core import metadata as md, srcmap
    from workbench.core.levels import level_of
    from workbench.core.pipeline import read_level_file

    level = level_of(path)
    compiler = _compiler(args.target) if args.target else None  # an unknown target is said first
    meta_path = Path(args.metadata) if args.metadata else md.find_beside(path)
    base = md.load(meta_path) if meta_path else None
    if compiler is None:  # what the level (or its metadata) says it is for
        content = read_level_file(path)
        facts = md.level_facts(level, content) if isinstance(content, str) else {}
        stated = md.stated_target(facts)
        if stated is None and base and base.get("target"):
            from workbench.core import compat
            from workbench.core.errors import WorkbenchError
            try:
                stated = compat.target_str(compat.target_from_json(base["target"]))
            except compat.TargetError as e:
                raise WorkbenchError.at(str(meta_path), f"its target: {e}") from None
        compiler = _compiler(stated)
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
        _print_table([_row(None, result)], compiler_target(compiler))
        print(f"levels below {level} written to {out}")
    return EXIT_OK


def compiler_target(compiler) -> str:
    from workbench.core import compat
    return compat.target_str(compiler.target)


STAGE_COLUMNS = ("ttir", "ttgir", "llir", "ptx", "cubin", "sass")
AMD_STAGE_COLUMNS = ("ttir", "ttgir", "llir", "amdgcn", "hsaco")  # hip targets: no SASS


def _row(spec, result) -> dict[str, Any]:
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


def _print_table(rows: list[dict[str, Any]], target: str) -> None:
    if not rows:
        return
    print(f"target {target}")
    _print_rows(rows)


def _print_rows(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    headers = list(rows[0].keys())
    labels = {s: f"{s} ms" for s in STAGE_COLUMNS + AMD_STAGE_COLUMNS}
    cols = [labels.get(h, h) for h in headers]
    widths = [max(len(c), *(len(str(r[h])) for r in rows)) for c, h in zip(cols, headers)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip())
    for r in rows:
        print("  ".join(str(r[h]).ljust(w) for h, w in zip(headers, widths)).rstrip())

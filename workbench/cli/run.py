"""``workbench run SCRIPT``: replay a script's kernels (or an edited level) in the runner and
verify them against the original; ``--bench`` times them, ``--config``/``--sweep`` try configs."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from workbench.cli.common import (ELSEWHERE, EXIT_MISMATCH, EXIT_OK, EXIT_USAGE_OR_INPUT, LEVEL_SUFFIXES,
                                  add_script_timeout, print_rows)


def add(sub) -> None:
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
    r.set_defaults(func=run)


def _check_from_file(path: Path) -> None:
    """Before the script runs (it may take minutes): --from names an existing level file."""
    from workbench.model.diagnostics import WorkbenchError
    if path.is_dir():
        raise WorkbenchError.at(str(path), "is a folder, not a level file")
    if not path.is_file():
        raise WorkbenchError.at(str(path), "no such file")
    suffixes = (".py",) + LEVEL_SUFFIXES + (".mlir",)  # .mlir: the IR after a pass (`workbench passes`)
    if path.suffix.lower() not in suffixes:
        raise WorkbenchError.at(str(path), f"not a level file (expected one of {', '.join(suffixes)})")


def _runner_error(e) -> int:
    for line in e.lines():
        print(line, file=sys.stderr)
    return EXIT_USAGE_OR_INPUT


def run(args) -> int:
    from workbench.runner.client import RunnerClient
    from workbench.runner.protocol import RunnerCrashed, RunnerError, diagnostic_line

    script = Path(args.script)
    if not script.is_file():
        from workbench.model.diagnostics import WorkbenchError
        raise WorkbenchError.at(str(script), "is a folder, not a script" if script.is_dir() else "no such script")
    if args.from_file:
        _check_from_file(Path(args.from_file))
    if args.flops:   # refused before the script runs, as --from is
        from workbench.model.expr import parse
        parse(args.flops, "--flops")
    bench = {"warmup_ms": args.warmup, "rep_ms": args.rep, "graph": args.graph} if args.bench else None

    def progress(msg: dict) -> None:
        if not args.json and msg.get("what") == "script":
            print(f"running {msg['info']['script']} ({msg['info']['mode']})", file=sys.stderr)

    rows, results = [], []
    with RunnerClient(kernel_timeout=args.timeout) as client:
        if bench is not None and client.call("hello")["gpu"] is None:
            # the session refuses too (the app never asks): said before the script runs
            from workbench.model.diagnostics import NO_GPU_TIMING
            from workbench.model.diagnostics import WorkbenchError
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
    from workbench.model.configs_report import config_tables
    from workbench.model.results import RunResult
    tables = config_tables(opened.get("tunings", []), [RunResult.parse(r) for r in results])
    if args.json:
        json.dump({"script": str(script.resolve()), "mode": opened["mode"], "target": opened["target"],
                   "notes": opened["notes"], "script_error": opened.get("script_error"), "runs": results,
                   "configs": tables}, sys.stdout, indent=2)
        print()
    else:
        in_tables = {row["spec_id"] for t in tables for row in t["rows"]}
        rows = [row for row, r in zip(rows, results) if not (r["version"] == "original" and r["spec_id"] in in_tables)]
        print(f"target {opened['target']}" + ("" if opened["gpu"] else " (no GPU: Python level in the interpreter)"))
        print_rows(rows)
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
    from workbench.runtime.configs import parse_config, parse_sweep
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
    from workbench.model.configs_report import table_rows
    for t in tables:
        key = f" for key {t['key']}" if t["key"] is not None else ""
        pruned = f"; {t['pruned']} more pruned or not compiled" if t["pruned"] else ""
        tried = sum(row["tried"] for row in t["rows"])
        listed = len(t["rows"]) - tried
        what = f"{listed} autotune configs" if listed > 1 or t["key"] is not None else "its own config"
        print(f"\n{t['kernel']}: {what}{key}{f' and {tried} tried here' if tried else ''} on the same inputs "
              f"(* chosen, + tried, < fastest verified{pruned})")
        print_rows(table_rows(t))
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
        from workbench.compiler.passes import kernel_of_pass_file
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

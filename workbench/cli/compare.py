"""``workbench compare SCRIPT --triton X.Y.Z``: the script's kernels under this Triton and another,
side by side: resources, every level, the pass pipelines and the first pass whose output differs.

Two runners, one per release (a process holds one Triton): this interpreter's, and the same
interpreter with the other release first on its path (or ``--python``'s). Each opens the script
into a workspace of its own (``<workspace>/compare/<release>``) and records every pass; the
comparison is :mod:`workbench.instrument.compare`'s, on what they wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from workbench.cli.common import EXIT_MISMATCH, EXIT_OK, EXIT_USAGE_OR_INPUT, add_script_timeout, print_rows

NO_GPU = "outputs and timings need a GPU: the releases are compared as compiled, not run"
RAN = ("outputs and timings: the original exported once (its captured inputs and outputs) and its run.py "
       "replayed under each release in turns")


def add(sub) -> None:
    p = sub.add_parser("compare", help="the script's kernels under another Triton release: resources, every "
                                       "level, the passes and the first pass whose output differs",
                       description="Open SCRIPT in two runners, this Triton's and another release's, and compare "
                                   "each kernel specialization: num_warps, stages, registers, spills, shared "
                                   "memory and SASS instructions by class; every level (SSA names and locations "
                                   "aside); the pass pipelines aligned by name, and the first pass after which "
                                   "the IR differs, with that IR on both sides.")
    p.add_argument("script", metavar="SCRIPT", help="arguments after -- go to the script")
    other = p.add_mutually_exclusive_group(required=True)
    other.add_argument("--triton", metavar="X.Y.Z", help="the other release: from the workbench's cache or the "
                                                         "repository's .triton-versions/, else installed once "
                                                         "into the cache (pip install --target)")
    other.add_argument("--python", metavar="PATH", help="an interpreter of another environment, whose Triton is "
                                                        "the other release")
    p.add_argument("--kernel", help="only this kernel (its name)")
    p.add_argument("--target", help="compile target (default: the GPU's, else cuda:90)")
    p.add_argument("--workspace", help="where the two sides are written, under compare/<release> (default: "
                                       ".workbench/<script> beside the script)")
    p.add_argument("--show", metavar="LEVEL", choices=("ttir", "ttgir", "llir", "ptx", "sass"),
                   help="print this level's differences side by side")
    p.add_argument("--width", type=int, default=shutil.get_terminal_size((160, 40)).columns,
                   help="columns of the side-by-side rows (default: the terminal's)")
    p.add_argument("--repeats", type=int, default=3, metavar="N",
                   help="on a GPU: run each release's replay N times, in turns (default 3)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_script_timeout(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from workbench.compiler import releases
    from workbench.model.diagnostics import WorkbenchError
    from workbench.session.workspace import Workspace
    from workbench.runner.client import RunnerClient

    script = Path(args.script)
    if not script.is_file():
        raise WorkbenchError.at(str(script), "is a folder, not a script" if script.is_dir() else "no such script")
    if args.python:
        python = Path(args.python)
        if not (python.is_file() and os.access(python, os.X_OK)):
            raise WorkbenchError.at("--python", f"{python} is not an interpreter that can be run")
        pythons = [(sys.executable, releases.runner_env(None)), (str(python), releases.runner_env(None))]
    else:
        pythons = [(sys.executable, releases.runner_env(None)),
                   (sys.executable, releases.runner_env(releases.locate(args.triton)))]
    root = Path(args.workspace) if args.workspace else Workspace.beside(script).root
    with RunnerClient(env=pythons[0][1]) as this, RunnerClient([pythons[1][0], "-m", "workbench.runner"],
                                                              env=pythons[1][1]) as other:
        hellos = [_hello(client, what) for client, what in
                  ((this, sys.executable), (other, args.python or f"Triton {args.triton}"))]
        labels = _labels(hellos[0]["triton"], hellos[1]["triton"])
        with ThreadPoolExecutor(2) as pool:
            sides = list(pool.map(lambda s: _open_side(*s, args, script),
                                  [(this, labels[0], root), (other, labels[1], root)]))
        gpu = all(h.get("gpu") for h in hellos)
        report = _report(args, labels, sides)
        if gpu:
            for k in report["kernels"]:
                k["run"] = _run_both(this, k, root, [(label, *py) for label, py in zip(labels, pythons)], args)
    report["note"] = RAN if gpu else NO_GPU
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        _print(args, report)
    if not report["kernels"]:
        return EXIT_USAGE_OR_INPUT
    return EXIT_MISMATCH if any(k.get("run", {}).get("outputs_differ") for k in report["kernels"]) else EXIT_OK


def _run_both(this, k: dict[str, Any], root: Path, sides: list, args) -> dict[str, Any]:
    """The original exported by this release's runner, its run.py replayed under both releases."""
    from workbench.instrument import compare_run
    from workbench.runner.protocol import RunnerError
    from workbench.compiler.files import safe_name
    try:
        export = this.call("export", kernel=k["spec"][0], version="original", inputs="captured",
                           out=str(root / "compare" / "exports" / safe_name(f"{k['kernel']}-{k['spec'][0]}")))
    except RunnerError as e:
        return {"error": f"the original's export: {e.lines()[0]}"}
    return compare_run.side_by_side(Path(export["run"]), sides, repeats=args.repeats)


def _hello(client, what: str) -> dict[str, Any]:
    from workbench.model.diagnostics import WorkbenchError
    from workbench.runner.protocol import RunnerError
    try:
        return client.call("hello", timeout=120)
    except RunnerError as e:
        last = next((row for row in reversed(client.log) if row.strip()), e.message)
        raise WorkbenchError.at(what, f"its runner did not start ({last.strip()[:200]}): it needs torch, Triton "
                                      "and this workbench on its path") from None


def _labels(a: str, b: str) -> tuple[str, str]:
    """How the two sides are named: their releases (the second one ``X (2)`` when both are the same)."""
    return (a, b) if a != b else (a, f"{b} (2)")


def _open_side(client, label: str, root: Path, args, script: Path) -> dict[str, Any]:
    """One release's open and every kernel's passes; a release that cannot run the script or
    compile a kernel is one line."""
    from workbench.instrument import compare
    from workbench.compiler.files import safe_name
    from workbench.runner.protocol import RunnerError
    gpu = client.call("hello").get("gpu")
    try:
        opened = client.call("open", script=str(script.resolve()), argv=args.script_args, target=args.target,
                             mode="auto" if gpu else "compile-only", workspace=str(root / "compare" / safe_name(label)),
                             if_busy="scratch", script_timeout=args.script_timeout)
    except RunnerError as e:
        return {"label": label, "error": f"Triton {label}: {e.lines()[0]}", "kernels": []}
    kernels = []
    for entry in opened["kernels"]:
        if args.kernel and entry["spec"]["kernel"] != args.kernel:
            continue
        if "error" in entry:
            line = RunnerError(entry["error"]["message"], entry["error"].get("diagnostics")).lines()[0]
            kernels.append(compare.KernelSide(entry, error=f"Triton {label} cannot compile it: {line}"))
            continue
        try:
            rows = compare.pass_rows(client.call("passes", kernel=entry["spec"]["spec_id"]))
        except RunnerError as e:
            kernels.append(compare.KernelSide(entry, error=f"Triton {label}: its passes: {e.lines()[0]}"))
            continue
        kernels.append(compare.KernelSide(entry, rows))
    return {"label": label, "target": opened["target"], "workspace": str(root / "compare" / safe_name(label)),
            "kernels": kernels}


def _report(args, labels: tuple[str, str], sides: list[dict[str, Any]]) -> dict[str, Any]:
    from workbench.instrument import compare
    out: dict[str, Any] = {"script": args.script, "releases": list(labels), "target": sides[0].get("target"),
                           "workspaces": [s.get("workspace") for s in sides],
                           "errors": [s["error"] for s in sides if "error" in s], "kernels": []}
    for ea, eb in compare.pair([k.entry for k in sides[0]["kernels"]], [k.entry for k in sides[1]["kernels"]]):
        ka = next((k for k in sides[0]["kernels"] if k.entry is ea), None)
        kb = next((k for k in sides[1]["kernels"] if k.entry is eb), None)
        missing = [f"Triton {label} did not launch {(ea or eb)['spec']['kernel']}"
                   for label, k, side in zip(labels, (ka, kb), sides) if k is None and "error" not in side]
        out["errors"] += missing + [k.error for k in (ka, kb) if k is not None and k.error]
        if ka is None or kb is None or ka.error or kb.error:
            continue
        k = compare.compare_kernel(ka, kb, labels)
        for parted in k["passes"]["parted"]:   # the IR itself is in the files; the report keeps its differences
            parted["diff"] = compare.side_by_side(*parted.pop("ir"), compare.pass_level(parted["stage"]), args.width,
                                                  python=parted.pop("python"))
        source = compare.kernel_source(ka.entry.get("srcmap") or {})
        for level, d in k["levels"].items():   # --json: every level's differences (the app's Compare view)
            if args.json or level == args.show:
                d["diff"] = compare.side_by_side(ka.level(level), kb.level(level), level, args.width, limit=None,
                                                 python=compare.level_python(ka, kb, level, source))
        if args.show:
            k["show"] = k["levels"][args.show]["diff"]
        out["kernels"].append(k)
    return out


def _change(v: dict[str, Any]) -> str:
    if v["change"] is None:
        return ""
    return "=" if v["change"] == 0 else f"{v['change']:+d}"


def _number(n: int | None) -> str:
    return "-" if n is None else f"{n:02d}"


def _print_run(run: dict[str, Any] | None, a: str, b: str) -> None:
    if run is None:
        return
    if "error" in run:
        print(f"outputs and timings: {run['error']}")
        return
    for label in (a, b):
        side = run["sides"][label]
        said = (f"did not run: {side['error']}" if side["error"] else
                "outputs as the original's" if side["ok"] else "outputs DIFFER: " + "; ".join(side["mismatches"]))
        timing = "" if side["median_us"] is None else f", median {side['median_us']:.2f} us"
        print(f"Triton {label} on the captured inputs: {said}{timing}")
    if run["timing"]:
        print(run["timing"]["said"])


def _print_lines(lines: dict[str, Any], level: str, a: str, b: str) -> None:
    """A level's lines on each side by the kernel's Python line."""
    from workbench.instrument import compare
    rows = [r for r in lines["rows"] if level in r]
    if not rows:
        print(f"{compare.TITLES[level]}: no line maps to the kernel's Python source")
        return
    print(f"{compare.TITLES[level]} lines by the Python line they come from ({lines['file']}; --json: all):")
    print_rows([{"line": r["python"], f"{a}": _brief(r[level][0]), f"{b}": _brief(r[level][1]),
                 "python": r["source"][:60]} for r in rows])


def _brief(spans: str, most: int = 32) -> str:
    """Line spans cut at a comma to ``most`` columns, with how many lines in all."""
    from workbench.model.srcmap import from_spans
    if len(spans) <= most:
        return spans or "-"
    return f"{spans[:spans.rindex(',', 0, most)]},… ({len(from_spans(spans))} lines)"


def _print(args, report: dict[str, Any]) -> None:
    from workbench.instrument import compare
    a, b = report["releases"]
    for line in report["errors"]:
        print(line, file=sys.stderr)
    for k in report["kernels"]:
        print(f"{k['kernel']} (spec {k['spec'][0]} | {k['spec'][1]}), target {report['target']}: "
              f"Triton {a} | Triton {b}")
        names = dict(compare.RESOURCES)
        print_rows([{"": names[key], a: "-" if v["a"] is None else v["a"], b: "-" if v["b"] is None else v["b"],
                     "change": _change(v)} for key, v in k["resources"].items()])
        print("levels (SSA names and locations aside):")
        print_rows([{"level": compare.TITLES[lv], f"lines {a}": d["lines"][0], f"lines {b}": d["lines"][1],
                     "": "same" if d["same"] else f"+{d['added']} -{d['removed']} lines"}
                    for lv, d in k["levels"].items()])
        p = k["passes"]
        print(f"passes aligned by name: {p['only'][0]} only in {a}, {p['only'][1]} only in {b}, {p['moved']} moved")
        print_rows([{f"# {a}": _number(r["a"]), f"# {b}": _number(r["b"]), "stage": r["stage"], "pass": r["pass"],
                     "": "" if r["status"] == "both" else r["status"],
                     "IR after it": "?" if r["differs"] is None else
                     f"differs +{r['added']} -{r['removed']}" if r["differs"] else "same"} for r in p["rows"]])
        if not p["parted"]:
            print("the IR is the same after every pass")
        for n, f in enumerate(p["parted"]):
            what = "first pass whose output differs" if n == 0 else "the IR differs again after"
            print(f"{what}: {f['pass']} ({f['stage'].upper()} stage, {a} #{_number(f['a'])} | {b} #{_number(f['b'])}); "
                  f"its IR: {f['files'][0] or '-'} | {f['files'][1] or '-'}")
            print("\n".join(f["diff"]))
        _print_run(k.get("run"), a, b)
        if args.show:
            _print_lines(k["lines"], args.show, a, b)
            print(f"{compare.TITLES[args.show]}: Triton {a} | Triton {b} (@@: the Python lines a hunk comes from)")
            print("\n".join(k["show"]) or "(the same)")
        print()
    print(report["note"])

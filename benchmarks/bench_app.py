"""The app's own costs, measured side by side in one run (the CPU is printed with them):

- first screen: process start to the first full frame drawn (headless, with the bytes for the
  terminal made), the workbench app against an empty Textual app started the same way; the runner
  starts behind it and is not waited for. Textual repaints a few times after its first frame; the
  time it settles is printed too, and where the settled screen's text differs from the first
  frame's, the settled time is the one counted;
- save to result on screen: an outside save (write + rename, as an editor does) to its verdict
  drawn on the status line, less the compile time the runner reports for the stages below the
  saved level; a TTGIR save (compiled only without a GPU: no launch) isolates the app's part
  (watcher, debounce, request, reload, redraw); a Python save adds the interpreter's run and
  verification. The rest of the result (Outputs, the picker, the panes the runner rewrote) is
  drawn in the frame after the verdict's: the time to that frame is printed too ("all drawn").
  Each save starts once the previous one's request has ended (its SASS and timing after the
  verdict, on a GPU), so none waits behind another in the runner. The phases printed are the
  median run's, which add up to its total; the collector's pauses in the app process during a
  save are printed beside them (they land in whichever phase runs then);
- the app process's resident memory after opening and saving (must stay under 150 MB).

    .venv/bin/python benchmarks/bench_app.py [--runs N] [--json] [--first-screen-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import sys, time
t0 = float(sys.argv[1]); kind = sys.argv[2]


def watch_first_frame(App):
    # the first full frame the app draws, with the bytes a terminal would be sent for it made
    # (headless, Textual makes the frame and sends nothing); its rows, to compare with the
    # screen once the app has settled (Textual repaints a few times after it: a widget's size
    # found at its first render, the focus, the toasts' layer)
    from textual._compositor import LayoutUpdate
    seen = {}
    real = App._display

    def _display(self, screen, renderable):
        if "at" not in seen and isinstance(renderable, LayoutUpdate):
            renderable.render_segments(self.console)
            seen["at"] = time.time() - t0
            seen["rows"] = rows_of(renderable)
        return real(self, screen, renderable)
    App._display = _display
    return seen


def rows_of(update):
    return ["".join(strip.text for strip in row) for row in update.strips]


def settled(app, seen):
    if seen.get("done"):
        return
    seen["done"] = True
    now = rows_of(app.screen._compositor.render_full_update())
    for row, (a, b) in enumerate(zip(seen.get("rows") or [], now)):
        if a != b:
            print(f"DIFF row {row}: {a.rstrip()!r} -> {b.rstrip()!r}", flush=True)
            break
    print(f"FIRST {seen.get('at', -1):.6f} SETTLED {time.time() - t0:.6f} SAME {int(now == seen.get('rows'))}",
          flush=True)
    app.exit()


if kind == "empty":
    from textual.app import App
    from textual.widgets import Static
    seen = watch_first_frame(App)
    class Bench(App):
        def compose(self):
            yield Static("empty")
        def on_mount(self):
            self.call_after_refresh(self.first_frame)
        def first_frame(self):
            settled(self, seen)
else:
    import gc
    gc.disable()   # as `workbench` does before it imports the app (cli.main); the app enables it
    from textual.app import App
    from workbench.tui.app import WorkbenchApp
    seen = watch_first_frame(App)
    class Bench(WorkbenchApp):
        def _first_frame(self):
            settled(self, seen)
    Bench = (lambda cls: (lambda: cls(sys.argv[3])))(Bench)
Bench().run(headless=True, size=(160, 48))
"""


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f" ({os.cpu_count()} cores)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


DIFFS: dict[str, str] = {}   # a row the settled screen changed, by app, for the report


def first_screen(kind: str, script: Path, env: dict) -> tuple[float, float]:
    """Seconds from the process's start to its first full frame, and to the screen settled
    (the first frame is the first screen only where the settled screen shows the same text)."""
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", CHILD, repr(t0), kind, str(script)], capture_output=True,
                          text=True, env=env, timeout=120)
    for line in proc.stdout.splitlines():
        if line.startswith("DIFF ") and kind not in DIFFS:
            DIFFS[kind] = line
        if line.startswith("FIRST "):
            _, first, _, settle, _, same = line.split()
            return (float(first) if same == "1" and float(first) > 0 else float(settle)), float(settle)
    raise RuntimeError(f"no first frame from the {kind} app: {proc.stderr[-2000:]}")


APP_PACKAGES = ("textual", "rich", "pygments", "watchdog", "markdown_it", "mdurl", "platformdirs")


def ensure_bytecode() -> list[str]:
    """Bytecode for the app's modules, as ``pip install`` leaves it: a checkout, a wheel installed
    with ``--no-compile``, or PYTHONDONTWRITEBYTECODE (set on these machines) would otherwise
    compile every module from source on every start, and the first screen would measure that.
    The packages' folders, and every other module the app imports (on the GPU machine
    typing_extensions, a lone module installed from a wheel without bytecode, cost 43 ms)."""
    import compileall
    import importlib.util
    folders = [ROOT / "workbench"]
    for name in APP_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            folders += [Path(p) for p in spec.submodule_search_locations]
    done = []
    for folder in folders:
        if os.access(folder, os.W_OK) and compileall.compile_dir(str(folder), quiet=1, workers=0):
            done.append(folder.name)
    listed = subprocess.run([sys.executable, "-c", IMPORTED], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    files = [Path(f) for f in listed.stdout.splitlines() if f.endswith(".py")]
    if files and all(compileall.compile_file(str(f), quiet=1) for f in files if os.access(f.parent, os.W_OK)):
        done.append(f"the {len(files)} modules it imports")
    return done


IMPORTED = """
import sys
import workbench.tui.app
from workbench.tui import widgets
for name in widgets._LAZY:   # the results tabs, imported just after the first frame
    getattr(widgets, name)
print("\\n".join(sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})))
"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def edit_loop(script: Path, runs: int) -> dict:
    import gc

    from workbench.tui.app import WorkbenchApp

    app = WorkbenchApp(script, bench={"warmup_ms": 1.0, "rep_ms": 5.0, "graph": False})
    out: dict = {"ttgir": [], "python": []}
    pauses: list[float] = []   # the collector's pauses in this (the app's) process, ms
    began: list[float] = []

    def collector(phase: str, _info: dict) -> None:
        if phase == "start":
            began[:] = [time.perf_counter()]
        elif began:
            pauses.append((time.perf_counter() - began[0]) * 1e3)
    gc.callbacks.append(collector)
    async with app.run_test(size=(160, 48)) as pilot:
        async def until(cond, timeout=120.0):
            deadline = time.monotonic() + timeout
            while not cond():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"timed out; status: {app.status.message}")
                await asyncio.sleep(0.002)

        def runner_idle() -> bool:   # the previous request ended, its SASS and timing too
            return not any(w.group in ("apply", "run") and not w.is_finished for w in app.workers)

        await until(lambda: app.last_good is not None)
        await pilot.pause(0.5)   # the open's own result drawn, and its timing asked for, before the first save
        out["rss_open_mb"] = rss_mb()
        for i in range(runs):
            for level, old, new in (("ttgir", "arith.addf", "arith.subf"), ("python", "x + y, mask", "x - y, mask")):
                await until(runner_idle)
                await pilot.pause(0.1)
                path = app.level_path(level)
                text = path.read_text()
                edited = text.replace(old, new, 1) if i % 2 == 0 else text.replace(new, old, 1)
                edited += f"\n// run {i}\n" if level == "ttgir" else f"\n# run {i}\n"
                before = app.last_good.version
                for key in ("result_on_screen", "all_on_screen"):
                    app.timeline.pop(key, None)
                tmp = path.with_name(f".{path.name}.bench")
                tmp.write_text(edited)
                pauses.clear()
                t0 = time.perf_counter()
                os.replace(tmp, path)
                tl = app.timeline   # this save's request, its result, and that result drawn, in that order
                await until(lambda: app.last_good.version != before and tl.get("save", 0) > t0
                            and tl.get("result", 0) > tl["save"] and tl.get("result_on_screen", 0) > tl["result"]
                            and tl.get("all_on_screen", 0) > tl["result"])
                total_ms = (tl["result_on_screen"] - t0) * 1e3
                gc_ms = sum(pauses)
                compile_ms = float(app.last_good.compile_ms or 0.0)
                times = app.last_good.times
                apply_ms, answer_ms = float(times.get("apply_ms") or 0.0), float(times.get("answer_ms") or 0.0)
                # the phases follow one another from the save to the verdict drawn: they add up to the total
                phases = {"watcher_ms": (tl["seen"] - t0) * 1e3,
                          "to_request_ms": (tl["save"] - tl["seen"]) * 1e3,
                          # the request to the runner's apply: the pipe, the runner's reading of it
                          "pipe_to_runner_ms": (float(times.get("started_at") or tl["save"]) - tl["save"]) * 1e3,
                          "runner_apply_ms": apply_ms,
                          "runner_after_apply_ms": answer_ms - apply_ms,
                          # the answer to the app's event loop: the runner's encoding, the pipe, the reader thread
                          "pipe_to_app_ms": (tl["answer"] - float(times.get("answered_at") or tl["answer"])) * 1e3,
                          "to_handler_ms": (tl["result"] - tl["answer"]) * 1e3,
                          "to_screen_ms": (tl["result_on_screen"] - tl["result"]) * 1e3}
                if not times.get("started_at"):   # (a runner that does not say when it started: all in transport)
                    phases["pipe_to_runner_ms"] = (tl["answer"] - tl["save"]) * 1e3 - answer_ms
                    phases["pipe_to_app_ms"] = 0.0
                out[level].append({"total_ms": total_ms, "compile_ms": compile_ms, "phases": phases,
                                   "beyond_compile_ms": total_ms - compile_ms, "status": app.last_good.status,
                                   "all_drawn_ms": (tl["all_on_screen"] - t0) * 1e3, "gc_ms": gc_ms,
                                   "unaccounted_ms": total_ms - sum(phases.values())})
        await until(runner_idle)
        out["rss_after_saves_mb"] = rss_mb()
        out["torch_or_triton_loaded"] = sorted(m for m in ("torch", "triton") if m in sys.modules)
    gc.callbacks.remove(collector)
    return out


def median_run(runs: list[dict]) -> dict:
    """The run whose total is the median (the lower one of two): its phases add up to it."""
    ordered = sorted(runs, key=lambda r: r["total_ms"])
    return ordered[(len(ordered) - 1) // 2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--first-screen-only", action="store_true", help="the first screen's figures, no saves")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="wb-bench-app-"))
    script = work / "vector_add.py"
    shutil.copy(ROOT / "examples" / "vector_add.py", script)
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_CONFIG=str(work / "config.toml"))
    os.environ["WORKBENCH_CONFIG"] = env["WORKBENCH_CONFIG"]
    env.pop("COLUMNS", None), env.pop("LINES", None)

    compiled = ensure_bytecode()
    first: dict[str, list[float]] = {"empty": [], "workbench": []}
    settle_ms: dict[str, list[float]] = {"empty": [], "workbench": []}
    for _ in range(args.runs):  # interleaved, so both see the same machine
        for kind in first:
            at, settle = first_screen(kind, script, env)
            first[kind].append(at * 1e3)
            settle_ms[kind].append(settle * 1e3)
    med = {k: statistics.median(v) for k, v in first.items()}
    if args.first_screen_only:
        shutil.rmtree(work, ignore_errors=True)
        print(f"CPU: {cpu_name()}, Python {platform.python_version()}, {args.runs} runs each (medians)")
        for kind, at in med.items():
            print(f"  {kind:9s} first screen {at:7.1f} ms (min {min(first[kind]):.1f}; settled "
                  f"{statistics.median(settle_ms[kind]):.1f})")
        print(f"  ratio {med['workbench'] / med['empty']:.2f}x (issue 27: <= 1.3x)")
        for kind, line in DIFFS.items():
            print(f"  ({kind}: the settled screen differs from the first frame, e.g. {line[5:]})")
        return 0
    loop = asyncio.run(edit_loop(script, args.runs))
    shutil.rmtree(work, ignore_errors=True)

    result = {"cpu": cpu_name(), "python": platform.python_version(), "runs": args.runs,
              "bytecode_compiled_ahead": compiled,
              "first_screen_ms": {k: {"median": med[k], "min": min(v)} for k, v in first.items()},
              "settled_ms": {k: statistics.median(v) for k, v in settle_ms.items()},
              "first_screen_ratio": med["workbench"] / med["empty"],
              "save_to_result": {lv: {"median_total_ms": statistics.median(r["total_ms"] for r in loop[lv]),
                                      "median_compile_ms": statistics.median(r["compile_ms"] for r in loop[lv]),
                                      "median_beyond_compile_ms": statistics.median(r["beyond_compile_ms"]
                                                                                    for r in loop[lv]),
                                      "median_all_drawn_ms": statistics.median(r["all_drawn_ms"] for r in loop[lv]),
                                      "max_beyond_compile_ms": max(r["beyond_compile_ms"] for r in loop[lv]),
                                      "median_run": median_run(loop[lv]),
                                      "status": loop[lv][-1]["status"]} for lv in ("ttgir", "python")},
              "rss_mb": {"after_open": loop["rss_open_mb"], "after_saves": loop["rss_after_saves_mb"]},
              "torch_or_triton_in_app_process": loop["torch_or_triton_loaded"]}
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return 0
    print(f"CPU: {result['cpu']}, Python {result['python']}, {args.runs} runs each (medians)")
    e, w = result["first_screen_ms"]["empty"], result["first_screen_ms"]["workbench"]
    print(f"first screen (process start to first frame, headless; bytecode compiled ahead for "
          f"{', '.join(compiled) or 'nothing: not writable'}):")
    settle = result["settled_ms"]
    print(f"  empty Textual app   {e['median']:7.1f} ms (min {e['min']:.1f}; settled {settle['empty']:.1f})")
    print(f"  workbench app       {w['median']:7.1f} ms (min {w['min']:.1f}; settled {settle['workbench']:.1f})   "
          f"ratio {result['first_screen_ratio']:.2f}x   target < 500 ms")
    for kind, line in DIFFS.items():
        print(f"  ({kind}: the settled screen differs from the first frame, e.g. {line[5:]})")
    print("outside save to result on screen:")
    for lv, r in result["save_to_result"].items():
        extra = (" (compiled only: no launch without a GPU)" if r["status"] == "compiled-only" else
                 f" (launched and verified: {r['status']})")
        print(f"  {lv:6s} total {r['median_total_ms']:7.1f} ms, compile {r['median_compile_ms']:7.1f} ms, "
              f"beyond compile {r['median_beyond_compile_ms']:7.1f} ms (max {r['max_beyond_compile_ms']:.1f}); "
              f"all drawn {r['median_all_drawn_ms']:.1f} ms{extra}")
        run = r["median_run"]
        print(f"         the median run, {run['total_ms']:.1f} ms: "
              + ", ".join(f"{k[:-3].replace('_', ' ')} {v:.1f}" for k, v in run["phases"].items())
              + f" (left {run['unaccounted_ms']:.1f}; of all these, the app's collector {run['gc_ms']:.1f})")
    print(f"app process RSS: {result['rss_mb']['after_open']:.0f} MB after open, "
          f"{result['rss_mb']['after_saves']:.0f} MB after {2 * args.runs} saves   target < 150 MB")
    print(f"torch/triton in the app process: {result['torch_or_triton_in_app_process'] or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

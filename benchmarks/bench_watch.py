"""Save to result with 0 and 3 watched values (issue 11), through the runner process.

Each save is the runner's ``apply`` of an edited softmax (client round trip): compile, run,
verify and, with watches, the watched values dumped for the new version beside the
original's with their difference. The original's values are dumped once (the first save)
and cached: the first save is reported apart from the median of the others.

- CPU (no GPU): a Python edit, three Python-level watches (x, num, den), all through
  Triton's interpreter.
- GPU: a TTGIR edit, three TTGIR watches (the subtraction of the row max, the exp, the
  quotient stored), launched.

    python benchmarks/bench_watch.py [--runs N]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WORKBENCH_QUIET", "1")
RUNS = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5


def _edits(gpu: bool, edit: Path) -> tuple[list[str], list[str]]:
    """Two texts of the edited level that alternate (each save is a new version), and the
    three values to watch."""
    text = edit.read_text()
    if not gpu:
        a = text.replace("num = tl.exp(x)", "num = tl.exp(x) * 2.0")
        return [a, text], ["x", "num", "den"]
    rows = text.split("\n")

    def name(pattern: str) -> str:
        return re.match(r"\s*(%[\w.]+)", next(r for r in rows if re.search(pattern, r))).group(1)
    values = [name(r"= arith\.subf"), name(r"= math\.exp"), name(r"= arith\.divf")]
    sub = next(r for r in rows if "= arith.subf" in r)
    return [text.replace(sub, sub.replace("arith.subf", "arith.mulf")), text], values


def measure(watches: int) -> dict:
    import torch
    from workbench.runner.client import RunnerClient
    gpu = torch.cuda.is_available()
    level = "ttgir" if gpu else "python"
    work = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    try:
        script = work / "softmax.py"
        shutil.copyfile(ROOT / "examples" / "softmax.py", script)
        with RunnerClient() as client:
            opened = client.call("open", script=str(script), with_sass=False, workspace=str(work / "ws"))
            edit = Path(opened["kernels"][0]["edit"]) / f"softmax_kernel.{'ttgir' if gpu else 'py'}"
            texts, values = _edits(gpu, edit)
            for v in values[:watches]:
                client.call("watch_add", kernel="softmax_kernel", level=level, value=v, pid="all")
            times, inside = [], []
            for i in range(RUNS + 1):
                edit.write_text(texts[i % 2])
                t0 = time.perf_counter()
                out = client.call("apply", kernel="softmax_kernel", path=str(edit))
                times.append((time.perf_counter() - t0) * 1e3)
                inside.append(out["times"].get("watch_ms", 0.0))
                assert len(out["watches"]) == watches
        return {"watches": watches, "level": level, "first_ms": times[0], "median_ms": statistics.median(times[1:]),
                "watch_ms_median": statistics.median(inside[1:]), "runs": RUNS}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    import torch
    import triton
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu (interpreter)"
    print(f"device: {device}  torch {torch.__version__}  triton {triton.__version__}")
    none, three = measure(0), measure(3)
    ratio = three["median_ms"] / none["median_ms"]
    print(f"save -> result, softmax {three['level']} edit, runner round trip, median of {RUNS} saves")
    for r in (none, three):
        print(f"   {r['watches']} watched: {r['median_ms']:8.1f} ms (first save {r['first_ms']:.1f} ms, "
              f"dumps {r['watch_ms_median']:.1f} ms)")
    print(f"   3 watched / 0 watched: {ratio:.2f}x")
    print(json.dumps({"device": device, "zero": none, "three": three, "ratio": ratio}))


if __name__ == "__main__":
    main()

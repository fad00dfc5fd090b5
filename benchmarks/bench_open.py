"""What opening a script costs against running it with plain python (issue 25: at most 1.10x).

Each side is a fresh process, as a user starts either: ``python SCRIPT`` against the capture the
workbench makes when it opens the script (every launch seen at Triton's launcher, inputs and
outputs kept within the default snapshot limit). Alternating, N repeats; the median of the
per-pair ratios, with the range, and the median seconds of each side.

    python benchmarks/bench_open.py [SCRIPT] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 1.10
CAPTURE = ("import sys; from workbench.runtime.capture.script import run_script, DEFAULT_SNAPSHOT_LIMIT; "
           "cap = run_script(sys.argv[1], snapshot_limit=DEFAULT_SNAPSHOT_LIMIT); "
           "assert cap.error is None, cap.error; print(len(cap.specs), 'specs', len(cap.launches), 'launches')")


def timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    took = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"{' '.join(cmd[:3])}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return took, proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", nargs="?", default=str(ROOT / "benchmarks" / "scripts" / "liger_ops.py"))
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()
    script, repeat = Path(opts.script).resolve(), opts.repeat
    plain_cmd = [sys.executable, str(script)]
    open_cmd = [sys.executable, "-c", CAPTURE, str(script)]
    timed(plain_cmd)   # (Triton's and Inductor's caches warm, as for a user who ran it before)
    timed(open_cmd)
    ratios, plains, opens = [], [], []
    said = ""
    for i in range(repeat):
        if i % 2:
            o, said = timed(open_cmd)
            p, _ = timed(plain_cmd)
        else:
            p, _ = timed(plain_cmd)
            o, said = timed(open_cmd)
        plains.append(p)
        opens.append(o)
        ratios.append(o / p)
        print(f"  pair {i + 1}: plain {p:.2f} s, opened {o:.2f} s, {o / p:.3f}x", flush=True)
    ratio = statistics.median(ratios)
    print(f"script {script.name}: {said}")
    print(f"plain python  median {statistics.median(plains):.2f} s")
    print(f"opened        median {statistics.median(opens):.2f} s")
    print(f"ratio         median {ratio:.3f}x [{min(ratios):.3f}-{max(ratios):.3f}] over {repeat} pairs "
          f"(limit {LIMIT}x): {'ok' if ratio <= LIMIT else 'OVER'}")
    return 0 if ratio <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())

"""A PTX edit through the runner against ptxas alone, on the CPU (issue 31's third goal, all of it
but the load, the launch and the verify, which need a GPU: ``bench_runner.py`` part 2 has them).

matmul (sm_90) is opened in a runner in compile-only mode with SASS on, as the app opens it; each
round writes an edit of its PTX into edit/ (a new global: new content and a new binary, so no
cache of ours answers, nvdisasm included) and, on the same file, times

- ptxas alone, as Triton's backend calls it;
- the runner's ``apply`` of the edit (client round trip): to its verdict (the ``verdict`` event
  the app shows, asked for with ``verdict_first``) and to its answer (the SASS and the map after);
- the apply's steps (``WORKBENCH_SPANS=1``: named spans in the answer's ``times["spans"]``), and the
  pipe's share: the request to the apply's start, the verdict's event to the client (the runner's
  ``started_at`` and ``answered_at`` are on this process's clock).

Each is printed as a difference and a ratio against ptxas from the same run, medians of N.

    python benchmarks/bench_ptx_edit.py [--rounds N]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_compile import cpu_model  # noqa: E402  (benchmarks/ is this script's folder)

os.environ["WORKBENCH_SPANS"] = "1"   # the runner started below inherits it
os.environ.setdefault("WORKBENCH_QUIET", "1")

ROUNDS = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 9


def ptxas_ms(ptx: Path, target: str) -> float:
    """ptxas alone, as Triton 3.6's make_cubin calls it, on the same file."""
    from workbench.compiler import compat
    arch = target.split(":")[1]
    out = ptx.with_suffix(".bench.cubin")
    t0 = time.perf_counter()
    subprocess.run([compat.nvidia_tool("ptxas"), "-lineinfo", "-v", f"--gpu-name=sm_{arch}a", str(ptx), "-o",
                    str(out)], check=True, capture_output=True)
    ms = (time.perf_counter() - t0) * 1e3
    out.unlink()
    return ms


def edited(original: str, i: int) -> str:
    """The PTX with a global of its own: another cubin, the same kernel."""
    head, sep, rest = original.partition(".address_size 64\n")
    assert sep, "no .address_size line in the PTX"
    return f"{head}{sep}.global .align 4 .u32 wb_edit_{i}_{os.getpid()};\n{rest}"


def main() -> None:
    from workbench.runner.client import RunnerClient
    work = Path(tempfile.mkdtemp(prefix="bench-ptx-edit-"))
    script = work / "matmul.py"
    shutil.copyfile(ROOT / "examples" / "matmul.py", script)
    rows: dict[str, list[float]] = {"ptxas": [], "verdict": [], "answer": [], "pipe in": [], "pipe out": []}
    spans: list[dict[str, float]] = []
    with RunnerClient() as client:
        opened = client.call("open", script=str(script), mode="compile-only", target="cuda:90", with_sass=True)
        kernel = opened["kernels"][0]
        ptx = Path(kernel["edit"]) / "matmul_kernel.ptx"
        original = ptx.read_text()
        target = kernel["result"]["target"]
        for i in range(ROUNDS + 1):   # the first warms the runner's imports: left out
            ptx.write_text(edited(original, i))
            seen: dict[str, float] = {}

            def on_event(msg: dict, seen=seen) -> None:
                if msg.get("what") == "verdict":
                    seen["verdict"] = time.perf_counter()
                    seen["started_at"], seen["answered_at"] = (msg["info"]["times"].get(k) for k in
                                                               ("started_at", "answered_at"))

            t0 = time.perf_counter()
            answer = client.call("apply", kernel="matmul_kernel", path=str(ptx), verdict_first=True,
                                 on_event=on_event)
            t1 = time.perf_counter()
            assert answer["status"] == "compiled-only", answer
            p = ptxas_ms(ptx, target)
            if i == 0:
                continue
            rows["ptxas"].append(p)
            rows["answer"].append((t1 - t0) * 1e3)
            rows["verdict"].append((seen.get("verdict", t1) - t0) * 1e3)
            if seen.get("started_at") is not None:   # (the runner's clock is this one: CLOCK_MONOTONIC)
                rows["pipe in"].append((seen["started_at"] - t0) * 1e3)
                rows["pipe out"].append((seen["verdict"] - seen["answered_at"]) * 1e3)
            spans.append(answer["times"].get("spans", {}))
    shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in rows.items()}
    names = sorted({k for s in spans for k in s}, key=lambda k: -statistics.median(s.get(k, 0.0) for s in spans))
    parts = {k: statistics.median(s.get(k, 0.0) for s in spans) for k in names}
    base = med["ptxas"]
    print(f"CPU: {cpu_model()} ({os.cpu_count()} cores); matmul sm_90 PTX edit, compile-only runner, "
          f"median of {ROUNDS}")
    print(f"   ptxas alone                 {base:7.1f} ms")
    for key, what in (("verdict", "apply to its verdict"), ("answer", "apply to its answer")):
        print(f"   {what:27s} {med[key]:7.1f} ms  {med[key] - base:+6.1f} ms beyond ptxas  {med[key] / base:.3f}x")
    own = statistics.median(v - s.get("stage cubin", 0.0) for v, s in zip(rows["verdict"], spans))
    print(f"   to its verdict but its ptxas stage: {own:.1f} ms (the runner's own part, less noisy than the "
          "difference)")
    if rows["pipe in"]:
        print(f"   of which the pipe: the request to the apply's start {med['pipe in']:.2f} ms, the verdict's event "
              f"to the client {med['pipe out']:.2f} ms")
    print("   the apply's steps (ms, median; the ptxas stage holds ptxas):")
    for k, v in parts.items():
        print(f"      {k:28s} {v:7.2f}" + (f"   {v - base:+6.2f} beyond ptxas" if k == "stage cubin" else ""))
    print("\n" + json.dumps({"cpu": cpu_model(), "rounds": ROUNDS, "median_ms": med, "verdict_but_ptxas_stage_ms": own,
                      "spans_ms": parts}))


if __name__ == "__main__":
    main()

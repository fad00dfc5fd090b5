"""GPU benchmarks of issue 12: every autotune config timed, and a sweep.

1. Timing agreement: for each config of ``examples/autotuned_add.py`` and for matmul, the median of
   the workbench's timing against ``triton.testing.do_bench`` on the same launches, in the same
   process, interleaved (the ratio must be within 3%). At the examples' own sizes the kernels
   take ~5 us and do_bench disagrees with itself by more than 3% from one call to the next, so
   both are also run at sizes where a kernel takes 0.1-0.3 ms (the same scripts, larger inputs:
   2**25 elements, 4096**3); the limit is checked there, and beyond do_bench's own
   difference at the examples' sizes.
2. Sweep throughput over the matmul example: configs per second, with the compile time and the
   run time (replay + verify + timing) of each config separated; the same sweep with its
   compiles in worker processes (``Session.prefetch_configs``) and without, each on an empty
   stage cache and an empty Triton cache, in the same run.
3. Against ``triton.autotune`` (issue 31): the same N matmul configs benchmarked by Triton's
   autotuner from a cold cache (``TRITON_CACHE_DIR`` fresh), on the same inputs' sizes, wall
   time against the sweep's with its compiles in workers; the winning config of each side
   and its time as each side measured it.

    python benchmarks/bench_configs.py [--quick]

On a machine without a CUDA GPU it says so and exits with status 0.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import triton  # noqa: E402

from workbench.runtime import launch  # noqa: E402
from workbench.runtime.bench import BenchOptions  # noqa: E402
from workbench.runtime.configs import parse_sweep  # noqa: E402
from workbench.session.session import Session  # noqa: E402

QUICK = "--quick" in sys.argv
OPTIONS = BenchOptions(warmup_ms=10 if QUICK else 25, rep_ms=50 if QUICK else 100)


# the examples' inputs, made large enough that a kernel takes 0.1-0.3 ms on an H100/H200
LARGE = {"autotuned_add": [("n = 98432", "n = 1 << 25")],
         "matmul": [("M = N = K = 256", "M = N = K = 4096")]}


def _open(example: str, large: bool = False) -> Session:
    work = Path(tempfile.mkdtemp(prefix="bench-configs-"))
    text = (ROOT / "examples" / f"{example}.py").read_text()
    for old, new in LARGE[example] if large else ():
        assert old in text, (example, old)
        text = text.replace(old, new)
    (work / f"{example}.py").write_text(text)
    session = Session(work / f"{example}.py", workspace=work / "ws", with_sass=False,
                      snapshot_limit=8 << 30)   # (every config's inputs at the large sizes)
    session.open()
    return session


def timing_agreement(example: str, large: bool = False) -> list[dict]:
    session = _open(example, large)
    rows = []
    for sid, state in session.kernels.items():
        if state.snapshot is None:
            continue
        v = state.versions["original"]
        kernel = session.kernel(state, v)
        prepared = launch.prepare(state.spec, state.snapshot, check=False)
        ours, theirs, again = [], [], []

        def do_bench():
            return triton.testing.do_bench(lambda: kernel[prepared.grid](*prepared.bound), warmup=OPTIONS.warmup_ms,
                                           rep=OPTIONS.rep_ms, return_mode="median")
        for _ in range(3 if QUICK else 7):  # interleaved, so drift hits all alike
            ours.append(session.timing(state, v, OPTIONS, None).median)
            theirs.append(do_bench())
            again.append(do_bench())
        a, b, c = statistics.median(ours), statistics.median(theirs), statistics.median(again)
        label = ", ".join(f"{k}={v}" for k, v in state.spec.constexprs.items() if k.isupper())
        # do_bench against itself in the same run: the noise a 3% limit has to be read against
        rows.append({"example": example + (" (large)" if large else ""), "large": large, "config": label,
                     "num_warps": state.spec.options.get("num_warps"),
                     "workbench_us": a * 1e3, "do_bench_us": b * 1e3, "ratio": a / b, "do_bench_self": c / b})
    session.close()
    return rows


SWEEP = "BLOCK_M=64,128 BLOCK_N=64,128 BLOCK_K=32,64 num_warps=4,8" if not QUICK else "BLOCK_M=64,128 BLOCK_N=64,128"


def _cold_caches() -> None:
    """Empty stage and Triton caches for what runs next (the workers inherit them)."""
    os.environ["WORKBENCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-configs-cache-")
    os.environ["TRITON_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-configs-triton-")


def sweep_throughput(prefetch: bool) -> dict:
    _cold_caches()
    session = _open("matmul")
    combos = parse_sweep(SWEEP)
    grid = "cdiv(M, BLOCK_M) * cdiv(N, BLOCK_N)"
    rows, t0 = [], time.perf_counter()
    workers = session.prefetch_configs("matmul_kernel", combos, grid).get("workers", 0) if prefetch else 0
    for config in combos:
        c0 = time.perf_counter()
        out = session.try_config("matmul_kernel", config, OPTIONS, grid=grid)
        wall = (time.perf_counter() - c0) * 1e3
        res = out["result"]
        compile_ms = res["times"].get("compile_ms", 0.0)
        stats = (res.get("timing") or {}).get("stats") or {}
        rows.append({"config": config, "status": res["status"], "compile_ms": compile_ms,
                     "run_ms": wall - compile_ms, "median_us": stats.get("median", 0) * 1e3,
                     "message": res.get("message", "")})
    total = time.perf_counter() - t0
    session.close()
    return {"prefetch": prefetch, "workers": workers, "configs": len(rows), "seconds": total,
            "configs_per_s": len(rows) / total,
            "compile_ms_median": statistics.median(r["compile_ms"] for r in rows),
            "run_ms_median": statistics.median(r["run_ms"] for r in rows), "rows": rows}


def autotune_baseline(combos: list[dict]) -> dict:
    """``triton.autotune`` over the sweep's configs of the matmul example's kernel (the other
    meta-parameters as the example launches it), from cold caches, on inputs of the example's
    size: the wall time of the first call (every config compiled and benchmarked), the winner
    and every config's time as the autotuner measured it (its median)."""
    sys.path.insert(0, str(ROOT / "examples"))
    import matmul as example
    _cold_caches()
    # what the example launches with (examples/matmul.py), the sweep's values over it
    captured = {"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 64, "GROUP_M": 8, "num_warps": 8, "num_stages": 3}
    configs = []
    for combo in combos:
        full = captured | combo
        meta = {k: v for k, v in full.items() if k not in ("num_warps", "num_stages", "num_ctas", "maxnreg")}
        configs.append(triton.Config(meta, num_warps=full["num_warps"], num_stages=full["num_stages"]))
    tuned = triton.autotune(configs=configs, key=["M", "N", "K"])(triton.jit(example.matmul_kernel.fn))
    torch.manual_seed(0)
    M = N = K = 256
    a = torch.randn(M, K, device="cuda", dtype=torch.float16)
    b = torch.randn(K, N, device="cuda", dtype=torch.float16)
    c = torch.empty((M, N), device="cuda", dtype=torch.float16)
    grid = lambda meta: (triton.cdiv(M, meta["BLOCK_M"]) * triton.cdiv(N, meta["BLOCK_N"]),)  # noqa: E731
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    tuned[grid](a, b, c, M, N, K, a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1))
    torch.cuda.synchronize()
    seconds = time.perf_counter() - t0

    def name(config) -> dict:
        return {k: v for k, v in (config.kwargs | {"num_warps": config.num_warps}).items() if k in combos[0]}

    def median_us(timing) -> float:
        return (timing[0] if isinstance(timing, (list, tuple)) else timing) * 1e3
    return {"configs": len(configs), "seconds": seconds, "configs_per_s": len(configs) / seconds,
            "winner": name(tuned.best_config),
            "timings_us": [(name(cfg), median_us(t)) for cfg, t in tuned.configs_timings.items()]}


def against_autotune(sweep: dict, tuned: dict) -> dict:
    """The sweep against the autotuner: wall time, and each side's winner timed by both."""
    ours = {json.dumps(r["config"], sort_keys=True): r["median_us"] for r in sweep["rows"] if r["status"] == "ok"}
    theirs = {json.dumps(cfg, sort_keys=True): us for cfg, us in tuned["timings_us"]}
    our_winner = min(ours, key=ours.get) if ours else None
    their_winner = json.dumps(tuned["winner"], sort_keys=True)
    return {"sweep_s": sweep["seconds"], "autotune_s": tuned["seconds"], "ratio": sweep["seconds"] / tuned["seconds"],
            "workers": sweep["workers"], "configs": sweep["configs"],
            "our_winner": our_winner, "our_winner_us": {"workbench": ours.get(our_winner), "autotune": theirs.get(our_winner)},
            "their_winner": their_winner,
            "their_winner_us": {"workbench": ours.get(their_winner), "autotune": theirs.get(their_winner)}}


def main() -> int:
    if not torch.cuda.is_available():
        print("bench_configs: needs a CUDA GPU")
        return 0
    os.environ.setdefault("WORKBENCH_CACHE_DIR", tempfile.mkdtemp(prefix="bench-configs-cache-"))
    agreement = [row for example in ("autotuned_add", "matmul") for large in (False, True)
                 for row in timing_agreement(example, large)]
    serial, sweep = sweep_throughput(prefetch=False), sweep_throughput(prefetch=True)
    tuned = autotune_baseline([r["config"] for r in sweep["rows"]])
    versus = against_autotune(sweep, tuned)
    out = {"device": torch.cuda.get_device_name(), "cpu": platform.processor() or platform.machine(),
           "cpus": os.cpu_count(), "triton": triton.__version__, "agreement": agreement, "sweep": sweep,
           "sweep_serial": serial, "autotune": tuned, "against_autotune": versus}
    Path(os.environ.get("OUT", "."), "bench_configs.json").write_text(json.dumps(out, indent=1, default=str))
    print(f"device {out['device']}, triton {out['triton']}")
    print(f"{'example':<14} {'config':<44} {'warps':>5} {'workbench us':>12} {'do_bench us':>11} {'ratio':>6} "
          f"{'do_bench/do_bench':>17}")
    worst = worst_small = 0.0
    for r in agreement:
        if r["large"]:
            worst = max(worst, abs(r["ratio"] - 1))
        else:   # a ~5 us kernel's do_bench disagrees with itself by more than 3%: read it against that
            worst_small = max(worst_small, abs(r["ratio"] - 1) - max(0.0, abs(r["do_bench_self"] - 1) - 0.01))
        print(f"{r['example'][:22]:<22} {r['config'][:36]:<36} {r['num_warps']!s:>5} {r['workbench_us']:>12.2f} "
              f"{r['do_bench_us']:>11.2f} {r['ratio']:>6.3f} {r['do_bench_self']:>17.3f}")
    print(f"timing agreement at 0.1-0.3 ms: worst {worst * 100:.1f}% (limit 3%); at the examples' ~5 us: worst "
          f"{worst_small * 100:.1f}% beyond do_bench's own call-to-call difference")
    for run in (serial, sweep):
        how = f"compiles in {run['workers']} worker processes" if run["prefetch"] else "compiles in turn"
        print(f"sweep over matmul, {how}: {run['configs']} configs in {run['seconds']:.1f} s = "
              f"{run['configs_per_s']:.2f} configs/s; per config median compile {run['compile_ms_median']:.0f} ms, "
              f"run (replay, verify, time) {run['run_ms_median']:.0f} ms")
    print(f"  compiles in workers: {sweep['configs_per_s'] / serial['configs_per_s']:.2f}x the configs per second")
    for r in sweep["rows"]:
        print(f"  {r['config']}: {r['status']} {r['median_us']:.2f} us  compile {r['compile_ms']:.0f} ms "
              f"run {r['run_ms']:.0f} ms {r['message']}")
    v = versus

    def us(x) -> str:
        return "-" if x is None else f"{x:.2f} us"
    print(f"sweep vs triton.autotune, {v['configs']} matmul configs, cold caches, {os.cpu_count()} CPUs: sweep "
          f"({v['workers']} compile workers) {v['sweep_s']:.1f} s, autotune {v['autotune_s']:.1f} s, "
          f"ratio {v['ratio']:.3f} (goal < 1)")
    print(f"  sweep's winner {v['our_winner']}: workbench {us(v['our_winner_us']['workbench'])}, "
          f"autotune {us(v['our_winner_us']['autotune'])}")
    print(f"  autotune's winner {v['their_winner']}: workbench {us(v['their_winner_us']['workbench'])}, "
          f"autotune {us(v['their_winner_us']['autotune'])}")
    return 0 if worst <= 0.03 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Timing statistics and the noise verdict (CPU), and CUDA-event timing against
triton.testing.do_bench's own statistics (GPU)."""

from __future__ import annotations

import pytest


import torch

from workbench.runtime.bench import Timing, compare, eval_flops, summarize, tensor_bytes
from workbench.model.diagnostics import WorkbenchError


def test_statistics_match_torch():
    runs = [3.0, 1.0, 2.0, 10.0, 4.0, 2.5, 2.2]
    s = summarize(runs)
    t = torch.tensor(runs, dtype=torch.float64)
    assert s["median"] == 2.5 and s["min"] == 1.0 and s["max"] == 10.0 and s["runs"] == 7
    assert s["mean"] == pytest.approx(float(t.mean()))
    assert s["p20"] == pytest.approx(float(torch.quantile(t, 0.2)))
    assert s["p80"] == pytest.approx(float(torch.quantile(t, 0.8)))
    assert s["spread"] == pytest.approx((s["p80"] - s["p20"]) / 2.5)
    assert s["stdev"] == pytest.approx(float(t.std()))


def test_a_difference_inside_the_spread_is_no_significant_change():
    base = Timing([1.00, 1.02, 0.98, 1.01, 0.99])
    assert compare(Timing([1.01, 0.99, 1.00, 1.02, 1.00]), base).verdict == "no significant change"
    faster = compare(Timing([0.80, 0.81, 0.79, 0.80, 0.82]), base)
    assert faster.verdict == "faster" and faster.ratio == pytest.approx(0.8)
    assert faster.sentence == "this version is faster than the original: 0.800x the time"
    assert compare(base, Timing([0.80, 0.81, 0.79, 0.80, 0.82])).verdict == "slower"


def test_throughput_from_bytes_and_declared_flops():
    a, b = torch.empty(256, 512, dtype=torch.float16), torch.empty(512, 128, dtype=torch.float16)
    t = Timing([0.5, 0.5, 0.5], bytes=tensor_bytes({"a": a, "b": b}))
    assert t.bytes == 256 * 512 * 2 + 512 * 128 * 2
    t.flops = eval_flops("2*M*N*K", {"M": 256, "N": 128, "K": 512})
    assert t.tflops == pytest.approx(2 * 256 * 128 * 512 / 0.5e-3 / 1e12)
    assert t.gbps == pytest.approx(t.bytes / 0.5e-3 / 1e9)
    assert eval_flops("2*a.shape[0]*a.shape[1]*b.shape[1]", {"a": a, "b": b}) == 2 * 256 * 512 * 128
    with pytest.raises(WorkbenchError, match="--flops: error: cannot evaluate 'Q\\*2': unknown name 'Q'"):
        eval_flops("Q*2", {})
    with pytest.raises(WorkbenchError, match="--flops: error: cannot evaluate '\\(M, N\\)': a FLOP count is one number"):
        eval_flops("(M, N)", {"M": 1, "N": 2})


@pytest.mark.gpu
def test_cuda_event_median_agrees_with_do_bench():
    import triton.testing
    from workbench.runtime.bench import BenchOptions, bench
    x = torch.randn(1 << 24, device="cuda")
    y = torch.empty_like(x)
    fn = lambda: torch.mul(x, 2.0, out=y)  # noqa: E731
    # each the best of three, taken in turn: the suite runs on many workers that share the card,
    # and a neighbour's burst lands on one measurement, not on all three
    ours, theirs, graph = [], [], []
    for _ in range(3):
        ours.append(bench(fn, BenchOptions(warmup_ms=25, rep_ms=200)).median)
        theirs.append(triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median"))
        timed = bench(fn, BenchOptions(rep_ms=50, graph=True))
        assert timed.mode == "graph"
        graph.append(timed.median)
    assert min(ours) == pytest.approx(min(theirs), rel=0.05)
    assert min(graph) == pytest.approx(min(ours), rel=0.25)


def test_run_bench_without_a_gpu_refuses_in_one_line_before_the_script_runs(tmp_path):
    """Issue 27 point 8: without a GPU `workbench run --bench` printed the interpreter's wall time
    as a kernel timing (`median us 750157.44`). It refuses, with the app's sentence, in one line."""
    import shutil
    from helpers import EXAMPLES, run_cli
    from workbench.model.diagnostics import NO_GPU_TIMING
    if torch.cuda.is_available():
        pytest.skip("a GPU times for real")
    script = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", script)
    proc = run_cli("run", str(script), "--bench")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [f"{script}: error: --bench: {NO_GPU_TIMING}: run without --bench to verify "
                                        "only, or on a GPU"]
    assert not (tmp_path / ".workbench").exists()   # refused before the script ran


def test_the_engine_times_nothing_in_the_interpreter(tmp_path):
    """The one check, in the session both the app's runner and the CLI's go through."""
    import shutil
    from helpers import EXAMPLES
    from workbench.model.diagnostics import NO_GPU_TIMING
    from workbench.runtime.bench import BenchOptions
    from workbench.session.session import Session
    shutil.copy(EXAMPLES / "vector_add.py", tmp_path / "vector_add.py")
    session = Session(tmp_path / "vector_add.py", mode="interpret", with_sass=False)
    try:
        session.open()
        assert session.run("add_kernel").status == "ok"
        with pytest.raises(WorkbenchError) as err:
            session.run("add_kernel", bench_options=BenchOptions(rep_ms=1))
    finally:
        session.close()
    assert str(err.value) == f"{tmp_path / 'vector_add.py'}: error: {NO_GPU_TIMING}: ask for no timing, or run on a GPU"

"""Timing statistics and the noise verdict (CPU), and CUDA-event timing against
triton.testing.do_bench's own statistics (GPU)."""

from __future__ import annotations

import pytest
import torch

from workbench.core.bench import Timing, compare, eval_flops, summarize, tensor_bytes
from workbench.core.errors import WorkbenchError


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
    from workbench.core.bench import BenchOptions, bench
    x = torch.randn(1 << 24, device="cuda")
    y = torch.empty_like(x)
    fn = lambda: torch.mul(x, 2.0, out=y)  # noqa: E731
    ours = bench(fn, BenchOptions(warmup_ms=25, rep_ms=200)).median
    theirs = triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")
    assert ours == pytest.approx(theirs, rel=0.05)
    graph = bench(fn, BenchOptions(rep_ms=50, graph=True))
    assert graph.mode == "graph" and graph.median == pytest.approx(ours, rel=0.25)

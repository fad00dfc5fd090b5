"""``triton_runner.testing``: Triton's own ``triton.testing`` (theirs is a copy of it)."""

from triton.testing import Benchmark, Mark, assert_close, do_bench, do_bench_cudagraph, perf_report

__all__ = ["Benchmark", "Mark", "assert_close", "do_bench", "do_bench_cudagraph", "perf_report"]

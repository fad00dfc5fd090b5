"""Time a kernel launch the way ``triton.testing.do_bench`` does, and say whether two
timings differ by more than their noise.

Each run is bracketed by its own pair of CUDA events, with the L2 cache flushed before it
(so a kernel is not timed on data the previous run left in cache); the number of runs comes
from the warm-up and repetition budgets in milliseconds, estimated from five runs first.
Graph mode captures many launches in one CUDA graph and times the replay, which removes the
CPU launch cost for kernels that are shorter than it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

L2_FLUSH_BYTES = 256 * 1024 * 1024  # as triton.testing: larger than any L2 so far


@dataclass
class BenchOptions:
    warmup_ms: float = 25.0
    rep_ms: float = 100.0
    graph: bool = False
    flush_l2: bool = True
    min_runs: int = 10
    max_runs: int = 10_000


@dataclass
class Timing:
    """Times of one kernel in milliseconds, one entry per run (a graph run: the mean launch)."""

    runs: list[float]
    mode: str = "events"  # events | graph | wall
    bytes: int | None = None
    flops: float | None = None
    stats: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.runs and not self.stats:
            self.stats = summarize(self.runs)

    @property
    def median(self) -> float:
        return self.stats["median"]

    @property
    def tflops(self) -> float | None:
        return self.flops / (self.median * 1e-3) / 1e12 if self.flops else None

    @property
    def gbps(self) -> float | None:
        return self.bytes / (self.median * 1e-3) / 1e9 if self.bytes else None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("runs")
        out["n"] = len(self.runs)
        out["tflops"], out["gbps"] = self.tflops, self.gbps
        return out


def summarize(runs: list[float]) -> dict[str, float]:
    ordered = sorted(runs)
    med = statistics.median(ordered)
    p20, p80 = _quantile(ordered, 0.2), _quantile(ordered, 0.8)
    return {"median": med, "mean": statistics.fmean(ordered), "min": ordered[0], "max": ordered[-1],
            "p20": p20, "p80": p80, "spread": (p80 - p20) / med if med else 0.0,
            "stdev": statistics.stdev(ordered) if len(ordered) > 1 else 0.0, "runs": len(ordered)}


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation, as torch.quantile (and so do_bench) computes it."""
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class Comparison:
    ratio: float  # new median / old median: < 1 is faster
    verdict: str  # "faster" | "slower" | "no significant change"
    sentence: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def compare(new: Timing, old: Timing, new_name: str = "this version", old_name: str = "the original") -> Comparison:
    """A difference whose ranges (20th to 80th percentile) overlap is noise."""
    ratio = new.median / old.median if old.median else float("inf")
    a, b = new.stats, old.stats
    if a["p80"] < b["p20"]:
        verdict = "faster"
    elif a["p20"] > b["p80"]:
        verdict = "slower"
    else:
        verdict = "no significant change"
    if verdict == "no significant change":
        sentence = f"{new_name} vs {old_name}: {ratio:.3f}x, no significant change (inside the spread)"
    else:
        sentence = f"{new_name} is {verdict} than {old_name}: {ratio:.3f}x the time"
    return Comparison(ratio, verdict, sentence)


def bench(fn: Callable[[], Any], options: BenchOptions | None = None) -> Timing:
    """Time ``fn`` (which launches the kernel) on the current CUDA device."""
    import torch
    o = options or BenchOptions()
    fn()
    torch.cuda.synchronize()
    if o.graph:
        return _bench_graph(fn, o)
    flush = torch.empty(L2_FLUSH_BYTES // 4, dtype=torch.int32, device="cuda") if o.flush_l2 else None
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(5):
        if flush is not None:
            flush.zero_()
        fn()
    end.record()
    torch.cuda.synchronize()
    estimate = max(start.elapsed_time(end) / 5, 1e-6)
    n_warmup = max(1, int(o.warmup_ms / estimate))
    n_rep = min(o.max_runs, max(o.min_runs, int(o.rep_ms / estimate)))
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(n_rep)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(n_rep)]
    for _ in range(n_warmup):
        fn()
    for i in range(n_rep):
        if flush is not None:
            flush.zero_()
        starts[i].record()
        fn()
        ends[i].record()
    torch.cuda.synchronize()
    return Timing([s.elapsed_time(e) for s, e in zip(starts, ends)], "events")


def _bench_graph(fn: Callable[[], Any], o: BenchOptions) -> Timing:
    """Launches captured in a CUDA graph; each run replays the graph and counts its mean launch."""
    import torch
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            fn()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        torch.cuda.synchronize()
        one = max(start.elapsed_time(end), 1e-6)
        per_graph = max(1, min(1000, int(o.rep_ms / 10 / one)))  # about a tenth of the budget per graph
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(per_graph):
                fn()
        torch.cuda.synchronize()
        runs = []
        for _ in range(max(1, int(o.warmup_ms / (one * per_graph)))):
            graph.replay()
        n_rep = min(o.max_runs, max(o.min_runs, int(o.rep_ms / (one * per_graph))))
        for _ in range(n_rep):
            start.record()
            graph.replay()
            end.record()
            torch.cuda.synchronize()
            runs.append(start.elapsed_time(end) / per_graph)
    return Timing(runs, "graph")


def tensor_bytes(tensors: dict[str, Any]) -> int:
    """Bytes moved, estimated as each tensor argument read or written once."""
    return int(sum(t.numel() * t.element_size() for t in tensors.values()))


def eval_flops(expr: str, bound: dict[str, Any]) -> float:
    """A FLOP count from an expression over the launch's arguments (``2*M*N*K``,
    ``4*q.shape[0]*q.shape[2]**2``): arithmetic only (:mod:`.expr`)."""
    from workbench.model.diagnostics import WorkbenchError
    from workbench.model.expr import evaluate, parse
    value = evaluate(parse(expr, "--flops"), bound)
    if isinstance(value, tuple):
        raise WorkbenchError.at("--flops", f"cannot evaluate {expr!r}: a FLOP count is one number, not {value!r}")
    return float(value)

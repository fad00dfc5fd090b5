"""Where a request's wall time goes, step by step, when asked (``WORKBENCH_SPANS=1``): named
``time.perf_counter`` spans that ``apply`` returns in its answer's ``times["spans"]`` (ms), for
``benchmarks/bench_ptx_edit.py``. Off, a span costs one test and nothing is kept."""

from __future__ import annotations

import contextlib
import os
import time

ON = os.environ.get("WORKBENCH_SPANS") == "1"
_taken: dict[str, float] = {}


@contextlib.contextmanager
def span(name: str):
    """Time the block under ``name`` (added up when one name is timed more than once)."""
    if not ON:
        yield
        return
    t0 = time.perf_counter()
    try:
        yield
    finally:
        _taken[name] = _taken.get(name, 0.0) + (time.perf_counter() - t0) * 1e3


def take() -> dict[str, float]:
    """The spans timed since the last take (none when off)."""
    out = dict(_taken)
    _taken.clear()
    return out

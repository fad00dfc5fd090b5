"""A save in the session (``Session.apply``): one launch, verified, its verdict sent as a progress
event the moment it is known, then the version and the original timed with the binary already
loaded, in the same call. On the CPU the interpreter gives the launch and the verdict and the
timing is refused (no interpreter wall time is a kernel timing); the GPU times for real."""

from __future__ import annotations

import shutil

import pytest

from helpers import EXAMPLES, has_cuda, needs_interpreter
from workbench.model.diagnostics import NO_GPU_TIMING, WorkbenchError
from workbench.runtime import launch
from workbench.runtime.bench import BenchOptions
from workbench.session.session import Session

GPU = has_cuda()


@pytest.fixture
def session(tmp_path, monkeypatch):
    """vector_add opened in a session whose launches are counted (the real launch functions run)."""
    shutil.copy(EXAMPLES / "vector_add.py", tmp_path / "vector_add.py")
    events: list[tuple[str, dict]] = []
    s = Session(tmp_path / "vector_add.py", with_sass=False, progress=lambda what, info: events.append((what, info)))
    s.open()
    launches: list[str] = []
    for name in ("interpret", "replay"):
        real = getattr(launch, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            launches.append(_name)
            return _real(*args, **kwargs)
        monkeypatch.setattr(launch, name, counted)
    events.clear()
    yield s, events, launches
    s.close()


def _edit(s: Session):
    state = s.state("add_kernel")
    path = s.workspace.edit(state.spec.folder_name) / "add_kernel.py"
    path.write_text(path.read_text().replace("x + y, mask=mask", "y + x, mask=mask"))
    return path


@needs_interpreter
def test_an_apply_with_timing_launches_once_and_sends_its_verdict_before_timing(session):
    s, events, launches = session
    path = _edit(s)
    options = BenchOptions(warmup_ms=1.0, rep_ms=5.0, graph=False)
    if not GPU:
        with pytest.raises(WorkbenchError, match=NO_GPU_TIMING.split(":")[0]):
            s.apply("add_kernel", path, bench_options=options)
    else:
        out = s.apply("add_kernel", path, bench_options=options)
        assert out["timing"]["stats"]["median"] > 0 and out["vs_original"]["timing"]["stats"]["median"] > 0
    whats = [what for what, _ in events]
    assert launches == (["replay"] if GPU else ["interpret"])   # one launch: verified, then timed without another
    assert whats.count("launch") == 1
    verdict = next(info for what, info in events if what == "verdict")
    # the whole answer but the timing: the app draws it while the version is timed
    assert verdict["version"] == "1" and verdict["status"] == "ok" and verdict.get("timing") is None
    assert verdict["versions"][0]["number"] == 1 and "watches" in verdict
    # the source map (and with SASS on, the SASS) follows the verdict, before the timing
    levels = next(info for what, info in events if what == "levels")
    assert verdict["srcmap"] is None and levels["srcmap"]["ptx"] and whats.index("verdict") < whats.index("levels")
    # (kept as soon as it is known: a timing that fails leaves the version's result)
    assert (s.workspace.version(s.state("add_kernel").spec.folder_name, 1).folder / "result.json").is_file()
    if GPU:
        assert whats.index("verdict") < whats.index("bench")


def test_a_verdict_first_apply_writes_its_stage_cache_entries_after_the_verdict(tmp_path):
    """What the verdict does not need waits for it: the new cubin's stage cache entry is in memory
    (a second compile of the same PTX hits it) but reaches the disk only after the verdict."""
    import os
    import time
    from workbench.compiler.cache import StageCache
    shutil.copy(EXAMPLES / "matmul.py", tmp_path / "matmul.py")
    at_verdict: list[list[bool]] = []
    s = Session(tmp_path / "matmul.py", mode="compile-only", target="cuda:90", with_sass=False,
                progress=lambda what, info: at_verdict.append([p.exists() for p in written()]) if what == "verdict"
                else None)
    s.open()
    s.compiler.cache = cache = StageCache(tmp_path / "cache")
    puts: list[str] = []
    real_put = cache.put
    cache.put = lambda key, entry: (puts.append(key), real_put(key, entry))[1]

    def written():
        return [path for key in puts for path in cache._paths(key)]
    try:
        state = s.state("matmul_kernel")
        ptx = s.workspace.edit(state.spec.folder_name) / "matmul_kernel.ptx"
        head, sep, rest = ptx.read_text().partition(".address_size 64\n")
        ptx.write_text(f"{head}{sep}.global .align 4 .u32 wb_{os.getpid()}_{time.time_ns()};\n{rest}")
        out = s.apply("matmul_kernel", ptx, verdict_first=True)
        assert out["status"] == "compiled-only" and puts   # the cubin stage ran: a new entry
        assert at_verdict == [[False] * len(written())]    # none on disk when the verdict went out
        assert all(p.is_file() for p in written())         # all of them after it
    finally:
        s.close()

"""compute-sanitizer's racecheck on the race planted in benchmarks/sanitizer_cases.py, on the GPU
machine (skipped elsewhere): the sum through shared memory with the first ``bar.sync`` taken out
of its PTX is reported, and the race folds onto the PTX lines of its store and load; the same sum
with its barrier is clean. The CPU tests read what benchmarks/record_sanitizer.py recorded."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import ROOT
from workbench.profile import sanitize

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(sanitize.find_sanitizer() is None, reason="needs NVIDIA's compute-sanitizer")]

CASES = ROOT / "benchmarks" / "sanitizer_cases.py"
LIMIT = 120  # seconds


@pytest.fixture(scope="module")
def racecheck(tmp_path_factory) -> dict:
    """The clean sum then the racy one, launched once each in one process under racecheck, with
    the flags `workbench sanitize` uses; each case's findings as it folds them."""
    out = tmp_path_factory.mktemp("racecheck")
    log = out / "racecheck.log"
    program = [sys.executable, str(CASES), "--out", str(out), "sum_clean", "sum_race"]
    env = os.environ | sanitize.REPLAY_ENV | {"TRITON_CACHE_DIR": str(out / "triton-cache")}
    proc = subprocess.run(sanitize.command(sanitize.find_sanitizer(), "racecheck", log, program), cwd=out,
                          capture_output=True, text=True, timeout=LIMIT, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    parsed = sanitize.parse_log(log.read_text())
    found = {}
    for case, kernel in (("sum_clean", "block_sum"), ("sum_race", "block_sum_race")):
        mapper = sanitize.Mapper.of(out / case, kernel)
        found[case] = sanitize.findings("racecheck", parsed, kernel, mapper,
                                        sanitize.read_buffers(out / case / "buffers.json"))[0]
    return {"found": found, "folder": out, "log": parsed}


def _line(folder, kernel: str, suffix: str, n: int) -> str:
    return (folder / f"{kernel}{suffix}").read_text().splitlines()[n - 1]


def test_the_planted_race_is_folded_onto_its_ptx_lines(racecheck):
    (race,) = racecheck["found"]["sum_race"]
    assert race.kind == "race" and race.what.startswith("shared-memory race between a write and a read")
    write, read = race.places
    folder = racecheck["folder"] / "sum_race"
    assert write.lines["ptx"] and read.lines["ptx"], race.line()
    assert "st.shared" in _line(folder, "block_sum_race", ".ptx", write.lines["ptx"][0])
    assert "ld.shared" in _line(folder, "block_sum_race", ".ptx", read.lines["ptx"][0])
    between = [_line(folder, "block_sum_race", ".ptx", n) for n in range(write.lines["ptx"][0], read.lines["ptx"][0])]
    assert any("taken out" in ln for ln in between)  # the barrier the PTX edit removed lies between them
    source = CASES.read_text().splitlines()
    own = source.index("def block_sum_race(x_ptr, out_ptr, BLOCK: tl.constexpr):  # block_sum, compiled with the "
                       "PTX edit") + 3   # its tl.sum line, 1-based
    assert "tl.sum" in source[own - 1]
    for place in (write, read):
        assert place.python and place.python[0].endswith("sanitizer_cases.py") and place.python[1] == own
        assert f"PTX {place.lines['ptx'][0]}" in race.line()


def test_the_sum_with_its_barrier_is_clean(racecheck):
    assert racecheck["found"]["sum_clean"] == []

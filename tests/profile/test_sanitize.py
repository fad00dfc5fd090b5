"""compute-sanitizer's reports read back and folded onto every level, on the CPU.

tests/data/sanitizer/ holds, for each case of benchmarks/sanitizer_cases.py, the levels of its
kernel and its arguments' device addresses, and a log per tool. The logs are HAND-WRITTEN for
now, in the text format the Compute Sanitizer documentation shows (see the README there); the
lead replaces them with what benchmarks/record_sanitizer.py records on the GPU machine. The
offsets in them are the real ones of each kernel's cubin, compiled here for cuda:90.
"""

from __future__ import annotations

import json

import pytest

from helpers import TESTS

from workbench.profile import sanitize

DATA = TESTS / "data" / "sanitizer"
KERNELS = {"add_masked": "add_masked", "add_unmasked": "add_unmasked", "sum_clean": "block_sum",
           "sum_race": "block_sum_race", "scale_uninit": "scale"}


def log(tool: str) -> sanitize.Log:
    return sanitize.parse_log((DATA / f"{tool}.log").read_text())


def report(tool: str, case: str) -> tuple[list[sanitize.Finding], int]:
    folder = DATA / case
    mapper = sanitize.Mapper.of(folder, KERNELS[case])
    return sanitize.findings(tool, log(tool), KERNELS[case], mapper, sanitize.read_buffers(folder / "buffers.json"))


def line_of(case: str, level: str, n: int) -> str:
    suffix = {"ttgir": ".ttgir", "ttir": ".ttir", "ptx": ".ptx", "llir": ".llir"}[level]
    return (DATA / case / f"{KERNELS[case]}{suffix}").read_text().splitlines()[n - 1]


def test_memcheck_records_are_read_whole():
    recs = log("memcheck").records
    assert [r.kind for r in recs] == ["read"] * 5 + ["api"]
    first = recs[0]
    assert (first.space, first.size) == ("global", 8)
    assert first.site == sanitize.Site("add_unmasked", 0xD0, "/work/wt29/benchmarks/sanitizer_cases.py", 52)
    assert first.thread == (64, 0, 0) and first.block == (3, 0, 0)
    assert first.address == 0x7F3A5C000E00
    assert first.note.startswith("is out of bounds; 1 bytes after the nearest allocation")
    assert log("memcheck").summary == "6 errors"


def test_the_older_format_is_read_too():
    text = ("========= Invalid __global__ read of size 8\n"
            "=========     at 0x000000c8 in /src/helper.cuh:75:void projection<double>(double*, int)\n"
            "=========     by thread (9,0,0) in block (0,0,0)\n"
            "=========     Address 0x000370e8 is out of bounds\n")
    rec = sanitize.parse_log(text).records[0]
    assert rec.site == sanitize.Site("projection<double>", 0xC8, "/src/helper.cuh", 75)
    assert rec.address == 0x370E8 and rec.note == "is out of bounds"


def test_an_unmasked_load_is_one_line_per_instruction_with_the_bytes_past_the_end():
    """The mask dropped: threads 64.. of the last program read x (and y) past their end. One
    line per load, the first thread and the count, the distance from the buffer's end, and the
    SASS offset folded onto the PTX, TTGIR, TTIR and Python lines of that load."""
    found, other = report("memcheck", "add_unmasked")
    assert other == 0
    x, y = found
    assert x.what == "reads 8 bytes 0 to 504 past the end of x_ptr"
    assert (x.thread, x.block, x.count) == ((64, 0, 0), (3, 0, 0), 4)
    assert y.what == "reads 8 bytes 0 past the end of y_ptr" and y.count == 1
    place = x.places[0]
    assert place.offset == 0xD0 and place.instruction.startswith("LDG.E.64")
    assert place.python[1] == 52
    assert "ld.global" in line_of("add_unmasked", "ptx", place.lines["ptx"][0])
    for level in ("ttgir", "ttir"):
        assert place.lines[level], level
        assert all("tt.load" in line_of("add_unmasked", level, n) for n in place.lines[level]), level
    assert all("ld.global" in line_of("add_unmasked", "llir", n) for n in place.lines["llir"])
    assert y.places[0].python[1] == 53 and y.places[0].lines["ttgir"] != place.lines["ttgir"]
    assert x.line().startswith("memcheck: reads 8 bytes 0 to 504 past the end of x_ptr, thread (64,0,0) block "
                               "(3,0,0) (and 3 more): SASS +0x00d0 line ")
    assert f"TTGIR {place.lines['ttgir'][0]}" in x.line() and x.line().endswith("Python sanitizer_cases.py:52")


def test_a_clean_kernel_in_the_same_log_has_no_errors():
    found, other = report("memcheck", "add_masked")
    assert found == [] and other == 5  # every record is add_unmasked's


def test_a_race_names_the_write_and_the_read_at_the_users_line():
    """The first bar.sync taken out of the sum's PTX: warp 0 reads the partial sums (LDS) the
    other warps write (STS) without a barrier between. Both accesses fold onto their PTX lines
    and onto the kernel's own line that called tl.sum (not Triton's standard.py)."""
    found, _ = report("racecheck", "sum_race")
    (race,) = found
    assert race.kind == "race" and race.severity == "error"
    assert race.what == "shared-memory race between a write and a read (96 hazards)"
    write, read = race.places
    assert write.instruction.split()[1] == "STS" and read.instruction.split()[1] == "LDS"
    assert "st.shared" in line_of("sum_race", "ptx", write.lines["ptx"][0])
    assert "ld.shared" in line_of("sum_race", "ptx", read.lines["ptx"][0])
    between = [line_of("sum_race", "ptx", n) for n in range(write.lines["ptx"][0], read.lines["ptx"][0])]
    assert any("taken out" in ln for ln in between) and not any(ln.strip().startswith("bar.sync") for ln in between)
    assert write.python[0].endswith("sanitizer_cases.py") and write.python[1] == 66  # tl.sum(x, axis=0)
    assert any("tt.reduce" in line_of("sum_race", "ttgir", n) for n in write.lines["ttgir"])
    assert race.line().startswith("racecheck: shared-memory race between a write and a read (96 hazards): SASS "
                                  "+0x0240 line ")


def test_an_uninitialised_read_says_where_in_the_buffer():
    found, _ = report("initcheck", "scale_uninit")
    (f,) = found
    assert f.what == "reads 8 bytes nobody wrote at bytes 0 to 1016 of x_ptr" and f.count == 3
    assert f.places[0].python[1] == 73 and f.buffer == "x_ptr" and f.relation == "inside"


def test_no_records_is_no_errors():
    assert log("synccheck").records == [] and log("synccheck").summary == "0 errors"


def test_an_offset_not_in_this_binary_says_so():
    mapper = sanitize.Mapper.of(DATA / "add_masked", "add_masked")
    place = mapper.place(0x0D8, "read")
    assert place.sass_line is None and "binary differs" in place.note


@pytest.mark.parametrize("address, said", [
    (0x1000 + 64, "at byte 64 of a"), (0x1100 + 128, "128 past the end of a"), (0x0FF0, "16 before the start of a"),
    (0x5000 - 4, "4 before the start of b")])
def test_an_address_against_the_nearest_argument_buffer(address, said):
    buffers = [sanitize.Buffer("a", 0x1000, 0x100), sanitize.Buffer("b", 0x5000, 8)]
    d, name, how = sanitize.relative(address, buffers)
    assert sanitize.say(d, d, name, how) == said


def test_a_version_reports_which_errors_are_new():
    """Against the original's findings (as kept in its cache file): the same error at the same
    Python line is not new though its instruction moved; another is."""
    found, _ = report("memcheck", "add_unmasked")
    errors = [f.to_json() | {"key": f.key()} for f in found]
    original = json.loads(json.dumps(errors[:1]))  # as read back from the cache file
    original[0]["places"][0]["offset"] = 0x1F0
    version = {"errors": errors}
    sanitize.mark_new(version, original)
    assert [e["new"] for e in version["errors"]] == [False, True]

"""compute-sanitizer's reports read back and folded onto every level, on the CPU.

tests/data/sanitizer/ holds, for each case of benchmarks/sanitizer_cases.py, the levels of its
kernel and its arguments' device addresses, and a log per tool, every one recorded on an H100 by
benchmarks/record_sanitizer.py (memcheck.log and the vector-add cases in a second run, with
--padding; the README there says when and with what).
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
    # recorded on the H100 (with --padding): the 64 threads past the end of x in the last program
    # each read 8 bytes and the kernel stopped; then the API calls that met its failure
    recs = log("memcheck").records
    assert [r.kind for r in recs] == ["read"] * 64 + ["api"] * 4 + ["other"]
    first = recs[0]
    assert (first.space, first.size) == ("global", 8)
    assert first.site == sanitize.Site("add_unmasked", 0xD0, "sanitizer_cases.py", 52)
    assert first.thread == (96, 0, 0) and first.block == (3, 0, 0)
    assert first.address == 0x7FDBC6800F00
    assert first.note == ("is out of bounds; 257 bytes after the nearest allocation at 0x7fdbc6800000 of size "
                          "3,584 bytes")
    assert recs[64].header.startswith("Program hit cudaErrorLaunchFailure (error 719)")
    assert log("memcheck").summary == "68 errors" and log("memcheck").dropped == 0


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
    assert other == 1   # "Target application returned an error": no kernel's
    (x,) = found        # memcheck stopped the kernel at x's loads: y's were never reached
    assert x.what == "reads 8 bytes 0 to 504 past the end of x_ptr"   # 64 threads of 8 bytes from its end
    assert (x.thread, x.block, x.count) == ((96, 0, 0), (3, 0, 0), 64)
    place = x.places[0]
    assert place.offset == 0xD0 and place.instruction.startswith("LDG.E.64")
    assert place.python[1] == 52
    assert "ld.global" in line_of("add_unmasked", "ptx", place.lines["ptx"][0])
    for level in ("ttgir", "ttir"):
        assert place.lines[level], level
        assert all("tt.load" in line_of("add_unmasked", level, n) for n in place.lines[level]), level
    assert all("ld.global" in line_of("add_unmasked", "llir", n) for n in place.lines["llir"])
    assert x.line().startswith("memcheck: reads 8 bytes 0 to 504 past the end of x_ptr, thread (96,0,0) block "
                               "(3,0,0) (and 63 more): SASS +0x00d0 line ")
    assert f"TTGIR {place.lines['ttgir'][0]}" in x.line() and x.line().endswith("Python sanitizer_cases.py:52")


def test_a_clean_kernel_in_the_same_log_has_no_errors():
    found, other = report("memcheck", "add_masked")
    assert found == [] and other == 65  # every record is add_unmasked's (and the process's one)


def test_the_recorded_race_is_read_with_its_hazard_count():
    """Racecheck's own words on the H100: the sites name Triton's standard.py (tl.sum's body),
    by its base name only, and the hazard count closes the second line."""
    recs = log("racecheck").records
    (rec,) = recs
    assert rec.kind == "race" and rec.severity == "error" and rec.hazards is None
    assert [(k, s.offset, n) for k, s, n in rec.others] == [("write", 0x240, None), ("read", 0x260, 12)]
    assert rec.site == sanitize.Site("block_sum_race", 0x240, "standard.py", 293)
    assert log("racecheck").summary == "1 hazard displayed (1 error, 0 warnings)"


def test_a_race_names_the_write_and_the_read_at_the_users_line():
    """Recorded on the H100: the first bar.sync taken out of the sum's PTX, warp 0 reads the
    partial sums (LDS at +0x260) the other warps write (STS at +0x240) without a barrier between.
    Both accesses fold onto their PTX lines, onto the TTGIR's tt.reduce and onto the kernel's own
    line that called tl.sum (not the standard.py:293 the tool names)."""
    found, other = report("racecheck", "sum_race")
    assert other == 0
    (race,) = found
    assert race.kind == "race" and race.severity == "error"
    assert race.what == "shared-memory race between a write and a read (12 hazards)"
    write, read = race.places
    assert (write.offset, read.offset) == (0x240, 0x260)
    assert (write.lines["ptx"], read.lines["ptx"]) == ([102], [109])
    assert write.instruction.split()[1] == "STS" and read.instruction.split()[1] == "LDS"
    assert "st.shared" in line_of("sum_race", "ptx", write.lines["ptx"][0])
    assert "ld.shared" in line_of("sum_race", "ptx", read.lines["ptx"][0])
    between = [line_of("sum_race", "ptx", n) for n in range(write.lines["ptx"][0], read.lines["ptx"][0])]
    assert any("taken out" in ln for ln in between) and not any(ln.strip().startswith("bar.sync") for ln in between)
    for place in (write, read):
        assert place.python == ("/work/main/benchmarks/sanitizer_cases.py", 66)  # tl.sum(x, axis=0)
        assert place.lines["ttgir"] == [17] and "tt.reduce" in line_of("sum_race", "ttgir", 17)
    assert race.line().startswith("racecheck: shared-memory race between a write and a read (12 hazards): SASS "
                                  f"+0x0240 line {write.sass_line} (STS), PTX {write.lines['ptx'][0]}, ")
    assert race.line().endswith("Python sanitizer_cases.py:66")


def test_the_clean_sum_in_the_same_log_has_no_errors():
    found, other = report("racecheck", "sum_clean")
    assert found == [] and other == 1  # the one record is block_sum_race's


def test_the_recorded_uninitialised_reads_are_read_whole():
    """initcheck on the H100 over a torch.empty buffer: 256 records shown, the rest dropped by
    the tool (its error buffer overflowed), which it says in a line of its own."""
    lg = log("initcheck")
    assert len(lg.records) == 256 and {r.kind for r in lg.records} == {"read"}
    first = lg.records[0]
    assert (first.space, first.size) == ("global", 8)
    assert first.site == sanitize.Site("scale", 0x100, "sanitizer_cases.py", 73)
    assert (first.thread, first.block, first.address) == ((32, 0, 0), (3, 0, 0), 0x7F1984800D00)
    assert lg.summary == "257 errors" and lg.dropped == 192
    assert lg.messages == ["Warning: Error buffer overflow has been detected. Some records have been dropped"]


def test_an_uninitialised_read_says_where_in_the_buffer():
    """Every x_ptr element is read and none was written: one finding at the load, its first
    thread and block as the tool listed them, the bytes of x_ptr (3584 of them) it read."""
    found, other = report("initcheck", "scale_uninit")
    assert other == 0
    (f,) = found
    assert f.what == "reads 8 bytes nobody wrote at bytes 0 to 3576 of x_ptr"
    assert (f.thread, f.block, f.count) == ((32, 0, 0), (3, 0, 0), 256)
    assert f.buffer == "x_ptr" and f.relation == "inside"
    (place,) = f.places
    assert place.offset == 0x100 and place.instruction.startswith("LDG.E.64")
    assert place.python == ("/work/main/benchmarks/sanitizer_cases.py", 73)
    assert (place.lines["ptx"], place.lines["ttgir"]) == ([53], [21])
    assert "ld.global" in line_of("scale_uninit", "ptx", 53) and "tt.load" in line_of("scale_uninit", "ttgir", 21)
    assert f.line().startswith("initcheck: reads 8 bytes nobody wrote at bytes 0 to 3576 of x_ptr, thread (32,0,0) "
                               "block (3,0,0) (and 255 more): SASS +0x0100 line ")


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
    (x,) = report("memcheck", "add_unmasked")[0]
    error = x.to_json() | {"key": x.key()}
    moved = json.loads(json.dumps(error))   # as read back from the cache file
    moved["places"][0]["offset"] = 0x1F0
    elsewhere = json.loads(json.dumps(error))   # the same read at y's line
    elsewhere["key"][-1] = [53]
    assert error["key"][-1] == [52]
    for original, new in (([moved], False), ([elsewhere], True), ([], True)):
        version = {"errors": [dict(error)]}
        sanitize.mark_new(version, original)
        assert version["errors"][0]["new"] is new


def test_a_replay_that_raised_says_the_exceptions_line():
    # (seen on the H100: an autotuned export's replay raised, and all that was said was its status)
    output = ("========= COMPUTE-SANITIZER\n"
              "Traceback (most recent call last):\n  File \"run.py\", line 287, in main\n    launch(grid, args)\n"
              "TypeError: scale_add_kernel() got multiple values for argument 'BLOCK_SIZE'\n"
              "========= ERROR SUMMARY: 0 errors\n")
    log = sanitize.parse_log("========= ERROR SUMMARY: 0 errors\n")
    assert sanitize._failure(output, "========= ERROR SUMMARY: 0 errors\n", log, 1) == (
        "the replay raised TypeError: scale_add_kernel() got multiple values for argument 'BLOCK_SIZE'")
    assert sanitize._failure("========= ERROR SUMMARY: 0 errors\n", "x", log, 1) == "the replay exited with status 1"
    assert sanitize._failure("", "x", log, 0) is None

"""Profiles read back from real ncu output: the matmul example's original on the H200 (ncu
2025.3.1, driver 580.159.04, Triton 3.6.0), checked in as tests/data/ncu/*.csv.gz, parsed by
the code `workbench profile` runs on the GPU machine."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from helpers import TESTS

from workbench.compiler.sass import sass_offsets
from workbench.profile import ncu, profile, roofline

DATA = TESTS / "data" / "ncu"
MATMUL_FLOPS = 2 * 256 ** 3  # M = N = K = 256


def page(name: str) -> str:
    return gzip.decompress((DATA / f"matmul_{name}.csv.gz").read_bytes()).decode()


@pytest.fixture(scope="module")
def raw():
    return ncu.parse_raw(page("raw"))


def test_raw_page_gives_the_figures_of_the_launch(raw):
    f = profile.figures(raw)
    assert f["kernel"] == "matmul_kernel" and f["device"] == "NVIDIA H200"
    assert f["grid"] == "(4, 1, 1)" and f["block"] == "(256, 1, 1)"
    assert f["duration_us"] == pytest.approx(5.472)
    assert f["achieved_occupancy_pct"] == pytest.approx(12.004775)
    assert f["theoretical_occupancy_pct"] == pytest.approx(25.0)
    # registers and shared memory both allow 2 blocks per SM (109 regs x 256 threads, 99 KB)
    assert f["occupancy_limiter"] == "registers, smem" and f["blocks_per_sm"] == 2
    assert f["sm_throughput_pct"] == pytest.approx(0.623287)
    assert f["memory_throughput_pct"] == pytest.approx(1.314686)
    assert f["dram_read_bytes"] == pytest.approx(275_200)  # printed as "275.200000" Kbyte
    assert f["dram_write_bytes"] == 0
    assert f["l1_hit_pct"] == 0 and f["l2_hit_pct"] == pytest.approx(54.523554)
    assert f["registers"] == 109 and f["shared_bytes"] == pytest.approx(98_304)
    assert f["spills"] == 0
    assert f["instructions"] == 33_568  # printed as "33568.000000"
    reasons = [r for r, _ in f["stalls"]]
    assert reasons[:3] == ["wait", "long_scoreboard", "dispatch_stall"] and "selected" not in reasons
    assert f["stalls"][0][1] == pytest.approx(1.024816)


def test_numbers_as_ncu_prints_them():
    assert ncu.number("5,408") == 5408
    assert ncu.number("275.2", "Kbyte") == pytest.approx(275_200)
    assert ncu.number("5.47", "us") == pytest.approx(5470)
    assert ncu.number("no data") is None and ncu.number("") is None


def test_ncu_counts_the_matmul_flops_on_the_fp16_tensor_cores(raw):
    assert profile.counted_flops(raw) == (MATMUL_FLOPS, "fp16")


def test_roofline_point_against_the_h200_table(raw):
    out = profile.from_pages(page("raw"), None, Path("."), "matmul_kernel")
    p = out["roofline"]
    assert p["flops_source"] == "counted by ncu" and p["dtype"] == "fp16"
    assert p["dram_bytes"] == pytest.approx(275_200)
    assert p["intensity"] == pytest.approx(MATMUL_FLOPS / 275_200)
    assert p["tflops"] == pytest.approx(MATMUL_FLOPS / 5.472e-6 / 1e12)
    assert (p["peak_tflops"], p["peak_gbps"]) == (989.4, 4800.0)
    assert p["peaks_source"].startswith("from the table")
    assert p["ridge"] == pytest.approx(989.4e12 / 4800e9)
    assert p["bound"] == "memory"  # 122 FLOP/byte is left of the H200's ridge (206)
    assert p["pct_of_roof"] == pytest.approx(100 * p["tflops"] / (p["intensity"] * 4800e9 / 1e12))
    lines = roofline.chart({"original": p})
    assert "989.4 TFLOP/s (fp16)" in lines[0] and any("o" in ln for ln in lines)


def test_a_card_not_in_the_table_has_no_roof_and_says_so():
    peaks = roofline.peaks_for("NVIDIA GeForce RTX 4090")
    p = roofline.point(1e9, "counted by ncu", "fp16", 1e6, 1e-5, peaks)
    assert p.peak_tflops is None and p.bound is None and p.tflops == pytest.approx(100.0)
    assert p.peaks_source.startswith("no peaks known for 'NVIDIA GeForce RTX 4090'")


def test_flops_expression_over_the_exported_launch():
    launch = {"args": [{"name": "a_ptr", "tensor": "a_ptr"}, {"name": "M", "value": 256}, {"name": "N", "value": 256},
                       {"name": "K", "value": 256}],
              "views": {"a_ptr": {"shape": [256, 256], "dtype": "float16"}}, "constexprs": {"BLOCK_M": 128}}
    assert profile.flops_from_expr("2*M*N*K", launch) == MATMUL_FLOPS
    assert profile.flops_from_expr("2*a_ptr.shape[0]*N*K", launch) == MATMUL_FLOPS


def test_source_page_offsets_are_from_the_first_instruction():
    instrs = ncu.parse_source(page("source_sass"))
    assert len(instrs) == 672
    assert instrs[0].offset == 0 and instrs[0].text == "LDC R1, c[0x0][0x28]"
    assert instrs[-1].offset == 0x29F0 and instrs[-1].text == "NOP"
    assert sum(i.samples for i in instrs) == 14 and sum(i.executed for i in instrs) == 33_568
    bra = next(i for i in instrs if i.offset == 0x2900)
    assert bra.text.startswith("BRA") and bra.samples == 2


def test_counters_fold_onto_every_level_of_the_same_cubin_compiled_on_the_cpu(compiled, tmp_path):
    """The H200 profiled the cubin Triton 3.6 builds for cuda:90; compiled here on the CPU it is
    the same: every one of the 672 instructions is at the offset ncu gives, with the same
    opcode, so the SASS counters fold through the source map onto every level."""
    spec, result = compiled("matmul", "cuda:90")
    result.write(tmp_path, spec.stem)
    out = profile.from_pages(page("raw"), page("source_sass"), tmp_path, spec.stem)
    hot = out["hot"]
    assert hot["matched"] == hot["instructions"] == 672 and hot["note"] == ""
    assert hot["totals"] == {"samples": 14, "executed": 33_568}
    assert set(hot["levels"]) == {"sass", "ptx", "llir", "ttgir", "ttir", "python"}
    for level, lines in hot["levels"].items():
        assert lines, level
    sass = hot["levels"]["sass"]
    assert sum(c["executed"] for c in sass.values()) == 33_568  # every instruction lands on a SASS line
    # each SASS line is the instruction at its offset in the pane's text
    offsets = sass_offsets(result.levels["sass"])
    bra_line = offsets[0x2900][0]
    assert sass[str(bra_line)]["samples"] == 2
    # Python lines: their counters sum the SASS lines that carry a line of the script (not those
    # of Triton's own standard.py, cdiv, nor the few without line info)
    python = hot["levels"]["python"]
    with_info = sum(c["executed"] for n, c in sass.items()
                    if result.sass_lines.get(int(n), ("", 0))[0] == result.python["file"])
    assert sum(c["executed"] for c in python.values()) == with_info > 0.9 * 33_568
    src = result.levels["python"].splitlines()
    top_line = hot["top"]["executed"]["python"][0][0] if hot["top"]["executed"]["python"] else None
    assert top_line is not None and 14 <= top_line <= 49  # inside matmul_kernel
    dot_line = next(n for n, row in enumerate(src, 1) if "= tl.dot(" in row)
    assert python[str(dot_line)]["executed"] > 0
    # a TTGIR line from the tl.dot line gets that Python line's total
    ttgir = hot["levels"]["ttgir"]
    dot_ops = [n for n, row in enumerate(result.levels["ttgir"].splitlines(), 1) if "warp_group_dot " in row]
    assert dot_ops and all(ttgir[str(n)] == python[str(dot_line)] for n in dot_ops)


def test_a_version_from_an_ir_level_still_gets_its_python_lines(compiled, tmp_path):
    """An export of a TTGIR version has no Python level of its own (its metadata names none):
    its locations still name the script's lines, and those get the counters."""
    import json
    spec, result = compiled("matmul", "cuda:90")
    result.write(tmp_path, spec.stem)
    meta = tmp_path / f"{spec.stem}.json"
    data = json.loads(meta.read_text())
    data["workbench"]["python"] = None
    meta.write_text(json.dumps(data))
    hot = profile.from_pages(page("raw"), page("source_sass"), tmp_path, spec.stem)["hot"]
    dot_line = next(n for n, row in enumerate(result.levels["python"].splitlines(), 1) if "= tl.dot(" in row)
    assert hot["levels"]["python"][str(dot_line)]["executed"] > 0
    assert all(14 <= int(n) <= 49 for n in hot["levels"]["python"])  # matmul_kernel's lines, not standard.py's


def test_a_different_binary_is_not_folded(compiled, tmp_path):
    """Counters of another kernel's SASS: offsets or opcodes disagree, and no level is painted
    with them (not even the SASS lines that happen to agree); the reason is said."""
    spec, result = compiled("softmax", "cuda:90")
    result.write(tmp_path, spec.stem)
    out = profile.from_pages(page("raw"), page("source_sass"), tmp_path, spec.stem)
    assert out["hot"]["matched"] < 672 and out["hot"]["levels"] == {}
    assert "differs from this version's" in out["hot"]["note"]


def test_table_compares_two_versions(raw):
    a = profile.figures(raw) | {"roofline": {"intensity": 100.0, "tflops": 6.0, "pct_of_roof": 1.0}}
    b = dict(a, duration_us=4.0, registers=96.0, roofline={"intensity": 100.0, "tflops": 8.0, "pct_of_roof": 1.3})
    rows = {r["figure"]: r for r in profile.table({"original": a, "v1": b})}
    assert rows["duration"] == {"figure": "duration", "original": "5.47 us", "v1": "4.00 us", "change": "-26.9%"}
    assert rows["registers per thread"]["change"] == "-11.9%"
    assert rows["DRAM read"]["original"] == "275 KB" and rows["DRAM read"]["change"] == "same"
    assert rows["achieved TFLOP/s"]["change"] == "+33.3%"
    assert rows["stall #1 (cycles/issue)"]["original"] == "wait 1.02"

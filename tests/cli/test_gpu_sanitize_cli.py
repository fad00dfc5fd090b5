"""`workbench sanitize` under the real compute-sanitizer, on the GPU machine (skipped elsewhere):
a TTGIR edit of vector_add that drops its loads' mask is named at its TTGIR line with the bytes
past the end, and every example's original is clean under memcheck. The recorded logs the CPU
tests read are benchmarks/record_sanitizer.py's; the planted race is tests/profile/test_gpu_sanitize.py."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest

from helpers import EXAMPLES, run_cli
from workbench.profile import sanitize

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(sanitize.find_sanitizer() is None, reason="needs NVIDIA's compute-sanitizer")]

LIMIT = "120"   # seconds: the script's run, and each tool's
# vector_add: 98432 floats, BLOCK_SIZE 1024, 97 programs: the last reads 896 floats past the end
OVERRUN = (97 * 1024 - 98432) * 4
# what an example cannot be sanitized for, as the one line that says it
CANNOT = ("exporting them is not supported yet",   # tensor descriptors (matmul_tma)
          "too slow under the tool")


@pytest.fixture(scope="module")
def unmasked(tmp_path_factory) -> dict:
    """vector_add captured, its TTGIR with the loads' mask dropped saved as version 1 (as
    benchmarks/record_sanitizer.py's end_to_end does), and that version sanitized under memcheck
    (the original too): once for the module."""
    work = tmp_path_factory.mktemp("unmasked")
    script = work / "vector_add.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", script)
    proc = run_cli("run", str(script), "--kernel", "add_kernel", "--json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    (original,) = work.glob(".workbench/vector_add/add_kernel-*/original/add_kernel.ttgir")
    text = original.read_text()
    edited = re.sub(r"(tt\.load %[\w#]+), %[\w#]+( :)", r"\1\2", text)
    assert edited != text, "no masked tt.load in vector_add's TTGIR"
    ttgir = work / "unmasked.ttgir"
    ttgir.write_text(edited)
    proc = run_cli("run", str(script), "--kernel", "add_kernel", "--from", str(ttgir), "--json", cwd=work)
    assert proc.returncode in (0, 1), proc.stderr
    run = json.loads(proc.stdout)["runs"][-1]
    proc = run_cli("sanitize", str(script), "--kernel", "add_kernel", "--version", str(run["version"]),
                   "--timeout", LIMIT, "--json", cwd=work)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # errors found
    return {"run": run, "report": json.loads(proc.stdout), "ttgir": edited}


def test_the_unmasked_version_verifies(unmasked):
    """Dropping the mask reads garbage past x and y into lanes the store's mask leaves out: the
    outputs can still compare equal. Either verdict; what it must not be is a failure to run."""
    assert unmasked["run"]["level"] == "ttgir" and unmasked["run"]["status"] in ("ok", "mismatch"), unmasked["run"]


def test_memcheck_names_the_unmasked_loads_ttgir_line_and_the_bytes_past_the_end(unmasked):
    (report,) = unmasked["report"]["version"]
    assert report["tool"] == "memcheck" and report["errors"], report
    rows = unmasked["ttgir"].splitlines()
    loads = {n for n, row in enumerate(rows, 1) if "tt.load" in row}
    assert len(loads) == 2
    export = Path(report["log"]).parents[1]
    assert (export / "add_kernel.ttgir").read_text() == unmasked["ttgir"]  # the lines named are the user's
    named = set()
    for e in report["errors"]:
        m = re.fullmatch(r"reads (\d+) bytes (\d+)(?: to (\d+))? past the end of (x_ptr|y_ptr)", e["what"])
        assert m, e["line"]
        size, hi = int(m.group(1)), int(m.group(3) or m.group(2))
        assert hi + size <= OVERRUN, e["line"]
        lines = e["places"][0]["lines"]["ttgir"]
        assert set(lines) <= loads, (lines, e["line"])
        assert f"TTGIR {lines[0]}" in e["line"] and f"past the end of {m.group(4)}" in e["line"]
        assert e["new"] is True
        named |= set(lines)
    assert named, report["errors"]


def test_the_original_was_clean_under_memcheck(unmasked):
    (original,) = unmasked["report"]["original"]
    assert original["errors"] == [] and original["summary"] == "0 errors", original


def _kernel(script: Path) -> str:
    """The first @triton.jit (or @gluon.jit) function of an example."""
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.FunctionDef) and any(
                getattr(d.func if isinstance(d, ast.Call) else d, "attr", None) == "jit" for d in node.decorator_list):
            return node.name
    raise AssertionError(f"{script}: no jit kernel")


@pytest.mark.parametrize("example", sorted(p.stem for p in EXAMPLES.glob("*.py")))
def test_every_examples_original_is_clean_under_memcheck(example, tmp_path):
    script = tmp_path / f"{example}.py"
    shutil.copyfile(EXAMPLES / f"{example}.py", script)
    proc = run_cli("sanitize", str(script), "--kernel", _kernel(script), "--timeout", LIMIT,
                   "--script-timeout", LIMIT, "--json", cwd=tmp_path)
    if proc.returncode == 2 and any(reason in proc.stderr for reason in CANNOT):
        pytest.skip(proc.stderr.strip())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (report,) = json.loads(proc.stdout)["version"]
    assert report["errors"] == [] and report["summary"] == "0 errors", report

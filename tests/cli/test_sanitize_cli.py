"""``workbench sanitize`` on the CPU: its one-line failures, and a tool's run over a real export of
the vector_add example (its ``run.py --sanitize``) under a fake ``compute-sanitizer``
(tests/fake_sanitizer.py) that runs the replay as the real one does, or hands back a log. The
parsing and the fold are tests/profile/test_sanitize.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import EXAMPLES, has_cuda, run_cli
from workbench.model.diagnostics import WorkbenchError
from workbench.profile import sanitize

import fake_sanitizer
from fake_sanitizer import BUFFERS, OUT_OF_BOUNDS


@pytest.fixture(scope="module")
def add_export(tmp_path_factory) -> Path:
    """The vector_add example's original, exported (captured in the interpreter on the CPU)."""
    root = tmp_path_factory.mktemp("sanitize")
    script = root / "vector_add.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", script)
    out = root / "export"
    proc = run_cli("export", str(script), "--kernel", "add_kernel", "--version", "original", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture
def fake(monkeypatch, tmp_path):
    def use(mode: str, log: str = "", sleep: float = 0.0) -> None:
        for k, v in fake_sanitizer.install(tmp_path / "bin", mode, log, sleep).items():
            monkeypatch.setenv(k, v)
    return use


def test_without_compute_sanitizer_one_line_says_where_to_get_it(tmp_path):
    script = tmp_path / "vector_add.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", script)
    proc = run_cli("sanitize", str(script), "--kernel", "add_kernel",
                   env={"PATH": str(tmp_path / "empty"), "WORKBENCH_SANITIZER": ""})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"{script}: error: NVIDIA's compute-sanitizer is not on PATH (it comes with the CUDA toolkit, e.g. "
        "/usr/local/cuda/bin/compute-sanitizer; or name it with WORKBENCH_SANITIZER)"]


def test_workbench_sanitizer_naming_no_program_is_one_line(add_export, tmp_path, monkeypatch):
    missing = tmp_path / "nothing-here"
    monkeypatch.setenv("WORKBENCH_SANITIZER", str(missing))
    with pytest.raises(WorkbenchError) as e:
        sanitize.run_tool(add_export, "memcheck")
    assert str(e.value) == (f"{add_export / 'add_kernel.py'}: error: {missing} cannot be run: name compute-sanitizer "
                            "with WORKBENCH_SANITIZER (e.g. /usr/local/cuda/bin/compute-sanitizer)")


@pytest.mark.skipif(has_cuda(), reason="the GPU machine has a GPU")
def test_without_a_gpu_one_line_says_it_needs_one(tmp_path):
    script = tmp_path / "vector_add.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", script)
    env = fake_sanitizer.install(tmp_path / "bin")
    proc = run_cli("sanitize", str(script), "--kernel", "add_kernel", env=env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"{script}: error: compute-sanitizer checks a kernel as it runs on an NVIDIA GPU, and this machine has "
        "none: run `workbench sanitize` where the GPU is"]


@pytest.mark.skipif(has_cuda(), reason="with a GPU the replay runs")
def test_a_replay_that_failed_is_one_line_with_its_own_reason(add_export, fake):
    """The fake runs the real run.py --sanitize, which refuses without a GPU, as it does under the
    real tool on a machine whose GPU is gone; its sentence comes back in one line."""
    fake("run")
    with pytest.raises(WorkbenchError) as e:
        sanitize.run_tool(add_export, "memcheck")
    assert str(e.value) == (f"{add_export / 'add_kernel.py'}: error: compute-sanitizer could not check add_kernel "
                            "under memcheck: the replay failed: compute-sanitizer checks a kernel as it runs on an "
                            "NVIDIA GPU, and this machine has none")
    assert (add_export / "sanitize" / "memcheck.log").is_file()


def test_a_tool_past_its_time_limit_says_so(add_export, fake):
    fake("sleep", sleep=5)
    with pytest.raises(WorkbenchError) as e:
        sanitize.run_tool(add_export, "racecheck", timeout=1)
    assert str(e.value) == (f"{add_export / 'add_kernel.py'}: error: compute-sanitizer's racecheck ran past 1 s on "
                            "add_kernel: the kernel is too slow under the tool (raise --timeout)")


def test_a_log_of_this_kernel_folds_onto_the_exports_levels(add_export, fake, tmp_path):
    """A log naming the export's own kernel at the offset of one of its loads (the tool's exact
    flags, its --log-file, the export's cubin disassembled): one finding, at the load's lines;
    with no buffers.json (the replay did not run) the address is given as the tool gave it."""
    log = tmp_path / "given.log"
    log.write_text("========= COMPUTE-SANITIZER\n"
                   "========= Invalid __global__ read of size 16 bytes\n"
                   "=========     at add_kernel+0x180 in vector_add.py:20\n"
                   "=========     by thread (0,0,0) in block (96,0,0)\n"
                   "=========     Access to 0x7f0000060200 is out of bounds\n"
                   "=========\n"
                   "========= Invalid __global__ write of size 4 bytes\n"
                   "=========     at vectorized_elementwise_kernel+0x40\n"
                   "=========     by thread (0,0,0) in block (0,0,0)\n"
                   "=========     Access to 0x10 is out of bounds\n"
                   "=========\n"
                   "========= ERROR SUMMARY: 2 errors\n")
    fake("log", str(log))
    rep = sanitize.run_tool(add_export, "memcheck")
    assert rep["other_kernels"] == 1 and rep["summary"] == "2 errors"
    (e,) = rep["errors"]
    assert e["what"] == "reads 16 bytes at 0x7f0000060200 (is out of bounds)"
    assert e["places"][0]["python"][1] == 20 and e["places"][0]["lines"]["ttgir"]
    ttgir = (add_export / "add_kernel.ttgir").read_text().splitlines()
    assert all("tt.load" in ttgir[n - 1] for n in e["places"][0]["lines"]["ttgir"])
    assert e["line"].startswith("memcheck: reads 16 bytes at 0x7f0000060200 (is out of bounds), thread (0,0,0) "
                                "block (96,0,0): SASS +0x0180 line ")


def test_the_originals_findings_are_kept_by_its_binary_and_launch(add_export, tmp_path):
    cache = tmp_path / "sanitize" / "add_kernel-original-memcheck.json"
    key = sanitize.cache_key(add_export, "memcheck")
    assert key != sanitize.cache_key(add_export, "racecheck")
    assert sanitize.cached(cache, key) is None
    sanitize.keep(cache, key, {"tool": "memcheck", "errors": []})
    assert sanitize.cached(cache, key) == {"tool": "memcheck", "errors": []}
    assert sanitize.cached(cache, "another binary") is None
    cache.write_text(json.dumps({"key": key, "report": {"errors": "not a list"}}))
    assert sanitize.cached(cache, key) is None
    cache.write_text("{not json")
    assert sanitize.cached(cache, key) is None


def test_an_export_against_the_originals_marks_new_errors_and_keeps_the_originals(add_export, tmp_path):
    """As the app runs it: a version's export checked against the original's export (``--original``),
    the original's findings kept in the workspace (``--workspace``); here on the CPU, under a fake tool
    that hands back one log for both (no GPU check first: for a folder the replay says it)."""
    version = tmp_path / "add_kernel-v1"
    shutil.copytree(add_export, version)
    log, buffers = tmp_path / "given.log", tmp_path / "buffers.json"
    log.write_text(OUT_OF_BOUNDS)
    buffers.write_text(json.dumps(BUFFERS))
    env = fake_sanitizer.install(tmp_path / "bin", "log", str(log), buffers=str(buffers))
    workspace = tmp_path / "workspace"
    cache = workspace / "sanitize" / "add_kernel-original-memcheck.json"
    key = sanitize.cache_key(add_export, "memcheck")
    sanitize.keep(cache, key, {"tool": "memcheck", "kernel": "add_kernel", "errors": []})
    args = ("sanitize", str(version), "--original", str(add_export), "--workspace", str(workspace), "--json")
    proc = run_cli(*args, env=env)
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    (e,) = out["version"][0]["errors"]
    assert e["what"] == "reads 16 bytes 128 past the end of x_ptr" and e["new"] is True
    assert out["original"][0]["cached"] == str(cache) and out["original"][0]["errors"] == []
    # no kept findings: the original is checked (the same log: the error is not new) and kept
    cache.unlink()
    out = json.loads(run_cli(*args, env=env).stdout)
    assert [e["new"] for e in out["version"][0]["errors"]] == [False]
    assert [e["what"] for e in sanitize.cached(cache, key)["errors"]] == ["reads 16 bytes 128 past the end of x_ptr"]


def test_an_original_that_is_no_export_is_one_line(add_export, tmp_path):
    proc = run_cli("sanitize", str(add_export), "--original", str(tmp_path),
                   env=fake_sanitizer.install(tmp_path / "bin", "run"))
    assert proc.returncode == 2 and proc.stderr.splitlines() == [
        f"{tmp_path}: error: not a folder written by `workbench export` (no launch.json)"]


def test_records_the_tool_dropped_are_said(add_export, tmp_path):
    """initcheck on the H100 overflowed its error buffer and said "192 errors were skipped" at the
    end of its log (tests/data/sanitizer/initcheck.log): the report says how many it left out."""
    log = tmp_path / "given.log"
    log.write_text(OUT_OF_BOUNDS.replace("========= ERROR SUMMARY: 1 error\n", "")
                   + "========= Warning: Error buffer overflow has been detected. Some records have been dropped\n"
                   "========= \n========= ERROR SUMMARY: 2 errors\n========= \n"
                   "========= 192 errors were skipped (error buffer overflow).\n")
    proc = run_cli("sanitize", str(add_export), env=fake_sanitizer.install(tmp_path / "bin", "log", str(log)))
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[0] == "add_kernel version under memcheck: 1 error"
    assert proc.stdout.splitlines()[2] == ("  compute-sanitizer left 192 more records out (its error buffer "
                                           "overflowed): the lines above may not be all")

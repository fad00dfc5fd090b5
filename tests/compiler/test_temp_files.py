"""No compile leaves a file in the temporary folder: not when ptxas fails, not when killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from helpers import ROOT, run_cli
from workbench.model.diagnostics import WorkbenchError
from workbench.compiler.stages import Compiler


@pytest.fixture
def level_files(compiled, tmp_path):
    spec, full = compiled("vector_add", "cuda:90")
    return full, full.write(tmp_path / "levels", spec.kernel)


def _leftovers(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_failing_ptx_compile_leaves_nothing_in_tmpdir(level_files, tmp_path):
    _, paths = level_files
    paths["ptx"].write_text(paths["ptx"].read_text().replace("add.f32", "add.f33"))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = run_cli("compile", str(paths["ptx"]), "--no-sass", env={"TMPDIR": str(tmp)})
    assert proc.returncode == 2 and "Unknown modifier '.f33'" in proc.stderr
    assert _leftovers(tmp) == []


def test_parsing_edited_mlir_leaves_nothing_in_tmpdir(level_files, tmp_path, monkeypatch):
    full, paths = level_files
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    text = paths["ttgir"].read_text()
    with pytest.raises(WorkbenchError):  # an edit not yet on disk, and broken
        Compiler("cuda:90").compile_level("ttgir", text.replace("arith.addf", "arith.addx"), full.metadata_json(),
                                          file=str(paths["ttgir"]), with_sass=False)
    Compiler("cuda:90").compile_level("ttgir", text.replace("arith.addf", "arith.mulf"), full.metadata_json(),
                                      file=str(paths["ttgir"]), with_sass=True)
    assert _leftovers(tmp) == []


def test_a_sass_step_killed_midway_is_cleaned_up_by_the_next_process(level_files, tmp_path):
    full, paths = level_files
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=str(ROOT))
    script = textwrap.dedent(f'''
        from workbench.compiler import compat
        from workbench.compiler.sass import disassemble
        cubin = open({str(paths["cubin"])!r}, "rb").read()
        while True:
            disassemble(cubin, compat.nvidia_tool("nvdisasm"))
        ''')
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp.rglob("*.cubin")) and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert list(tmp.rglob("*.cubin")), "the SASS step never wrote its cubin"  # killed with it on disk
    result = run_cli("compile", str(paths["cubin"]), env={"TMPDIR": str(tmp),
                                                          "WORKBENCH_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert _leftovers(tmp) == []


def test_an_ir_dump_leaves_nothing_in_tmpdir(tmp_path):
    """A dump's rewritten level is parsed and compiled in a folder of ours, then removed."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = run_cli("dump", str(ROOT / "examples" / "vector_add.py"), "--level", "ttir", "--value", "%mask_3",
                   env={"TMPDIR": str(tmp)})
    assert proc.returncode == 0, proc.stderr
    assert "rewrite compiles for cuda:90" in proc.stdout
    assert _leftovers(tmp) == []


@pytest.mark.gpu
def test_a_replay_on_the_gpu_leaves_nothing_in_tmpdir(tmp_path):
    """Each launch's CompiledKernel was made over a folder left in /tmp (workbench-launch-*)."""
    import shutil
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    shutil.copy(ROOT / "examples" / "vector_add.py", tmp_path / "vector_add.py")
    proc = run_cli("run", str(tmp_path / "vector_add.py"), env={"TMPDIR": str(tmp)})
    assert proc.returncode == 0, proc.stderr
    assert _leftovers(tmp) == []

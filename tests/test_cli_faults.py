"""Issue 26, the CLI side: faults a user (or the disk) causes are one line naming the file,
what is wrong and what to do; never an abort, a traceback or a folder left behind. Real
files, real compiles, the real CLI in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import EXAMPLES, run_cli
from workbench.runner.client import RunnerClient
from workbench.runner.protocol import RunnerError


def _lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith(("running ", "note: "))]


@pytest.fixture(scope="module")
def levels(tmp_path_factory):
    """vector_add's levels (and metadata) as `compile --out` writes them."""
    work = tmp_path_factory.mktemp("levels")
    (work / "vector_add.py").write_text((EXAMPLES / "vector_add.py").read_text())
    proc = run_cli("compile", str(work / "vector_add.py"), "--no-sass", "--out", str(work / "out"))
    assert proc.returncode == 0, proc.stderr
    return next((work / "out").iterdir())


# -- 7: a level with no kernel in it ----------------------------------------------------------

EMPTY = "is empty: there is no kernel in it to compile"


@pytest.mark.parametrize("level", ["ttir", "ttgir", "llir", "ptx"])
@pytest.mark.parametrize("text", ["", "  \n\n\t\n"], ids=["empty", "blank"])
def test_an_empty_level_is_one_line_not_an_abort(levels, tmp_path, level, text):
    """An empty .ttgir aborted the process in MLIR (exit 134, nothing printed); an empty .llir
    said `AssertionError: AssertionError`; an empty .ptx named a temporary file."""
    path = tmp_path / f"add_kernel.{level}"
    path.write_text(text)
    (tmp_path / "add_kernel.json").write_bytes((levels / "add_kernel.json").read_bytes())
    proc = run_cli("compile", str(path), "--no-sass")
    assert (proc.returncode, _lines(proc.stderr)) == (2, [f"{path}: error: {EMPTY}"]), proc.stderr


@pytest.mark.parametrize("text", ["// only a comment\n", "module {\n}\n", "private"],
                         ids=["comment", "empty-module", "private-function"])
@pytest.mark.parametrize("level", ["ttir", "ttgir"])
def test_an_mlir_level_with_no_kernel_function_is_one_line(levels, tmp_path, level, text):
    """MLIR asserts there is a kernel (a public tt.func) and aborts the process when there is none."""
    if text == "private":
        text = (levels / f"add_kernel.{level}").read_text().replace("tt.func public", "tt.func private")
    path = tmp_path / f"k.{level}"
    path.write_text(text)
    proc = run_cli("compile", str(path), "--no-sass")
    assert (proc.returncode, _lines(proc.stderr)) == (2, [
        f"{path}: error: holds no kernel: a public tt.func is what is compiled"]), proc.stderr


def test_llir_with_no_kernel_is_one_line(levels, tmp_path):
    path = tmp_path / "add_kernel.llir"
    path.write_text("; only a comment\ndefine void @helper() {\n  ret void\n}\n")
    (tmp_path / "add_kernel.json").write_bytes((levels / "add_kernel.json").read_bytes())
    proc = run_cli("compile", str(path), "--no-sass")
    assert proc.returncode == 2 and "AssertionError" not in proc.stderr, proc.stderr
    assert _lines(proc.stderr) == [f"{path}: error: LLVM made no single kernel of it: the LLIR must define "
                                   "exactly one kernel function"], proc.stderr


def test_an_emptied_edit_is_a_diagnostic_in_the_runner_not_a_crash_loop(tmp_path):
    """The app's runner compiles what is saved in edit/: an emptied TTGIR restarted it ~20
    times a minute. Now the save is answered with the line, and the runner lives on."""
    script = tmp_path / "vector_add.py"
    script.write_text((EXAMPLES / "vector_add.py").read_text())
    with RunnerClient() as client:
        opened = client.call("open", script=str(script), workspace=str(tmp_path / "ws"), with_sass=False)
        ttgir = Path(opened["kernels"][0]["edit"]) / "add_kernel.ttgir"
        ttgir.write_text("")
        pid = client.pid
        with pytest.raises(RunnerError) as err:
            client.call("apply", kernel="add_kernel", path=str(ttgir))
        assert err.value.lines() == [f"{ttgir}: error: {EMPTY}"]
        assert client.pid == pid and client.alive()
        assert client.call("run", kernel="add_kernel")["status"] in ("ok", "compiled-only")

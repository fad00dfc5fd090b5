"""A broken file at each level: a message at its line, exit status 2, never a traceback."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from helpers import ROOT, run_cli
from workbench.model.diagnostics import WorkbenchError
from workbench.compiler.stages import Compiler


def _line_of(text: str, needle: str) -> int:
    return next(i for i, row in enumerate(text.splitlines(), 1) if needle in row)


def _break(path, level: str) -> tuple[int, str]:
    """Break the level file in place; returns the broken line and the message pattern expected."""
    needle, replacement, pattern = BREAKS[level]
    text = path.read_text()
    assert needle in text
    path.write_text(text.replace(needle, replacement, 1))
    return _line_of(text, needle), pattern


BREAKS = {
    # level: (needle, replacement, message pattern)
    "ttir": ("tt.load", "tt.lod", r"custom op 'tt\.lod' is unknown"),
    "ttgir": ("arith.addf", "arith.addx", r"arith\.addx"),
    "llir": ("ret void", "ret voi", r"expected type"),
    "ptx": ("add.f32", "add.f33", r"Unknown modifier '\.f33'"),
}


@pytest.fixture
def level_files(compiled, tmp_path):
    spec, full = compiled("vector_add", "cuda:90")
    paths = full.write(tmp_path, spec.kernel)
    return full, paths


@pytest.mark.parametrize("level", list(BREAKS))
def test_a_broken_level_reports_its_line(level_files, level):
    full, paths = level_files
    line, pattern = _break(paths[level], level)
    with pytest.raises(WorkbenchError) as info:
        Compiler("cuda:90").compile_file(paths[level], full.metadata_json())
    diag = info.value.diagnostics[0]
    assert diag.file == str(paths[level])
    assert diag.line == line
    assert re.search(pattern, diag.message), diag.message


@pytest.mark.parametrize("level", list(BREAKS))
def test_the_cli_exits_2_with_a_compiler_style_message(level_files, level):
    _, paths = level_files
    line, pattern = _break(paths[level], level)
    proc = run_cli("compile", str(paths[level]), "--no-sass")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert re.match(rf"{re.escape(str(paths[level]))}:{line}(:\d+)?: error: ", first), first
    assert re.search(pattern, first)


def test_the_cli_refuses_a_cubin_that_does_not_match_its_metadata(level_files):
    _, paths = level_files
    meta = json.loads(paths["json"].read_text())
    meta["name"] = "not_the_kernel"
    paths["json"].write_text(json.dumps(meta))
    proc = run_cli("compile", str(paths["cubin"]))
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{paths['cubin']}: error: the cubin holds kernel(s) add_kernel, "
                                  f"but its metadata names 'not_the_kernel'")


def test_a_missing_or_broken_metadata_file_is_reported(level_files, tmp_path):
    _, paths = level_files
    lonely = tmp_path / "alone" / "k.ptx"
    lonely.parent.mkdir()
    lonely.write_text(paths["ptx"].read_text())
    proc = run_cli("compile", str(lonely))
    assert proc.returncode == 2 and "needs the kernel's metadata: put k.json beside it" in proc.stderr
    (lonely.parent / "k.json").write_text('{"name": "add_kernel",\n  "num_warps": 4,,}')
    proc = run_cli("compile", str(lonely))
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{lonely.parent / 'k.json'}:2:18: error: not valid JSON")


def test_a_python_error_in_the_kernel_points_at_its_line(tmp_path):
    (tmp_path / "kernels.py").write_text(textwrap.dedent('''\
        import triton
        import triton.language as tl


        @triton.jit
        def broken_kernel(x_ptr, BLOCK: tl.constexpr):
            offs = tl.arange(0, BLOCK)
            x = tl.load(x_ptr + offs)
            tl.store(x_ptr + offs, x + undefined_name)
        '''))
    (tmp_path / "script.py").write_text(textwrap.dedent('''\
        import torch
        from kernels import broken_kernel
        broken_kernel[(1,)](torch.zeros(128), BLOCK=128)
        '''))
    proc = run_cli("compile", str(tmp_path / "script.py"), "--no-sass")
    assert proc.returncode == 2
    assert f"{tmp_path / 'kernels.py'}:9:32: error: NameError('undefined_name is not defined')" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_script_that_raises_before_launching_is_reported_at_its_line(tmp_path):
    (tmp_path / "script.py").write_text("import torch\n\nx = torch.zeros(4)\nraise ValueError('no input file')\n")
    proc = run_cli("compile", str(tmp_path / "script.py"))
    assert proc.returncode == 2
    assert (f"{tmp_path / 'script.py'}:4: error: the script raised ValueError before launching any kernel: "
            "no input file") in proc.stderr
    assert f"{tmp_path / 'script.py'}: error: the script launched no Triton kernel" in proc.stderr


def test_unknown_target_and_missing_file(tmp_path):
    proc = run_cli("compile", "examples/vector_add.py", "--target", "gpu-9000", cwd=ROOT)
    assert proc.returncode == 2 and "--target: error: unknown target 'gpu-9000'" in proc.stderr
    proc = run_cli("compile", str(tmp_path / "nope.ttgir"))
    assert proc.returncode == 2 and f"{tmp_path / 'nope.ttgir'}: error: no such file" in proc.stderr


def test_an_interpreter_that_fails_under_this_numpy_is_said_as_such():
    """Triton 3.6's interpreter under numpy >= 2.4 (triton-lang/triton#9171): one sentence that
    names the cause, not the interpreter's traceback; a kernel's own error is left alone."""
    import numpy
    from workbench.compiler import compat_interpreter
    said = compat_interpreter.interpreter_failure(TypeError("only 0-dimensional arrays can be converted to Python scalars"))
    assert f"numpy {numpy.__version__}" in said and "#9171" in said and "numpy < 2.4" in said
    assert compat_interpreter.interpreter_failure(IndexError("index 1024 is out of bounds")) is None

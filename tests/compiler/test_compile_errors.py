"""What a user can get wrong around a compile is one line `FILE:LINE: error: sentence`, exit 2."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from helpers import EXAMPLES, run_cli
from workbench.runtime.capture.script import run_script
from workbench.compiler.stages import Compiler


@pytest.fixture
def level_files(compiled, tmp_path):
    spec, full = compiled("vector_add", "cuda:90")
    return full, full.write(tmp_path, spec.kernel)


def _one_error_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, row in enumerate(text.splitlines(), 1) if needle in row)


@pytest.mark.parametrize("key, value, sentence", [
    ("num_warps", 0, "num_warps must be at least 1, not 0"),  # 12 is a warp-specialized total: test_warp_specialized
    ("num_warps", "four", "num_warps must be a whole number, not 'four'"),
    ("shared", "x", "shared must be a whole number, not 'x'"),
    ("shared", -1, "shared must be at least 0, not -1"),
    ("name", 7, "name must be a string, not 7"),
])
@pytest.mark.parametrize("level", ["llir", "ptx", "cubin"])
def test_a_metadata_value_of_the_wrong_type_is_refused_at_its_line(level_files, level, key, value, sentence):
    _, paths = level_files
    meta = json.loads(paths["json"].read_text())
    meta[key] = value
    paths["json"].write_text(json.dumps(meta, indent=2))
    line = _line_of(paths["json"].read_text(), f'"{key}":')
    first = _one_error_line(run_cli("compile", str(paths[level]), "--no-sass"))
    assert first == f"{paths['json']}:{line}:3: error: {sentence}", first


def test_an_invalid_json_beside_a_ttgir_names_the_json(level_files):
    _, paths = level_files
    text = paths["json"].read_text()
    paths["json"].write_text(text.replace('"num_ctas": 1,', '"num_ctas": 1,,'))
    line = _line_of(text, '"num_ctas"')
    first = _one_error_line(run_cli("compile", str(paths["ttgir"]), "--no-sass"))
    assert re.fullmatch(rf"{re.escape(str(paths['json']))}:{line}:\d+: error: not valid JSON: .*", first), first


def test_a_ptxas_fatal_error_keeps_its_line_and_nothing_prints_twice(level_files):
    _, paths = level_files
    text = paths["ptx"].read_text()
    line = _line_of(text, "add.f32")
    paths["ptx"].write_text(text.replace("add.f32 ", "add.f32 ]] ", 1))
    first = _one_error_line(run_cli("compile", str(paths["ptx"]), "--no-sass"))
    assert first == f"{paths['ptx']}:{line}: error: Parsing error near ']': syntax error", first
    paths["ptx"].write_text(text.replace("add.f32", "add.f33"))
    proc = run_cli("compile", str(paths["ptx"]), "--no-sass")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == len(set(lines)) == 16, proc.stderr  # 8 lines, 2 errors each


@pytest.mark.parametrize("what", ["script", "level file"])
def test_an_unsupported_target_is_refused_before_anything_runs(level_files, tmp_path, what):
    _, paths = level_files
    marker = tmp_path / "ran"
    script = tmp_path / "script.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n" + (EXAMPLES / "vector_add.py").read_text())
    proc = run_cli("compile", str(script if what == "script" else paths["ttgir"]), "--target", "cuda:999")
    first = _one_error_line(proc)
    assert first.startswith("--target: error: cuda:999 is not a target this Triton can compile for; "
                            "supported: "), first
    assert "cuda:80" in first and "cuda:90" in first and "cuda:120" in first
    assert not marker.exists()  # the script never ran


def test_a_non_ascii_script_name_compiles_and_maps_back(tmp_path):
    script = tmp_path / "vecé.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", script)
    spec = run_script(script, mode="compile-only", target="cuda:90").specs[0]
    result = Compiler("cuda:90").compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                                spec.options, with_sass=True)
    assert '.file\t1 "' + str(script).replace("é", "\\303\\251") + '"' in result.levels["ptx"]  # LLVM's escapes
    assert {f for f, _ in result.sass_lines.values()} == {str(script)}  # SASS line info names the real file
    from workbench.model import srcmap
    smap = srcmap.build(result.levels, result.sass_lines, result.python)
    for level in ("ttir", "ttgir", "llir", "ptx", "sass"):  # every level joins the script's lines
        files = {f for locs in smap.levels[level].values() for f, _ in locs}
        assert files == {str(script)}, (level, files)
    proc = run_cli("compile", str(script), "--no-sass", "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert list((tmp_path / "out").rglob("add_kernel.cubin"))


def test_a_level_file_that_is_not_utf8_is_refused_at_its_line(level_files):
    _, paths = level_files
    data = paths["ttgir"].read_bytes().split(b"\n")
    col = len(data[4]) + 2
    data[4] = data[4] + b" \xe9\xff"
    paths["ttgir"].write_bytes(b"\n".join(data))
    first = _one_error_line(run_cli("compile", str(paths["ttgir"]), "--no-sass"))
    assert first == f"{paths['ttgir']}:5:{col}: error: not UTF-8 text: byte 0xe9 cannot be read", first

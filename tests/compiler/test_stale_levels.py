"""A level file beside a compile's output is either what that compile produced or absent."""

from __future__ import annotations

from helpers import run_cli
from workbench.compiler.stages import Compiler


def test_writing_a_result_without_sass_removes_the_old_sass(compiled, tmp_path):
    spec, full = compiled("vector_add", "cuda:90")
    paths = full.write(tmp_path, spec.kernel)
    assert paths["sass"].is_file()
    ttgir = paths["ttgir"].read_text().replace("arith.addf", "arith.mulf")
    edited = Compiler("cuda:90").compile_level("ttgir", ttgir, full.metadata_json(), with_sass=False)
    written = edited.write(tmp_path, spec.kernel)
    assert "sass" not in written
    assert not (tmp_path / f"{spec.kernel}.sass").exists()  # it described the old cubin
    assert (tmp_path / f"{spec.kernel}.cubin").read_bytes() == edited.levels["cubin"]
    assert "mul.f32" in (tmp_path / f"{spec.kernel}.ptx").read_text()
    # the levels above the start are not this result's to touch
    assert (tmp_path / f"{spec.kernel}.ttir").read_text() == full.levels["ttir"]


def test_a_python_compile_without_sass_removes_the_old_sass(compiled, tmp_path):
    spec, full = compiled("vector_add", "cuda:90")
    full.write(tmp_path, spec.kernel)
    again = Compiler("cuda:90").compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                               spec.options, with_sass=False)
    again.write(tmp_path, spec.kernel)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".cubin", ".json", ".llir", ".ptx", ".ttgir", ".ttir"]


def test_an_in_place_cli_compile_with_no_sass_leaves_no_stale_sass(compiled, tmp_path):
    spec, full = compiled("vector_add", "cuda:90")
    paths = full.write(tmp_path, spec.kernel)
    paths["ptx"].write_text(paths["ptx"].read_text().replace("add.f32", "mul.f32"))
    proc = run_cli("compile", str(paths["ptx"]), "--no-sass")
    assert proc.returncode == 0, proc.stderr
    assert not paths["sass"].exists()
    assert paths["cubin"].read_bytes() != full.levels["cubin"]
    proc = run_cli("compile", str(paths["ptx"]))  # with SASS: it is back, and current
    assert proc.returncode == 0, proc.stderr
    assert "FMUL" in paths["sass"].read_text() and "FADD" not in paths["sass"].read_text()

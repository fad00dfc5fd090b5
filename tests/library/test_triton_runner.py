"""``import workbench.triton_runner as triton_runner``: scripts written the way triton-runner's are
(its keywords and helpers; its own files are not copied here) run on the workbench. No GPU: the
launches compile (a compile-only driver); on a GPU (``gpu`` tests) they launch."""

from __future__ import annotations

import json

import pytest
import torch
import triton
import triton.language as tl

import workbench.triton_runner as triton_runner
from workbench.compiler import compat
from workbench.model.diagnostics import WorkbenchError


@triton_runner.jit
def scale_kernel(x_ptr, out_ptr, n, alpha, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * alpha, mask=mask)


X = torch.rand(4096)
ARGS = (X, torch.empty_like(X), 4096, 2.0)


@pytest.fixture(scope="module")
def levels(tmp_path_factory):
    out = tmp_path_factory.mktemp("levels")
    return scale_kernel.save_levels(out, *ARGS, BLOCK=512)


def _compile(**kwargs):
    with compat.compile_only_driver(compat.parse_target("cuda:90")):
        return scale_kernel.warmup(*ARGS, BLOCK=512, grid=(8,), **kwargs)


def test_get_file_dir_is_the_scripts_folder():
    assert triton_runner.get_file_dir(__file__) == str(__import__("pathlib").Path(__file__).resolve().parent)


@pytest.mark.parametrize("level", ["ttir", "ttgir"])
def test_a_src_string_compiles_as_its_file_would(levels, level, capfd):
    compiled = _compile(**{f"{level}_src": levels[level].read_text()})
    assert compiled.asm["cubin"] == _compile(**{f"{level}_dir": levels[level].parent}).asm["cubin"]
    assert f"scale_kernel from {level.upper()} " in capfd.readouterr().err


@pytest.mark.parametrize("level", ["llir", "ptx"])
def test_a_src_string_with_metadata_json_compiles(levels, level):
    meta = json.loads(levels["json"].read_text())
    compiled = _compile(**{f"{level}_src": levels[level].read_text(), "metadata_json": meta})
    assert compiled.metadata.name == "scale_kernel" and compiled.asm["cubin"]
    with pytest.raises(WorkbenchError, match=f"{level}_src= needs metadata_json="):
        _compile(**{f"{level}_src": levels[level].read_text()})


def test_a_src_path_is_read(levels):
    assert _compile(ttgir_src=str(levels["ttgir"])).asm["cubin"] == _compile(ttgir_dir=levels["ttgir"].parent).asm["cubin"]


def test_autotune_cubin_dir_takes_the_options_and_constexprs_its_json_recorded(levels, tmp_path):
    meta = json.loads(levels["json"].read_text())
    # triton-runner's JSON: the launch keywords in kernel_signature (name, type, value, given by keyword)
    meta["kernel_signature"] = str((("x_ptr", "*fp32", "D", False), ("BLOCK", "constexpr", 512, True)))
    (tmp_path / "scale_kernel.json").write_text(json.dumps(meta))
    (tmp_path / "scale_kernel.cubin").write_bytes(levels["cubin"].read_bytes())
    with compat.compile_only_driver(compat.parse_target("cuda:90")):
        compiled = scale_kernel.warmup(*ARGS, grid=(8,), autotune_cubin_dir=str(tmp_path))
    assert compiled.asm["cubin"] == levels["cubin"].read_bytes() and compiled.metadata.num_warps == meta["num_warps"]


@pytest.mark.parametrize("key, value, said", [
    ("dump_tensor", torch.empty(4), "workbench dump SCRIPT --level python"),
    ("dump_value", "%x", "workbench dump SCRIPT --level ttgir --value %NAME"),
    ("start_pass", "cse", "workbench passes SCRIPT"),
])
def test_a_keyword_the_workbench_takes_elsewhere_is_one_line_naming_the_command(levels, key, value, said):
    with pytest.raises(WorkbenchError) as err:
        _compile(ttgir_dir=levels["ttgir"].parent, **{key: value})
    (line,) = [str(d) for d in err.value.diagnostics]
    assert f"{key}= is triton-runner's; the workbench does not take it at the launch: " in line and said in line
    assert line.startswith(f"{__file__}:")


def test_configure_jit_backend_makes_triton_jit_theirs_until_restored():
    native = triton.jit
    triton_runner.configure_jit_backend()
    try:
        @triton.jit
        def k(x_ptr):
            pass
        assert isinstance(k, triton_runner.RunnerJITFunction)
    finally:
        triton_runner.restore_jit_backend()
    assert triton.jit is native


def test_language_and_testing_are_there():
    from workbench.language import dump
    assert triton_runner.language.dump is dump
    assert triton_runner.testing.do_bench is triton.testing.do_bench


@pytest.mark.gpu
def test_each_level_launches_and_matches(levels):
    x = torch.rand(4096, device="cuda")
    meta = json.loads(levels["json"].read_text())
    outs = []
    for kwargs in ({}, {"ttir_dir": levels["ttir"].parent}, {"ttgir_src": levels["ttgir"].read_text()},
                   {"ptx_src": levels["ptx"].read_text(), "metadata_json": meta}, {"cubin_dir": levels["cubin"].parent}):
        out = torch.empty_like(x)
        scale_kernel[(8,)](x, out, 4096, 2.0, BLOCK=512, **kwargs)
        outs.append(out)
    for out in outs:
        torch.testing.assert_close(out, 2 * x)

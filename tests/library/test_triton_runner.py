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


def _after_pass(stage: str, call: str) -> str:
    """The IR after the first pass ``call`` of ``stage``, as the workbench records it."""
    from workbench.api import shared_compiler
    from workbench.runtime.launch import specialization_of
    from workbench.triton_runner.passes import _Spec
    spec = specialization_of(_Spec(scale_kernel), ARGS, {"BLOCK": 512}, (8,))
    recorded = shared_compiler().compile_spec(spec, with_sass=False, record_passes=(stage,)).passes[stage]
    text = recorded["input"]
    for p in recorded["passes"]:
        text = p["ir"] or text   # (an unchanged pass keeps no text: it is the one before it)
        if p["call"].endswith(call):
            return text


@pytest.mark.parametrize("level, start_pass, call", [("ttir", "cse", "add_cse"),
                                                     ("ttgir", "coalesce", "add_coalesce"),
                                                     ("ttgir", "remove_layout_conversions_2",
                                                      "add_remove_layout_conversions")])
def test_start_pass_compiles_on_from_the_pass_after_it(levels, level, start_pass, call):
    text = _after_pass(level, call)
    if start_pass.endswith("_2"):   # (the second run's input: the IR after the first)
        start_pass = start_pass[:-2]
    compiled = _compile(**{f"{level}_src": text, "start_pass": start_pass})
    assert compiled.asm["cubin"] == _compile(cubin_dir=levels["cubin"].parent).asm["cubin"]


def test_a_pass_triton_does_not_run_is_one_line_naming_those_it_does(levels):
    with pytest.raises(WorkbenchError) as err:
        _compile(ttir_src=levels["ttir"].read_text(), start_pass="no_such_pass")
    (line,) = [str(d) for d in err.value.diagnostics]
    assert "start_pass='no_such_pass': no such pass in the TTIR stage" in line and "cse" in line


def test_dump_tensor_at_warmup_is_one_line(levels):
    with pytest.raises(WorkbenchError, match="dump_tensor= goes with a launch"):
        _compile(dump_tensor=torch.empty(4))


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


def test_language_and_testing_are_real_submodules():
    import workbench.triton_runner.language as dl
    from workbench.triton_runner.language import dump, dump_boundary, dump_grids
    from workbench.triton_runner.testing import do_bench
    assert dl is triton_runner.language and dl.dump is dump and dump_boundary.__triton_builtin__
    assert dump_grids.__triton_builtin__ and do_bench is triton.testing.do_bench


def test_torch_utils_size_their_dump_buffers():
    from workbench.triton_runner import torch_utils
    t = torch.ones(100, 70)
    assert torch_utils.get_pad_n_elements(t, [32, 32]) == 128 * 96
    assert torch_utils.get_grid_dim([100, 70], [32, 32]) == (4, 3)
    assert torch_utils.get_n_elements_with_grid([32, 32], (4, 3)) == 32 * 32 * 12
    padded = torch_utils.pad_2d_to_block_shape(t.half(), [32, 32])
    assert padded.shape == (128, 96) and padded.dtype == torch.float32 and padded.sum() == 7000
    with compat.compile_only_driver(compat.parse_target("cuda:90")):
        assert torch_utils.get_active_torch_device() == torch.device("cpu")


@pytest.mark.parametrize("block, level", [(1024, None), (256, "ttgir")])
def test_each_compile_says_where_its_files_are_as_theirs_does(tmp_path, capfd, block, level):
    kwargs = {f"{level}_dir": scale_kernel.save_levels(tmp_path, *ARGS, BLOCK=block)[level].parent} if level else {}
    with compat.compile_only_driver(compat.parse_target("cuda:90")):
        scale_kernel.warmup(*ARGS, BLOCK=block, grid=(8,), **kwargs)
    out = capfd.readouterr().out
    assert "[Triton Runner] Triton kernel saved at " in out
    folder = out.split("saved at ", 1)[1].split()[0]
    assert (__import__("pathlib").Path(folder) / "scale_kernel.cubin").is_file()


def test_configure_autotune_backend_makes_triton_autotune_theirs_until_restored():
    native = triton.autotune
    triton_runner.configure_autotune_backend()
    try:
        assert triton.autotune is triton_runner.autotune

        @triton.autotune(configs=[triton.Config({"BLOCK": 256}), triton.Config({"BLOCK": 512})], key=["n"])
        @triton_runner.jit
        def tuned(x_ptr, out_ptr, n, alpha, BLOCK: tl.constexpr):
            offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * alpha, mask=offs < n)
        assert [c.kwargs["BLOCK"] for c in tuned.configs] == [256, 512] and isinstance(tuned.fn, type(scale_kernel))
    finally:
        triton_runner.restore_autotune_backend()
    assert triton.autotune is native


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

"""Capturing launches from unmodified scripts."""

from __future__ import annotations

import textwrap

import pytest
import torch

from helpers import needs_interpreter
from workbench.runtime.capture.script import run_script


def test_vector_add_capture_records_the_specialization_and_the_launch(captures):
    cap = captures("vector_add")
    assert cap.mode == "compile-only" and cap.target == "cuda:90"
    (spec,) = cap.specs
    assert spec.kernel == "add_kernel" and spec.language == "triton"
    assert spec.signature == {"x_ptr": "*fp32", "y_ptr": "*fp32", "out_ptr": "*fp32", "n_elements": "i32",
                              "BLOCK_SIZE": "constexpr"}
    assert spec.constexprs == {"BLOCK_SIZE": 1024}
    # torch allocations are 16-byte aligned: the pointers are specialized on divisibility
    for arg in ("x_ptr", "y_ptr", "out_ptr"):
        assert ["tt.divisibility", 16] in spec.attrs[arg]
    assert spec.options["num_warps"] == 4 and spec.options["num_stages"] == 3
    assert spec.file.endswith("examples/vector_add.py") and spec.line == 14
    (launch,) = cap.launches
    assert launch.grid == (97, 1, 1)  # cdiv(98432, 1024)
    x = launch.args[0]
    device = "cuda:0" if torch.cuda.is_available() else "cpu"  # the example picks the GPU when there is one
    assert (x.kind, x.dtype, x.shape, x.strides, x.device) == ("tensor", "float32", [98432], [1], device)
    assert launch.args[3].value == 98432


def test_every_autotune_config_is_a_specialization_and_the_chosen_one_is_marked(captures):
    cap = captures("autotuned_add")
    assert [s.constexprs["BLOCK_SIZE"] for s in cap.specs] == [256, 1024, 4096]
    assert [s.options["num_warps"] for s in cap.specs] == [2, 4, 8]
    assert [s.autotune["config_index"] for s in cap.specs] == [0, 1, 2]
    assert [s.chosen for s in cap.specs] == [True, False, False]
    assert all(s.autotune["configs"] == 3 and not s.autotune["timed"] for s in cap.specs)
    assert any("not timed" in n for n in cap.notes)
    user_launches = [lc for lc in cap.launches if not lc.autotune_bench]
    assert [lc.spec_id for lc in user_launches] == [cap.specs[0].spec_id]


def test_several_kernels_and_specializations_are_listed_separately(tmp_path):
    (tmp_path / "two.py").write_text(textwrap.dedent('''\
        import torch, triton, triton.language as tl

        @triton.jit
        def fill(x_ptr, n, value, BLOCK: tl.constexpr):
            offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            tl.store(x_ptr + offs, value, mask=offs < n)

        @triton.jit
        def copy(src, dst, n, BLOCK: tl.constexpr):
            offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            tl.store(dst + offs, tl.load(src + offs, mask=offs < n), mask=offs < n)

        x = torch.empty(1000)
        y = torch.empty(1000)
        fill[(8,)](x, 1000, 1.5, BLOCK=128)
        fill[(8,)](x, 1000, 2.5, BLOCK=128)     # same specialization: one spec, two launches
        fill[(4,)](x, 1000, 1.5, BLOCK=256)     # another constexpr: another spec
        fill[(1,)](x[1:], 1, 1.5, BLOCK=128)    # misaligned pointer, n == 1: another spec
        copy[(8,)](x, y, 1000, BLOCK=128)
        '''))
    cap = run_script(tmp_path / "two.py", mode="compile-only")
    assert cap.error is None
    assert [(s.kernel, s.launches) for s in cap.specs] == [("fill", 2), ("fill", 1), ("fill", 1), ("copy", 1)]
    aligned, _, odd, _ = cap.specs
    assert ["tt.divisibility", 16] in aligned.attrs["x_ptr"]
    assert "x_ptr" not in odd.attrs or ["tt.divisibility", 16] not in odd.attrs["x_ptr"]
    assert odd.signature["n"] == "constexpr" and odd.constexprs["n"] == 1  # ints equal to 1 are specialized
    assert len({s.spec_id for s in cap.specs}) == 4




@needs_interpreter
def test_interpret_mode_runs_the_kernels_so_the_script_sees_real_outputs(captures):
    cap = captures("matmul", mode="interpret")
    assert cap.error is None, cap.error  # the script's own assert_close passed
    assert cap.specs[0].kernel == "matmul_kernel"
    assert cap.launches[0].grid == (4, 1, 1)


def test_gluon_kernels_are_captured_as_gluon(captures):
    (spec,) = captures("gluon_vector_add").specs
    assert spec.language == "gluon" and spec.kernel == "gluon_add_kernel"
    assert "BlockedLayout" in str(spec.constexprs["layout"])


def test_tensor_descriptor_arguments_are_described(captures):
    cap = captures("matmul_tma")
    (spec,) = cap.specs
    assert spec.signature["a_desc"] == "tensordesc<fp16[128, 64]>"
    desc = cap.launches[0].args[0]
    assert desc.kind == "tensordesc" and desc.block_shape == [128, 64] and desc.shape == [256, 256]


def test_a_script_error_after_the_launches_keeps_them(captures):
    cap = captures("vector_add")
    # without a GPU nothing ran, so the script's own check of the output fails afterwards
    assert cap.error is not None and cap.error.severity == "warning"
    assert "after its launches" in cap.error.message and cap.error.line is not None
    assert cap.specs


def test_capture_leaves_triton_as_it_found_it(tmp_path):
    from triton.runtime.autotuner import Autotuner
    from triton.runtime.jit import JITFunction
    before = (JITFunction.run, JITFunction._do_compile, Autotuner.run, Autotuner._bench)
    (tmp_path / "boom.py").write_text("raise RuntimeError('boom')\n")
    cap = run_script(tmp_path / "boom.py", mode="compile-only")
    assert cap.error.message.startswith("the script raised RuntimeError before launching any kernel")
    assert (JITFunction.run, JITFunction._do_compile, Autotuner.run, Autotuner._bench) == before
    if not torch.cuda.is_available():  # the stand-in driver is gone again
        from triton.runtime.driver import driver
        with pytest.raises(RuntimeError, match="active drivers"):
            driver.active.get_current_target()


def test_launches_from_a_thread_an_autograd_function_and_under_heuristics_are_each_kept_and_verify(tmp_path):
    """The heuristic picks EVEN per launch: two specializations; the autograd forward's launch and
    the thread's share one and are both kept (3 launches); every replay verifies (on the GPU, or in
    the interpreter)."""
    import shutil

    from helpers import TESTS, _interpreter_works, has_cuda
    from workbench.session.session import Session
    if not has_cuda() and not _interpreter_works():
        pytest.skip("no GPU, and Triton 3.6's interpreter breaks on numpy >= 2.4 (triton-lang/triton#9171)")
    shutil.copy(TESTS / "data" / "launch_sites.py", tmp_path / "launch_sites.py")
    session = Session(tmp_path / "launch_sites.py", mode="gpu" if has_cuda() else "interpret",
                      workspace=tmp_path / "ws", with_sass=False)
    session.open()
    assert session.capture.error is None, session.capture.error
    specs = {s.spec.constexprs["EVEN"]: s for s in session.kernels.values()}
    assert set(specs) == {True, False}
    assert specs[True].spec.constexprs["OUT"] != specs[False].spec.constexprs["OUT"]   # float16, float32
    assert specs[True].spec.signature["offset"] == "i64" and specs[True].spec.signature["flag"] == "u1"
    grids = sorted(launch.grid for launch in session.capture.launches)
    assert grids == [(2, 1, 1), (4, 1, 1), (4, 1, 1)]   # the thread's, then cdiv(256, 64) and cdiv(250, 64)
    for spec_id, state in session.kernels.items():
        result = session.run(spec_id)
        assert result.status == "ok", [o.sentence for o in result.outputs]
    session.close()

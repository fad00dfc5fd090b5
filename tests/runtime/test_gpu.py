"""On a GPU: capture runs each example normally, and compile targets the card by default."""

from __future__ import annotations

import pytest

from helpers import EXAMPLES, run_cli

pytestmark = pytest.mark.gpu

ALL = ["vector_add", "softmax", "matmul", "matmul_tma", "layernorm", "flash_attention", "gluon_vector_add",
       "autotuned_add"]


@pytest.mark.parametrize("example", ALL)
def test_capture_runs_each_example_normally_on_the_gpu(example):
    import torch
    from workbench.compiler import compat
    from workbench.runtime.capture.script import run_script

    cap = run_script(EXAMPLES / f"{example}.py")
    card = torch.cuda.get_device_capability()
    assert cap.mode == "gpu" and cap.target == f"cuda:{card[0] * 10 + card[1]}"
    assert cap.error is None, cap.error  # the script's own check of its outputs passed
    assert cap.specs and all(s.launches >= 1 for s in cap.specs)
    assert all(lc.args[0].device.startswith("cuda") for lc in cap.launches if lc.args[0].kind == "tensor")
    # the specialization we recorded compiles to a kernel with the launch metadata Triton used
    spec = next(s for s in cap.specs if not s.autotune or s.chosen)
    from workbench.compiler.stages import Compiler
    result = Compiler(cap.target).compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                                 spec.options, with_sass=False)
    launched = list(spec.fn.device_caches[0][0].values()) if compat.VERSION >= (3, 5) else []
    for kernel in launched:
        meta = kernel.metadata
        if meta.name == result.name and meta.num_warps == result.num_warps and meta.shared == result.shared:
            break
    else:
        assert not launched, [(k.metadata.name, k.metadata.num_warps, k.metadata.shared) for k in launched]


def test_autotune_on_the_gpu_marks_the_config_the_autotuner_chose():
    from workbench.runtime.capture.script import run_script
    cap = run_script(EXAMPLES / "autotuned_add.py")
    assert len(cap.specs) == 3 and all(s.autotune["timed"] for s in cap.specs)
    chosen = [s for s in cap.specs if s.chosen]
    assert len(chosen) == 1
    assert not any("not timed" in n for n in cap.notes)


def test_compile_targets_the_card_by_default(tmp_path):
    import torch
    major, minor = torch.cuda.get_device_capability()
    proc = run_cli("compile", str(EXAMPLES / "matmul.py"), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"target cuda:{major * 10 + minor}"
    assert "no GPU" not in proc.stderr
    assert next(tmp_path.glob("matmul_kernel-*/matmul_kernel.sass")).stat().st_size > 0

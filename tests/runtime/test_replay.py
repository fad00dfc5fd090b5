"""Replaying a captured launch from any level: refused when the arguments specialize
differently, verified against the original kernel's outputs on the GPU."""

from __future__ import annotations

import pytest
import torch

from helpers import EXAMPLES
from workbench.runtime.capture.script import DEFAULT_SNAPSHOT_LIMIT, run_script
from workbench.model.diagnostics import WorkbenchError
from workbench.runtime.launch import check_specialization
from workbench.compiler.stages import Compiler
from workbench.runtime.verify import check


def test_arguments_that_specialize_differently_are_refused(captures):
    spec = captures("vector_add").specs[0]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = torch.rand(1025, device=device)
    good = (x[:1024], x[:1024], x[:1024], 1024)
    check_specialization(spec, good, {"BLOCK_SIZE": 1024}, (1,))
    with pytest.raises(WorkbenchError, match=r"attributes of x_ptr: compiled for \[\['tt.divisibility', 16\]\]"):
        check_specialization(spec, (x[1:], x[:1024], x[:1024], 1024), {"BLOCK_SIZE": 1024}, (1,))
    with pytest.raises(WorkbenchError, match="constexprs of BLOCK_SIZE: compiled for 1024, arguments give 512"):
        check_specialization(spec, good, {"BLOCK_SIZE": 512}, (1,))


def test_verify_counts_mismatches_nans_and_the_first_bad_index():
    expected = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    got = expected.clone()
    got[1, 2] += 0.5
    got[2, 3] = float("nan")
    result = check("out", expected, got)
    assert not result.ok and result.mismatches == 2 and result.first_mismatch == [1, 2]
    assert result.nan == 1 and result.max_abs == 0.5
    assert check("out", expected, expected.clone()).ok


LEVELS = ["python", "ttir", "ttgir", "llir", "ptx", "cubin"]


@pytest.mark.gpu
@pytest.mark.parametrize("example", ["vector_add", "softmax", "matmul", "matmul_tma", "layernorm", "flash_attention",
                                     "gluon_vector_add"])
def test_every_level_replays_and_matches_the_original(example, tmp_path):
    from workbench.runtime.launch import replay
    cap = run_script(EXAMPLES / f"{example}.py", snapshot_limit=DEFAULT_SNAPSHOT_LIMIT)
    compiler = Compiler(cap.target)
    for spec in cap.specs:
        snap = cap.snapshots[spec.spec_id]
        # (an output whose memory already held the answer, reused from an earlier example, looks unwritten:
        # every tensor argument is compared, not only those the launch changed)
        full = compiler.compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs, spec.options,
                                       with_sass=False)
        paths = full.write(tmp_path / spec.spec_id, spec.kernel)
        for level in LEVELS:
            if level != "python" and level not in paths:
                continue  # Gluon has no TTIR
            result = full if level == "python" else Compiler(cap.target).compile_file(
                paths[level], full.metadata_json(), with_sass=False)
            outputs = replay(result, spec, snap)
            for name in snap.after:
                verdict = check(name, snap.after[name], outputs[name])
                assert verdict.ok, (example, level, verdict)


@pytest.mark.gpu
def test_an_edit_in_ttgir_shows_in_the_outputs(tmp_path):
    from workbench.runtime.launch import replay
    cap = run_script(EXAMPLES / "vector_add.py", snapshot_limit=DEFAULT_SNAPSHOT_LIMIT)
    spec = cap.specs[0]
    snap = cap.snapshots[spec.spec_id]
    full = Compiler(cap.target).compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                               spec.options, with_sass=False)
    edited = Compiler(cap.target).compile_level("ttgir", full.levels["ttgir"].replace("arith.addf", "arith.subf"),
                                                full.metadata_json())
    out = replay(edited, spec, snap)["out_ptr"]
    x, y = snap.before["x_ptr"], snap.before["y_ptr"]
    torch.testing.assert_close(out, x - y)
    assert not check("out_ptr", snap.after["out_ptr"], out).ok

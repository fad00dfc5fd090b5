"""Arguments that share storage are replayed sharing it: the same tensor passed twice, overlapping
slices, interleaved and transposed views, in-place updates and views at unaligned offsets. An
unedited original must verify against itself for every one of them, on the CPU (the interpreter)
and on the GPU, and an edit that breaks the in-place result must still be caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from helpers import TESTS, EXAMPLES
from workbench.session.session import Session

DATA = TESTS / "data" / "aliasing"
SCRIPTS = ["same_tensor_twice", "overlapping_slices", "strided_views", "inplace_out", "library_patterns"]
GPU = torch.cuda.is_available()


def _open(tmp_path, name: str, source: Path = DATA) -> Session:
    for f in source.glob("*.py"):
        shutil.copy(f, tmp_path / f.name)
    session = Session(tmp_path / f"{name}.py", mode="auto", workspace=tmp_path / "ws", with_sass=False)
    opened = session.open()
    assert all("error" not in k for k in opened["kernels"]), opened["kernels"]
    return session


@pytest.mark.parametrize("name", SCRIPTS)
def test_an_unedited_original_verifies_against_itself(name, tmp_path):
    session = _open(tmp_path, name)
    replayed = 0
    for spec_id, state in session.kernels.items():
        result = session.run(spec_id)
        assert result.status == "ok", [o.sentence for o in result.outputs]
        assert result.outputs, "nothing was checked"
        replayed += 1
    assert replayed == {"library_patterns": 4, "inplace_out": 2}.get(name, 1)  # every autotune config replays


def test_arguments_sharing_storage_are_recorded_and_rebuilt_as_views(tmp_path):
    session = _open(tmp_path, "same_tensor_twice")
    (state,) = session.kernels.values()
    snap = state.snapshot
    assert snap.shared == [["dy_ptr", "dx_ptr"]]
    args, kwargs, copies = snap.fresh_args()
    assert copies["dy_ptr"].data_ptr() == copies["dx_ptr"].data_ptr()
    # one check per distinct view, named after every argument that is it
    assert [o.name for o in session.run(next(iter(session.kernels))).outputs] == ["dy_ptr=dx_ptr", "x_ptr"]


def test_views_keep_their_strides_offsets_and_alignment(tmp_path):
    session = _open(tmp_path, "strided_views")
    (state,) = session.kernels.values()
    args, kwargs, copies = state.snapshot.fresh_args()
    x, y, t, out = (copies[n] for n in ("x_ptr", "y_ptr", "t_ptr", "out_ptr"))
    assert x.stride() == (2,) and y.stride() == (2,) and y.data_ptr() == x.data_ptr() + 4
    assert t.shape == (16, 32) and t.stride() == (1, 16)
    assert out.data_ptr() % 16 == 0  # out = empty(512)[4:]: 16 bytes in, still 16-byte aligned
    (tmp_path / "inplace").mkdir()
    inplace = _open(tmp_path / "inplace", "inplace_out")
    for state in inplace.kernels.values():
        _, _, copies = state.snapshot.fresh_args()
        before = state.snapshot.before["x_ptr"]
        # the unaligned view (4 bytes into its buffer) stays unaligned the same way
        assert copies["x_ptr"].data_ptr() % 16 == before.data_ptr() % 16


def test_a_wrong_in_place_edit_is_still_caught(tmp_path):
    session = _open(tmp_path, "same_tensor_twice")
    spec_id = next(iter(session.kernels))
    edit = Path(session.workspace.edit(session.kernels[spec_id].spec.folder_name)) / "bwd_kernel.py"
    text = edit.read_text()
    assert "dy * 2.0 + x" in text
    edit.write_text(text.replace("dy * 2.0 + x", "dy * 2.0 - x"))
    _, version = session.compile(spec_id, edit)
    result = session.run(spec_id, version.label)
    assert result.status == "mismatch"
    assert [o.name for o in result.outputs if not o.ok] == ["dy_ptr=dx_ptr"]


def test_an_output_that_already_held_its_answer_is_still_checked_for_every_element(tmp_path):
    """The launch left the output's bytes as they were (they held the answer already), yet the
    kernel writes it: an edit that stops writing part of it must not verify on the old bytes."""
    session = _open(tmp_path, "out_holds_the_answer")
    spec_id = next(iter(session.kernels))
    state = session.kernels[spec_id]
    assert state.snapshot.written == [] and state.pure_outputs == ["out_ptr"]
    edit = Path(session.workspace.edit(state.spec.folder_name)) / "add_kernel.py"
    edit.write_text(edit.read_text().replace("mask = offsets < n_elements", "mask = offsets < n_elements - 1000"))
    _, version = session.compile(spec_id, edit)
    result = session.run(spec_id, version.label)
    assert result.status == "mismatch"
    assert [o.name for o in result.outputs if not o.ok] == ["out_ptr"]
    session.close()


def test_a_later_launch_that_writes_part_of_a_reused_buffer_verifies_and_an_edit_is_still_caught(tmp_path):
    """The first launch writes all of out and is poisoned there; the second writes half of it: the
    half it leaves is the script's, never poison, so the unedited original verifies both launches.
    An edit that stops writing the prefix's last block fails on both launches."""
    session = _open(tmp_path, "prefix_of_a_reused_buffer")
    spec_id = next(iter(session.kernels))
    state = session.kernels[spec_id]
    assert len(state.more) == 1 and state.pure_outputs == ["out_ptr"]
    result = session.run(spec_id)
    assert result.status == "ok", result.message
    assert [lc["ok"] for lc in result.launches] == [True, True] and "2 launches verified" in result.message
    edit = Path(session.workspace.edit(state.spec.folder_name)) / "double_prefix.py"
    edit.write_text(edit.read_text().replace("mask = offs < n", "mask = offs < n - 256"))
    _, version = session.compile(spec_id, edit)
    result = session.run(spec_id, version.label)
    assert result.status == "mismatch"
    assert [lc["ok"] for lc in result.launches] == [False, False]
    # (the first launch's out is poisoned: its last block is never written; the second's is not, as
    # the original leaves half of it, so there the block holds the first launch's values instead)
    assert "256 never written" in [o.sentence for o in result.outputs if not o.ok][0]
    session.close()


@pytest.mark.parametrize("example", ["vector_add", "softmax", "layernorm", "autotuned_add"])
def test_every_example_verifies_against_itself(example, tmp_path):
    if not GPU and example in ("layernorm",):
        pytest.skip("layernorm runs for minutes in the interpreter")
    shutil.copy(EXAMPLES / f"{example}.py", tmp_path / f"{example}.py")
    session = Session(tmp_path / f"{example}.py", workspace=tmp_path / "ws", with_sass=False)
    session.open()
    for spec_id, state in session.kernels.items():
        result = session.run(spec_id)
        if state.snapshot is None:
            continue
        assert result.status == "ok", [o.sentence for o in result.outputs]

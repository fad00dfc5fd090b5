"""Capture at the launch (issue 25): every launch of a compiled kernel is seen, however it was
reached (a tuner that overrides ``Autotuner.run``, a launch cache that relaunches the compiled
kernel, Triton's in-memory cache), and without a GPU the capture behaves as Triton would on the
target card (hooks run around trial launches, ``static_assert`` configs are skipped, device
queries are answered for the target). Scripts of our own with the patterns real libraries have."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import TESTS, needs_interpreter, run_cli
from workbench.runtime.capture.script import run_script

DATA = TESTS / "data" / "launch"


def _copy(tmp_path: Path, name: str) -> Path:
    shutil.copy(DATA / name, tmp_path / name)
    return tmp_path / name


@needs_interpreter
def test_a_tuner_of_its_own_under_a_launch_cache_is_captured_and_every_config_verifies(tmp_path):
    from workbench.session.session import Session
    session = Session(_copy(tmp_path, "own_tuner.py"), workspace=tmp_path / "ws", with_sass=False)
    session.open()
    cap = session.capture
    assert cap.error is None, cap.error
    (tuning,) = cap.tunings
    assert sorted(tuning.configs) == [0, 1, 2] and tuning.chosen is not None
    chosen = [s for s in cap.specs if s.chosen]
    assert len(chosen) == 1 and chosen[0].autotune["config_index"] == tuning.chosen
    # the second call went through the launch cache, straight to the kernel: seen all the same
    user = [lc for lc in cap.launches if lc.spec_id == chosen[0].spec_id and not lc.autotune_bench]
    assert [lc.args[3].value for lc in user] == [2.0, 3.0]
    statuses = {s.autotune["config_index"]: session.run(sid).status for sid, s in
                ((sid, st.spec) for sid, st in session.kernels.items())}
    assert statuses == {0: "ok", 1: "ok", 2: "ok"}


def test_a_launch_cache_gets_a_kernel_it_can_launch_again_without_a_gpu(tmp_path):
    cap = run_script(_copy(tmp_path, "own_tuner.py"), ["--no-check"], mode="compile-only")
    assert cap.error is None, cap.error
    (chosen,) = [s for s in cap.specs if s.chosen]
    assert len([lc for lc in cap.launches if lc.spec_id == chosen.spec_id and not lc.autotune_bench]) == 2
    assert len(cap.launches) == 5   # 3 trials, 2 calls


def test_static_assert_configs_are_skipped_and_device_queries_answer_for_the_target(tmp_path):
    script = _copy(tmp_path, "static_assert_prune.py")
    cap = run_script(script, mode="compile-only", target="cuda:90")
    assert cap.error is None, cap.error
    assert sorted(s.constexprs["BLOCK"] for s in cap.specs) == [128, 256]
    assert any("static_assert" in n and "BLOCK': 32" in n for n in cap.notes), cap.notes
    assert any("device properties" in n and "cuda:90" in n for n in cap.notes), cap.notes
    cap80 = run_script(script, mode="compile-only", target="cuda:80")
    assert cap80.error is None
    proc = run_cli("compile", str(script), "--no-sass", "--json")
    assert proc.returncode == 0, proc.stderr


@needs_interpreter
def test_static_assert_configs_are_skipped_in_the_interpreter_too(tmp_path):
    cap = run_script(_copy(tmp_path, "static_assert_prune.py"), mode="interpret")
    assert cap.error is None, cap.error
    assert sorted(s.constexprs["BLOCK"] for s in cap.specs) == [128, 256]


@needs_interpreter
def test_hooks_run_around_every_trial_and_every_launch_is_kept(tmp_path, capsys):
    cap = run_script(_copy(tmp_path, "hooks_and_repeats.py"), mode="interpret")
    assert cap.error is None, cap.error
    out = capsys.readouterr().err
    assert "calls {'config_pre': 9, 'post': 8}" in out   # 8 trials + the chosen launch's pre_hook
    double = [s for s in cap.specs if s.kernel == "double"]
    assert len(double) == 5   # 8 configs, 3 of them alike
    assert len([lc for lc in cap.launches if lc.autotune_bench]) == 8
    (negate,) = [s for s in cap.specs if s.kernel == "negate"]
    assert negate.launches == 3
    assert [lc.grid for lc in cap.launches if lc.spec_id == negate.spec_id] == [(4, 1, 1), (8, 1, 1), (8, 1, 1)]


def test_hooks_run_around_every_trial_without_a_gpu(tmp_path, capsys):
    cap = run_script(_copy(tmp_path, "hooks_and_repeats.py"), mode="compile-only")
    assert "calls {'config_pre': 9, 'post': 8}" in capsys.readouterr().err
    assert len([lc for lc in cap.launches if lc.autotune_bench]) == 8
    (negate,) = [s for s in cap.specs if s.kernel == "negate"]
    assert negate.launches == 3


@needs_interpreter
def test_every_launch_of_a_specialization_is_kept_and_verified(tmp_path):
    import json
    script = _copy(tmp_path, "repeats.py")
    proc = run_cli("run", str(script), "--json", "--kernel", "saxpy", "--from", str(DATA / "repeats_edit.py"),
                   env={"WORKBENCH_NO_GPU": "1"})
    assert proc.returncode == 1, proc.stderr
    original, edit = json.loads(proc.stdout)["runs"]
    assert original["status"] == "ok"
    assert [(lc["launch"], lc["grid"], lc["ok"]) for lc in original["launches"]] == \
        [(1, [1, 1, 1], True), (2, [4, 1, 1], True), (3, [8, 1, 1], True)]
    assert "3 launches verified" in original["message"]
    # the edit is right for the first launch only: the verdict is the later launches'
    assert edit["status"] == "mismatch"
    assert [lc["ok"] for lc in edit["launches"]] == [True, False, False]
    assert "launch 2 of 3" in edit["message"] and "out_ptr" in edit["message"]


@needs_interpreter
def test_kernels_of_triton_runners_own_jit_are_captured_and_verified(tmp_path):
    pytest.importorskip("triton_runner")
    import json
    proc = run_cli("run", str(_copy(tmp_path, "runner_jit.py")), "--json", env={"WORKBENCH_NO_GPU": "1"})
    assert proc.returncode == 0, proc.stderr
    (run,) = json.loads(proc.stdout)["runs"]
    assert run["kernel"] == "add" and run["status"] == "ok"
    assert [(lc["grid"], lc["ok"]) for lc in run["launches"]] == [([2, 1, 1], True), ([8, 1, 1], True)]


@pytest.mark.parametrize("code", ["0", "7"])
def test_a_script_that_calls_os_exit_never_decides_the_clis_status(tmp_path, code):
    """Issue 26.4: the script ran inside the CLI's process, so os._exit(0) ended `compile` with
    nothing compiled and no output, and os._exit(7) gave rc 7 and no message."""
    script = _copy(tmp_path, "os_exit.py")
    proc = run_cli("compile", str(script), "--no-sass", "--out", str(tmp_path / "out"), "--", code)
    assert proc.returncode == 0, proc.stderr   # (as after sys.exit(0) or sys.exit(7): the kernels compiled)
    assert "fill" in proc.stdout and (tmp_path / "out").is_dir()
    (line,) = [ln for ln in proc.stderr.splitlines() if "os._exit" in ln]
    assert line.startswith(f"{script}:19: ") and f"os._exit({code}) after its launches" in line


@needs_interpreter
def test_a_kernel_that_sums_with_float_atomics_is_verified_with_reorder_tolerances(tmp_path):
    """The order of float atomic additions changes from run to run on a GPU: the original would
    not verify against itself bit for bit (seen with GemLite's split-K GEMV on the H200)."""
    from workbench.session.session import Session
    import torch
    from workbench.runtime.verify import ATOMIC_ULPS, REORDER_TOLERANCES, TOLERANCES
    session = Session(_copy(tmp_path, "float_atomics.py"), workspace=tmp_path / "ws", with_sass=False)
    session.open()
    (sid, state), = session.kernels.items()
    assert state.float_atomics
    res = session.run(sid)
    (out,) = [o for o in res.outputs if o.name == "out_ptr"]
    total = float(state.snapshot.after["out_ptr"].abs().max())
    assert res.status == "ok" and out.rtol == REORDER_TOLERANCES["float32"][1] != TOLERANCES["float32"][1]
    assert out.atol == pytest.approx(ATOMIC_ULPS * torch.finfo(torch.float32).eps * total) and total > 1000
    assert "float atomics" in res.message


def test_float16_split_k_sums_in_any_order_pass_the_atomic_tolerance_and_a_wrong_element_does_not():
    """GemLite's split-K GEMV on an H100: float16 partial sums added atomically in another order
    were 0.0098 off where the outputs reached 8, so the reordering tolerances (atol 1e-3) failed
    the original against itself. Summed here in float16, split 8 ways, in two orders."""
    import torch
    from workbench.runtime.verify import atomic_tolerance, check
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1024, generator=g)
    w = (torch.randint(0, 16, (512, 1024), generator=g).float() - 8) * 0.01
    parts = [(w[:, k:k + 128] @ x[k:k + 128]).half() for k in range(0, 1024, 128)]

    def atomically(order):
        out = torch.zeros(512, dtype=torch.float16)
        for i in order:
            out = (out.float() + parts[i].float()).half()   # each atomic add rounds to float16
        return out
    one, other = atomically(range(8)), atomically([7, 3, 5, 1, 0, 6, 2, 4])
    assert not torch.equal(one, other)   # (the orders differ in their last bits)
    atol, rtol = atomic_tolerance(one)
    assert check("c", one, other, atol, rtol).ok
    wrong = other.clone()
    wrong[100] += 0.25
    bad = check("c", one, wrong, atol, rtol)
    assert not bad.ok and bad.first_mismatch == [100]


def test_a_library_that_runs_torchs_operators_as_kernels_of_its_own_is_seen_as_the_script_launched_it(tmp_path):
    """FlagGems' `use_gems()` on an H100: a snapshot copied the launch's tensors with torch's
    `copy_`, which FlagGems ran as a copy kernel of its own, under the lock its launch cache held
    for that same kernel's first launch: the script hung until the 300 s limit. And a copy made
    by an autotuner's restore_value hook, a library's kernel there, was taken for a config trial.
    Here both `clone` and `==` are a library's Triton kernels, each under a lock that is not
    reentrant (on a GPU for real; without one, in the interpreter)."""
    from workbench.session.session import Session
    session = Session(_copy(tmp_path, "overrides_torch.py"), workspace=tmp_path / "ws", with_sass=False)
    session.open()
    cap = session.capture
    assert cap.error is None, cap.error
    # the library's copy kernel as the script launched it (its own clone, and the restore_value
    # hook's clone in each of shift's trials: launches of copy_kernel, not trials of shift), never
    # the capture's own copies and compares (eq_kernel)
    specs = {s.kernel: s for s in cap.specs if s.kernel != "shift"}
    assert sorted(specs) == ["copy_kernel", "scale"] and specs["copy_kernel"].autotune is None
    assert len(cap.launches_of(specs["scale"].spec_id)) == 1
    (tuning,) = cap.tunings
    shift_specs = {s.spec_id for s in cap.specs if s.kernel == "shift"}
    assert {spec_id for _, spec_id in tuning.configs.values()} == shift_specs and len(shift_specs) == 2
    results = {(s.kernel, s.spec_id): session.run(s.spec_id).status for s in cap.specs}
    assert set(results.values()) == {"ok"}, results


@needs_interpreter
def test_what_a_benchmark_launches_besides_its_trial_takes_none_of_the_snapshot_limit(tmp_path):
    """FlagGems on an H200 from a cold cache: do_bench's L2 flush (a 256 MiB `zero_()`, FlagGems'
    zeros kernel there) was kept as a launch of the script's, twice per tuning, until the 1 GiB
    snapshot limit was full before the script's own first launch: all 208 kernels "compiled only".
    Here a config pre_hook launches a 1 MiB flush in each trial; the limit (7 MiB) holds the
    tuned call's 2 MiB in and out and the chosen config's own flush, not every trial's flush too."""
    from workbench.session.session import Session
    session = Session(_copy(tmp_path, "bench_flush.py"), workspace=tmp_path / "ws", with_sass=False,
                      snapshot_limit=7 << 20)
    session.open()
    cap = session.capture
    assert cap.error is None, cap.error
    chosen = next(s for s in cap.specs if s.kernel == "scale" and s.autotune and s.autotune["chosen"])
    assert chosen.spec_id in cap.snapshots
    assert session.run(chosen.spec_id).status == "ok"
    session.close()


class _StridedBuffer:
    """As FlagGems' StridedBuffer: a pointer Triton launches from (dtype, data_ptr), over a
    tensor's storage at an offset, with strides of its own; no torch.Tensor (no detach)."""

    def __init__(self, base, offset, dtype):
        self._base, self.dtype = base, dtype
        self._ptr = base.data_ptr() + offset * dtype.itemsize

    def data_ptr(self):
        return self._ptr

    def untyped_storage(self):
        return self._base.untyped_storage()


def test_a_library_pointer_that_is_no_tensor_is_kept_and_replays_as_a_pointer_into_the_copy():
    """FlagGems launches its pointwise kernels on StridedBuffers: the capture called .detach() on
    one and stopped the script (seen on an H100: AttributeError in the middle of torch.sort)."""
    import ctypes

    import torch
    import triton

    from workbench.runtime.capture.snapshot import Snapshot, TensorSlot, TypedPointer, slot_wrapper, storage_layout, tensor_args

    @triton.jit
    def k(x_ptr, n):
        pass

    base = torch.arange(64, dtype=torch.float32)
    buf = _StridedBuffer(base, 8, torch.float32)
    tensors = tensor_args(k, (buf, 4), {})
    assert tensors["x_ptr"].data_ptr() == buf.data_ptr() and tensors["x_ptr"].numel() == 56
    regions, views = storage_layout(tensors)
    snapshot = Snapshot("s", (TensorSlot("x_ptr", slot_wrapper(buf)), 4), {}, (1, 1, 1), regions, views)
    base += 100   # (what the launch then does to the script's buffer is not in the copy)
    args, _, copies = snapshot.fresh_args()
    ptr = args[0]
    assert isinstance(ptr, TypedPointer) and ptr.dtype == torch.float32 and args[1] == 4
    assert ptr.data_ptr() != buf.data_ptr() and ptr.data_ptr() % 16 == buf.data_ptr() % 16
    assert list((ctypes.c_float * 4).from_address(ptr.data_ptr())) == [8.0, 9.0, 10.0, 11.0]


@pytest.mark.gpu
def test_a_kernel_launched_on_library_pointers_replays_and_verifies(tmp_path):
    import json
    proc = run_cli("run", str(_copy(tmp_path, "library_pointer.py")), "--json", "--workspace", str(tmp_path / "ws"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = json.loads(proc.stdout)["runs"]
    assert run["kernel"] == "add_one" and run["status"] == "ok", run
    (y,) = [o for o in run["outputs"] if o["name"] == "y_ptr"]
    assert y["ok"] and y["dtype"] == "float32" and y["shape"] == [1536]   # (from the pointer to the storage's end)


def test_the_kernel_a_launch_returns_without_a_gpu_has_every_level_compiled_for_the_target(tmp_path, capsys):
    """``compiled = kernel[grid](...)``, then ``compiled.asm["ptx"]``: without a GPU the launch
    returns a stand-in; what it compiled is still there to read, for the capture's target."""
    cap = run_script(_copy(tmp_path, "reads_asm.py"), mode="compile-only", target="cuda:90")
    assert cap.error is None, cap.error
    out = capsys.readouterr().err   # (the script's stdout goes to stderr: stdout is the capture's)
    assert 'ttgir target:  = "cuda:90"' in out, out
    assert "ptx target: .target sm_90a" in out
    assert "cubin bytes: b'\\x7fELF'" in out
    assert "levels: ['cubin', 'llir', 'ptx', 'ttgir', 'ttir']" in out
    assert "warps: 4 name: add" in out

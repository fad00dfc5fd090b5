"""Capture at the launch (issue 25): every launch of a compiled kernel is seen, however it was
reached (a tuner that overrides ``Autotuner.run``, a launch cache that relaunches the compiled
kernel, Triton's in-memory cache), and without a GPU the capture behaves as Triton would on the
target card (hooks run around trial launches, ``static_assert`` configs are skipped, device
queries are answered for the target). Scripts of our own with the patterns real libraries have."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import needs_interpreter, run_cli
from workbench.core.capture import run_script

DATA = Path(__file__).resolve().parent / "data" / "launch"


def _copy(tmp_path: Path, name: str) -> Path:
    shutil.copy(DATA / name, tmp_path / name)
    return tmp_path / name


@needs_interpreter
def test_a_tuner_of_its_own_under_a_launch_cache_is_captured_and_every_config_verifies(tmp_path):
    from workbench.core.session import Session
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
    from workbench.core.session import Session
    from workbench.core.verify import REORDER_TOLERANCES, TOLERANCES
    session = Session(_copy(tmp_path, "float_atomics.py"), workspace=tmp_path / "ws", with_sass=False)
    session.open()
    (sid, state), = session.kernels.items()
    assert state.float_atomics
    res = session.run(sid)
    (out,) = [o for o in res.outputs if o.name == "out_ptr"]
    assert res.status == "ok" and (out.atol, out.rtol) == REORDER_TOLERANCES["float32"] != TOLERANCES["float32"]
    assert "float atomics" in res.message

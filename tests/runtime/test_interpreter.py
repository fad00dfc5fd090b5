"""Without a GPU, through Triton's interpreter: launches as Triton's launcher takes them (a 0-d
tensor, a 4-element grid, a bool argument), and a verdict that says where the interpreter's
numbers are not the GPU's (issue 25, points 4, 5 and 9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import torch

from helpers import ROOT, needs_interpreter, run_cli
from workbench.runtime.verify import check, poison

DATA = ROOT / "tests" / "data" / "interpreter"
NO_GPU = {"WORKBENCH_NO_GPU": "1"}  # the interpreter, on the GPU machine too


def _run_json(*args: str, status: int = 0) -> dict:
    proc = run_cli("run", "--json", *args, env=NO_GPU)
    assert proc.returncode == status, proc.stderr
    return json.loads(proc.stdout)


# -- point 4: a 0-d tensor argument ----------------------------------------------------------

def test_a_0d_tensor_is_poisoned_and_checked():
    counter = torch.zeros((), dtype=torch.int32)
    assert poison(counter) and int(counter) == int.from_bytes(b"\xa5" * 4, "little", signed=True)
    verdict = check("counter", torch.tensor(149, dtype=torch.int32), torch.tensor(150, dtype=torch.int32))
    assert (verdict.ok, verdict.mismatches, verdict.first_mismatch, verdict.max_abs) == (False, 1, [], 1.0)
    assert check("counter", torch.tensor(2.5), torch.tensor(2.5)).ok


@needs_interpreter
def test_an_atomic_counter_in_a_0d_tensor_runs_and_verifies(tmp_path):
    data = _run_json(str(DATA / "counter.py"), "--kernel", "count_positive", "--from", str(DATA / "counter_edit.py"),
                     status=1)
    original, edit = data["runs"]
    assert original["status"] == "ok" and data["script_error"] is None
    (out,) = [o for o in original["outputs"] if o["name"] == "counter_ptr"]
    assert out["shape"] == [] and out["dtype"] == "int32" and out["ok"]
    # the edit counts 0 as positive: 150 where the original counted 149
    (out,) = [o for o in edit["outputs"] if o["name"] == "counter_ptr"]
    assert edit["status"] == "mismatch" and (out["mismatches"], out["max_abs"]) == (1, 1.0)


# -- point 5: a 4-element grid ---------------------------------------------------------------

@needs_interpreter
def test_a_4_element_grid_is_trimmed_as_the_launcher_trims_it(tmp_path):
    proc = run_cli("compile", str(DATA / "grid4.py"), "--interpret", "--json", "--no-sass", "--out",
                   str(tmp_path / "out"), env=NO_GPU)
    assert proc.returncode == 0, proc.stderr
    compiled = json.loads(proc.stdout)
    assert compiled.get("script_error") is None
    assert [lc["grid"] for k in compiled["kernels"] for lc in k["launches"]] == [[4, 2, 1]]
    data = _run_json(str(DATA / "grid4.py"))
    assert [r["status"] for r in data["runs"]] == ["ok"] and data["script_error"] is None
    assert {o["name"]: o["ok"] for o in data["runs"][0]["outputs"]} == {"x_ptr": True, "y_ptr": True}


@needs_interpreter
def test_a_4_element_grid_replays_with_three(tmp_path):
    from workbench.runtime import launch
    from workbench.session.session import Session
    session = Session(DATA / "grid4.py", mode="interpret", workspace=tmp_path / "ws", with_sass=False)
    session.open()
    (state,) = session.kernels.values()
    assert len(state.snapshot.grid) == 4   # as the script gave it
    assert launch.prepare(state.spec, state.snapshot, check=False).grid == (4, 2, 1)
    assert session.run(state.spec.spec_id).status == "ok"


# -- point 9: a bool argument, and what the interpreter computes wrong -----------------------

@needs_interpreter
def test_a_bool_runtime_argument_runs_in_the_interpreter():
    data = _run_json(str(DATA / "bool_arg.py"))
    assert data["script_error"] is None
    # (a bool is not specialized on its value: negate=True and negate=False are one specialization)
    assert [r["status"] for r in data["runs"]] == ["ok"]


@needs_interpreter
def test_the_known_interpreter_faults_happen_on_this_triton():
    """Each fault the verdict names, seen against torch on the CPU (when one stops happening,
    Triton fixed it: its entry in compat_interpreter.INTERPRETER_FAULTS goes)."""
    proc = subprocess.run([sys.executable, str(DATA / "inexact.py")], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TRITON_INTERPRET="1"))
    assert proc.returncode == 0, proc.stderr
    err = json.loads(proc.stdout.splitlines()[-1])
    assert err["bf16_dot"] > 1e6                         # raw bit patterns multiplied
    assert not err["bf16_add"] <= 1.0                    # (NaN: bit patterns added)
    assert err["to_bf16"] == 2**-7                       # truncated, not rounded
    assert err["to_fp8"] == 1.0                          # 1.9375 -> 1.0, not 2.0
    assert not err["int_to_bf16"] <= 1.0                 # -4 read as a bit pattern: NaN
    assert err["exact_ops"] < 1e-5


@needs_interpreter
def test_the_verdict_says_where_the_interpreter_is_not_exact():
    data = _run_json(str(DATA / "inexact.py"))
    caveats = {r["kernel"]: r["caveat"] for r in data["runs"]}
    assert all(r["status"] == "ok" for r in data["runs"])
    assert caveats.pop("exact_ops") is None
    assert {k: v.split(" (")[0] for k, v in caveats.items()} == {
        "bf16_dot": "interpreter: bf16 dot is not exact here",
        "bf16_add": "interpreter: bf16 arithmetic is not exact here",
        "to_bf16": "interpreter: fp32 -> bf16 conversion is not exact here",
        "to_fp8": "interpreter: fp32 -> fp8e4nv conversion is not exact here",
        "int_to_bf16": "interpreter: int32 -> bf16 conversion is not exact here",
    }
    assert "triton-lang/triton#11584" in caveats["bf16_dot"]
    proc = run_cli("run", str(DATA / "inexact.py"), "--kernel", "bf16_dot", env=NO_GPU)
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("bf16_dot"))
    assert "  python  ok, inexact  " in row   # never a bare ok
    assert "  bf16_dot version original: interpreter: bf16 dot is not exact here" in proc.stdout


def test_the_app_and_the_config_tables_say_the_caveat_with_the_verdict():
    from workbench.model.configs_report import config_tables, table_rows
    from workbench.model.results import RunResult
    from workbench.tui.format import bench_row, result_summary
    result = {"kernel": "bf16_dot", "spec_id": "s1", "version": "original", "level": "python", "status": "ok",
              "outputs": [], "caveat": "interpreter: bf16 dot is not exact here (it multiplies the raw bit patterns)"}
    assert result_summary(RunResult.parse(result)).startswith("bf16_dot original: ok (interpreter: bf16 dot is not exact here")
    assert bench_row(RunResult.parse(result), None)[2] == "ok, inexact"
    assert result_summary(RunResult.parse(dict(result, caveat=None))) == "bf16_dot original: ok"
    tuning = {"kernel": "bf16_dot", "key": None, "chosen": 0,
              "configs": {"0": {"kwargs": {"BLOCK": 16}, "spec_id": "s1"}}}
    (table,) = config_tables([tuning], [RunResult.parse(result)])
    assert table_rows(table)[0]["verify"] == "ok, inexact" and table["rows"][0]["caveat"] == result["caveat"]

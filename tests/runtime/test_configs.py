"""Every autotune config replays on the inputs the chosen one was captured with, verified against
the chosen config's outputs, in one table (issue 12). On the CPU through the interpreter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from helpers import TESTS, EXAMPLES, run_cli
from workbench.model.configs_report import config_tables
from workbench.model.results import RunResult
from workbench.session.session import Session

DATA = TESTS / "data" / "configs"
GPU = torch.cuda.is_available()


def _session(tmp_path, script: Path) -> Session:
    for f in script.parent.glob("*.py"):
        shutil.copy(f, tmp_path / f.name)
    session = Session(tmp_path / script.name, workspace=tmp_path / "ws", with_sass=False)
    session.open()
    return session


def test_every_config_of_the_bundled_example_replays_and_verifies(tmp_path):
    session = _session(tmp_path, EXAMPLES / "autotuned_add.py")
    (tuning,) = session.capture.tunings
    assert sorted(tuning.configs) == [0, 1, 2] and tuning.chosen is not None
    statuses = {state.spec.autotune["config_index"]: session.run(sid).status for sid, state in session.kernels.items()}
    assert statuses == {0: "ok", 1: "ok", 2: "ok"}


def test_hooks_pruning_two_keys_and_a_config_with_a_bug_of_its_own(tmp_path):
    session = _session(tmp_path, DATA / "autotune_cases.py")
    tunings = session.capture.tunings
    assert [(t.kernel, t.key[0]) for t in tunings] == [("accumulate_kernel", 600), ("accumulate_kernel", 4096),
                                                      ("inplace_kernel", 800)]
    inplace = tunings[2]
    assert inplace.pruned == 1 and sorted(inplace.configs) == [0, 1]  # BLOCK=1024 > n was pruned
    verdicts = {}
    for sid, state in session.kernels.items():
        result = session.run(sid)
        verdicts[(state.spec.kernel, state.config.tuning.key[0], state.config.index)] = result.status
    accumulate = {k: v for k, v in verdicts.items() if k[0] == "accumulate_kernel"}
    assert set(accumulate.values()) == {"ok"} and len(accumulate) == 4
    # BLOCK=256 doubles its input: whichever config is chosen, it and the other one disagree
    assert verdicts[("inplace_kernel", 800, 0)] != verdicts[("inplace_kernel", 800, 1)]
    assert verdicts[("inplace_kernel", 800, inplace.chosen)] == "ok"


def test_the_cli_prints_one_table_per_tuning(tmp_path):
    for f in DATA.glob("*.py"):
        shutil.copy(f, tmp_path / f.name)
    proc = run_cli("run", str(tmp_path / "autotune_cases.py"), "--json")
    assert proc.returncode == 1, proc.stderr  # one config does not verify
    tables = json.loads(proc.stdout)["configs"]
    assert [(t["kernel"], t["key"][0], len(t["rows"])) for t in tables] == [
        ("accumulate_kernel", 600, 2), ("accumulate_kernel", 4096, 2), ("inplace_kernel", 800, 2)]
    rows = tables[2]["rows"]
    assert rows[0]["chosen"] and rows[0]["config"].startswith("BLOCK=")
    assert {r["config"].split(",")[0]: r["status"] for r in rows} in (
        {"BLOCK=64": "ok", "BLOCK=256": "mismatch"}, {"BLOCK=64": "mismatch", "BLOCK=256": "ok"})
    text = run_cli("run", str(tmp_path / "autotune_cases.py")).stdout
    assert "inplace_kernel: 2 autotune configs for key [800, 'torch.float32'] on the same inputs" in text
    assert "1 more pruned or not compiled" in text


def _run(index: int, median: float, p20: float, p80: float, status: str = "ok") -> RunResult:
    """A config's run answer, parsed as the app and the CLI parse it."""
    return RunResult.parse({"kernel": "k", "spec_id": f"s{index}", "version": "original", "level": "python",
                            "status": status, "outputs": [],
                            "compile": {"num_warps": 4, "num_stages": 3, "registers": 32, "spill_stores": 0,
                                        "spill_loads": 2},
                            "timing": {"mode": "cuda-event",
                                       "stats": {"median": median, "p20": p20, "p80": p80,
                                                 "spread": (p80 - p20) / median}}})


def _tuning(chosen: int) -> dict:
    return {"kernel": "k", "key": [1024], "chosen": chosen, "pruned": 0,
            "configs": {str(i): {"config": "", "spec_id": f"s{i}", "kwargs": {"BLOCK": 64 << i, "num_warps": 4}}
                        for i in range(3)}}


def test_the_table_says_when_the_autotuners_choice_is_not_the_fastest():
    (table,) = config_tables([_tuning(0)], [_run(0, 10.0, 9.8, 10.2), _run(1, 7.0, 6.9, 7.1), _run(2, 9.9, 9.7, 10.1)])
    assert [r["index"] for r in table["rows"]] == [0, 1, 2] and table["rows"][1]["fastest"]
    assert table["rows"][1]["vs_chosen"] == pytest.approx(0.7) and table["rows"][0]["spills"] == 2
    assert table["verdict"] == ("the autotuner's choice is not the fastest: BLOCK=128, num_warps=4 takes 0.700x its "
                                "time, outside the noise")
    (table,) = config_tables([_tuning(2)], [_run(0, 10.0, 9.8, 10.2), _run(1, 9.8, 9.6, 10.0), _run(2, 9.9, 9.7, 10.1)])
    assert table["rows"][0]["index"] == 2  # the chosen one first
    assert table["verdict"].startswith("the autotuner's choice is the fastest within the noise (BLOCK=128")
    (table,) = config_tables([_tuning(1)], [_run(0, 10.0, 9.8, 10.2, "mismatch"), _run(1, 9.8, 9.6, 10.0),
                                            _run(2, 9.9, 9.7, 10.1)])
    assert table["verdict"] == "the autotuner's choice is the fastest verified config"


@pytest.mark.gpu
def test_every_config_is_timed_on_the_gpu(tmp_path):
    shutil.copy(EXAMPLES / "autotuned_add.py", tmp_path / "autotuned_add.py")
    proc = run_cli("run", str(tmp_path / "autotuned_add.py"), "--bench", "--json")
    assert proc.returncode == 0, proc.stderr
    (table,) = json.loads(proc.stdout)["configs"]
    assert len(table["rows"]) == 3 and all(r["status"] == "ok" and r["stats"]["median"] > 0 for r in table["rows"])
    assert table["verdict"].startswith("the autotuner's choice is")


def test_configs_the_script_does_not_list_are_tried_and_join_the_table(tmp_path):
    shutil.copy(EXAMPLES / "autotuned_add.py", tmp_path / "autotuned_add.py")
    proc = run_cli("run", str(tmp_path / "autotuned_add.py"), "--json", "--sweep", "BLOCK_SIZE=128,512 num_warps=2",
                   "--config", "BLOCK_SIZE=100", "--config", "BLOCK_SIZ=64")
    assert proc.returncode == 1, proc.stderr  # two configs fail, as values
    (table,) = json.loads(proc.stdout)["configs"]
    tried = {r["config"]: (r["status"], r["message"]) for r in table["rows"] if r["tried"]}
    assert tried["BLOCK_SIZE=128, num_warps=2, num_stages=3"] == ("ok", "")
    assert tried["BLOCK_SIZE=512, num_warps=2, num_stages=3"] == ("ok", "")
    # what it does not say is the chosen config's (num_warps: the autotuner's pick on a GPU)
    status, message = next(v for k, v in tried.items() if k.startswith("BLOCK_SIZE=100, num_warps="))
    assert status == "error" and message == "this config does not compile: arange's range must be a power of 2"
    status, message = next(v for k, v in tried.items() if "BLOCK_SIZ=64" in k)
    assert status == "error" and "BLOCK_SIZ" in message and "does not specialize" in message
    assert sum(not r["tried"] for r in table["rows"]) == 3


def test_a_kernel_that_is_not_autotuned_gets_a_table_of_its_own_config_and_the_tried_ones(tmp_path):
    shutil.copy(EXAMPLES / "vector_add.py", tmp_path / "vector_add.py")
    proc = run_cli("run", str(tmp_path / "vector_add.py"), "--config", "BLOCK_SIZE=256,num_warps=2")
    assert proc.returncode == 0, proc.stderr
    assert "add_kernel: its own config and 1 tried here on the same inputs" in proc.stdout
    assert [line.split()[:2] for line in proc.stdout.splitlines() if "BLOCK_SIZE=" in line] == [
        ["*", "BLOCK_SIZE=1024,"], ["+", "BLOCK_SIZE=256,"]]


def test_bad_config_text_is_one_line():
    from workbench.runtime.configs import parse_config, parse_sweep
    from workbench.model.diagnostics import WorkbenchError
    assert parse_config("BLOCK_M=128, num_warps=8,flag=True,x=0.5") == {"BLOCK_M": 128, "num_warps": 8, "flag": True,
                                                                        "x": 0.5}
    assert parse_sweep("A=1,2 B=3,4") == [{"A": 1, "B": 3}, {"A": 1, "B": 4}, {"A": 2, "B": 3}, {"A": 2, "B": 4}]
    with pytest.raises(WorkbenchError, match="expected NAME=VALUE, got '128'"):
        parse_config("BLOCK_M=64,128")
    with pytest.raises(WorkbenchError, match="expected NAME=V1,V2"):
        parse_sweep("BLOCK_M")


def test_a_fixed_grid_is_said_and_a_grid_expression_replaces_it(tmp_path):
    """matmul's grid is numbers the script computed for BLOCK_M=128: a config with BLOCK_M=64 covers
    half the output unless the grid is given as an expression."""
    shutil.copy(EXAMPLES / "matmul.py", tmp_path / "matmul.py")
    proc = run_cli("run", str(tmp_path / "matmul.py"), "--json", "--config", "BLOCK_M=64")
    (table,) = json.loads(proc.stdout)["configs"]
    (tried,) = [r for r in table["rows"] if r["tried"]]
    assert tried["config"].startswith("BLOCK_M=64, BLOCK_N=128, BLOCK_K=64, GROUP_M=8")
    assert tried["status"] == "mismatch" and "the script's grid is fixed at (4,), whatever BLOCK_M is" in tried["message"]
    proc = run_cli("run", str(tmp_path / "matmul.py"), "--json", "--config", "BLOCK_M=64",
                   "--grid", "cdiv(M, BLOCK_M) * cdiv(N, BLOCK_N)")
    (table,) = json.loads(proc.stdout)["configs"]
    (tried,) = [r for r in table["rows"] if r["tried"]]
    assert tried["status"] == "ok" and tried["message"] == "", tried


def test_the_app_field_tells_one_config_from_a_sweep():
    from workbench.runtime.configs import parse_typed
    assert parse_typed("BLOCK_M=128, num_warps=8") == ([{"BLOCK_M": 128, "num_warps": 8}], False)
    assert parse_typed("BLOCK_M=64,128 num_warps=4") == ([{"BLOCK_M": 64, "num_warps": 4},
                                                          {"BLOCK_M": 128, "num_warps": 4}], True)


def test_a_tried_config_is_kept_in_the_workspace_edited_like_any_kernel_and_listed_again(tmp_path):
    """A tried config is not only a row: its levels are the original of a folder of its own (a
    version of it is an ordinary edit), and the next session lists it again."""
    session = _session(tmp_path, EXAMPLES / "vector_add.py")
    out = session.try_config("add_kernel", "BLOCK_SIZE=256,num_warps=2")
    assert out["result"]["status"] == "ok", out["result"]
    kept = out["kernel"]
    sid, folder = kept["spec"]["spec_id"], Path(kept["folder"])
    assert kept["spec"]["constexprs"]["BLOCK_SIZE"] == 256
    ttgir = (folder / "original" / "add_kernel.ttgir").read_text()
    assert '"ttg.num-warps" = 2' in ttgir and "256" in ttgir
    # an edit of the tried config is a version of it, replayed on the same inputs
    edited = folder / "edit" / "add_kernel.py"
    edited.write_text(edited.read_text().replace("x + y, mask=mask)", "y + x, mask=mask)"))
    applied = session.apply(sid, edited)
    assert applied["status"] == "ok" and applied["version"] == "1", applied
    session.close()

    again = Session(tmp_path / "vector_add.py", workspace=tmp_path / "ws", with_sass=False)
    data = again.open()
    assert sid in [k["spec"]["spec_id"] for k in data["kernels"]]
    (tuning,) = data["tunings"]
    assert [tuning["configs"][str(i)]["kwargs"]["BLOCK_SIZE"] for i in tuning["tried"]] == [256]
    assert again.run(sid).status == "ok" and again.run(sid, "1").status == "ok"
    again.close()

    (tmp_path / "ws" / data["kernels"][0]["spec"]["folder_name"] / "tried.json").write_bytes(b"\xff{")
    third = Session(tmp_path / "vector_add.py", workspace=tmp_path / "ws", with_sass=False)
    data = third.open()
    assert [k["spec"]["spec_id"] for k in data["kernels"]] == [data["kernels"][0]["spec"]["spec_id"]]
    assert any("tried.json: the configs tried earlier cannot be read" in n for n in data["notes"]), data["notes"]
    third.close()


def test_a_sweeps_compiles_run_ahead_in_worker_processes_and_give_the_same_code(tmp_path, monkeypatch):
    """Each config's stages below TTIR are compiled by a worker process into the stage cache; the
    sweep then finds them there (every stage a hit) and they are what a compile here gives."""
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))   # (the workers see it too)
    from workbench.compiler.cache import StageCache
    from workbench.compiler.stages import Compiler
    session = _session(tmp_path, EXAMPLES / "matmul.py")
    configs = [{"BLOCK_M": 64, "num_warps": 4}, {"BLOCK_M": 64, "num_warps": 2}, {"BLOCK_N": 64, "num_stages": 2}]
    grid = "cdiv(M, BLOCK_M) * cdiv(N, BLOCK_N)"
    ahead = session.prefetch_configs("matmul_kernel", configs, grid)
    assert ahead["prefetching"] == 3 and ahead["workers"] >= 1
    fresh = Compiler(session.compiler.target, StageCache(None))
    for config in configs:
        out = session.try_config("matmul_kernel", config, grid=grid)
        assert out["result"]["status"] == "ok", out["result"]
        state = session.kernels[out["result"]["spec_id"]]
        result = state.versions["original"].result
        assert [(t.level, t.cached) for t in result.stages] == [
            ("ttir", True), ("ttgir", True), ("llir", True), ("ptx", True), ("cubin", True)]
        spec = state.spec
        here = fresh.compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs, spec.options,
                                    with_sass=False)
        assert here.levels["ptx"] == result.levels["ptx"] and here.levels["cubin"] == result.levels["cubin"]
    session.close()


def test_an_edit_of_an_autotuned_kernel_that_stops_writing_part_of_its_output_is_caught(tmp_path):
    """The autotuner's benchmark runs leave the answer in the output before the launch it keeps:
    the snapshot is the arguments as they were before tuning, so the output counts as written
    (and is poisoned in every replay), and elements a version never writes show."""
    session = _session(tmp_path, EXAMPLES / "autotuned_add.py")
    state = session.state("scale_add_kernel")
    assert state.snapshot.written == ["out_ptr"] and state.pure_outputs == ["out_ptr"]
    edit = session.workspace.edit(state.spec.folder_name) / f"{state.spec.stem}.py"
    edit.write_text(edit.read_text().replace("mask = offsets < n_elements", "mask = offsets < n_elements - 1000"))
    _, version = session.compile(state.spec.spec_id, edit)
    result = session.run(state.spec.spec_id, version.label)
    assert result.status == "mismatch"
    (bad,) = [o for o in result.outputs if not o.ok]
    assert bad.name == "out_ptr" and "1000 never written" in bad.sentence
    session.close()

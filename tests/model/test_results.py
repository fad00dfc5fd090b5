"""The runner's answers as the app reads them (workbench/model/results.py): the real answers of a
real runner (open, run, apply, versions) parse into dataclasses whose fields are the answers'
values; an answer of a wrong shape is one line naming the field, never an AttributeError."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import EXAMPLES
from workbench.model.results import AnswerError, KernelEntry, Opened, RunResult, SanitizeRun, Timing, Version
from workbench.runner.client import RunnerClient


def test_a_real_runner_s_answers_parse_into_what_they_say(tmp_path):
    script = tmp_path / "vector_add.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", script)
    with RunnerClient(kernel_timeout=6) as client:
        answer = client.call("open", script=str(script), with_sass=False)
        opened = Opened.parse(answer)
        assert (opened.mode, opened.target, opened.gpu) == (answer["mode"], answer["target"], answer["gpu"])
        entry, raw = opened.kernels[0], answer["kernels"][0]
        assert (entry.kernel, entry.spec_id, entry.line) == ("add_kernel", raw["spec"]["spec_id"], raw["spec"]["line"])
        assert entry.edit == Path(raw["edit"]) and (entry.edit / "add_kernel.py").is_file()
        assert entry.folder == entry.edit.parent and entry.versions == [] and entry.error is None
        assert entry.result["registers"] == raw["result"]["registers"]
        assert entry.grids == [tuple(raw["launches"][0]["grid"])] == [(97, 1, 1)]

        answer = client.call("run", kernel=entry.spec_id)
        run = RunResult.parse(answer)
        assert (run.kernel, run.spec_id, run.version, run.level) == ("add_kernel", entry.spec_id, "original", "python")
        assert run.status == "ok" and run.verified and run.verdict_kind == "ok" and run.versions is None
        assert [(o.name, o.ok, o.shape, o.sentence) for o in run.outputs] == \
            [(o["name"], True, tuple(o["shape"]), o["sentence"]) for o in answer["outputs"]]
        assert run.outputs[-1].shape == (98432,) and run.outputs[-1].mismatches == 0

        py = entry.edit / "add_kernel.py"
        py.write_text(py.read_text().replace("x + y, mask=mask", "x - y, mask=mask"))
        applied = RunResult.parse(client.call("apply", kernel=entry.spec_id, path=str(py)), "apply answer")
        assert (applied.version, applied.level, applied.status) == ("1", "python", "mismatch")
        assert applied.verdict_kind == "error" and applied.compile_ms > 0 and applied.srcmap
        assert [o.name for o in applied.outputs if not o.ok] == ["out_ptr"] and applied.outputs[-1].mismatches > 0
        assert [(v.number, v.level, v.label) for v in applied.versions] == [(1, "python", "1")]
        assert applied.versions[0].folder.is_dir() and applied.versions[0].after_pass is None
        listed = [Version.parse(v) for v in client.call("versions", kernel=entry.spec_id)]
        assert [(v.number, v.folder) for v in listed] == [(v.number, v.folder) for v in applied.versions]


def _run(**changes) -> dict:
    return {"kernel": "k", "spec_id": "s1", "version": "original", "level": "python", "status": "ok"} | changes


@pytest.mark.parametrize("answer, said", [
    (_run(status=3), "the runner's run result: status is int, not str"),
    ({k: v for k, v in _run().items() if k != "spec_id"}, "the runner's run result has no spec_id"),
    ("a string", "the runner's run result: expected an object, got str"),
    (_run(timing={"mode": "graph", "stats": {"median": "fast"}}),
     "the runner's run result's timing: median is str, not int or float"),
    (_run(versions=[{"number": "1", "level": "python", "folder": "/v/001"}]),
     "the runner's run result's version: number is str, not int"),
    (_run(compile_ms=True), "the runner's run result: compile_ms is a bool, not a number"),
    (_run(outputs={"y": 1}), "the runner's run result: outputs is dict, not list"),
    (_run(outputs=[{"name": "y", "ok": "yes"}]), "the runner's run result's output: ok is str, not bool"),
    (_run(outputs=[{"ok": True}]), "the runner's run result's output has no name"),
    (_run(vs_original={"ratio": "fast"}), "the runner's run result's vs_original: ratio is str, not int or float"),
    (_run(vs_original={"ratio": 0.9, "timing": {"mode": 1}}),
     "the runner's run result's vs_original's timing: mode is int, not str"),
    (_run(caveat=3), "the runner's run result: caveat is int, not str"),
])
def test_an_answer_of_a_wrong_shape_is_one_line_naming_the_field(answer, said):
    with pytest.raises(AnswerError) as e:
        RunResult.parse(answer)
    assert str(e.value) == said and "\n" not in str(e.value)


def test_open_and_kernel_entries_are_checked_too():
    with pytest.raises(AnswerError, match=r"^the runner's open answer has no target$"):
        Opened.parse({"mode": "gpu", "gpu": True, "kernels": []})
    with pytest.raises(AnswerError, match=r"^the runner's kernel entry: a compiled kernel with no edit$"):
        KernelEntry.parse({"spec": {"kernel": "k", "spec_id": "s1"}, "folder": "/w/k-s1"})
    failed = KernelEntry.parse({"spec": {"kernel": "k", "spec_id": "s1"}, "error": {"message": "bad"}})
    assert failed.error == {"message": "bad"} and failed.edit is None and failed.versions == []
    with pytest.raises(AnswerError, match=r"^the runner's kernel entry: launches is str, not list$"):
        KernelEntry.parse({"spec": {"kernel": "k", "spec_id": "s1"}, "error": {"message": "bad"}, "launches": "97"})
    with pytest.raises(AnswerError, match=r"^the runner's kernel entry's launch: grid is str, not list$"):
        KernelEntry.parse({"spec": {"kernel": "k", "spec_id": "s1"}, "error": {"message": "bad"},
                           "launches": [{"grid": "97"}]})


def test_a_kernel_entry_s_kept_sanitize_runs_are_parsed_and_checked():
    run = {"version": 1, "tools": ["memcheck"], "time": "17:20:01", "result": "no errors",
           "lines": ["no errors (memcheck)"]}
    entry = KernelEntry.parse({"spec": {"kernel": "k", "spec_id": "s1"}, "folder": "/w/k-s1", "edit": "/w/k-s1/edit",
                               "sanitized": [run]})
    assert entry.sanitized == [SanitizeRun("1", ["memcheck"], "17:20:01", "no errors", ["no errors (memcheck)"])]
    assert SanitizeRun.parse(entry.sanitized[0].to_json()) == entry.sanitized[0]
    assert KernelEntry.parse({"spec": {"kernel": "k", "spec_id": "s1"}, "error": {"message": "bad"}}).sanitized == []
    with pytest.raises(AnswerError, match=r"^the runner's kernel entry's sanitize run: tools is str, not list$"):
        KernelEntry.parse({"spec": {"kernel": "k", "spec_id": "s1"}, "error": {"message": "bad"},
                           "sanitized": [dict(run, tools="memcheck")]})
    with pytest.raises(AnswerError, match=r"^the runner's sanitize run: its tools and lines are not all strings$"):
        SanitizeRun.parse(dict(run, lines=[3]))
    with pytest.raises(AnswerError, match=r"^the runner's sanitize run has no result$"):
        SanitizeRun.parse({k: v for k, v in run.items() if k != "result"})


def test_a_timing_keeps_its_statistics_checked_as_numbers():
    """The Configs table reads a config's p20 and p80 (the noise test) from its run's timing."""
    stats = {"median": 0.01, "mean": 0.0101, "p20": 0.0099, "p80": 0.0102, "spread": 0.03, "runs": 40}
    assert Timing.parse({"mode": "cuda-event", "stats": stats}).stats == stats
    assert Timing.parse({"mode": "wall"}).stats == {}
    with pytest.raises(AnswerError, match=r"^the runner's run result's timing: p20 is str, not int or float$"):
        RunResult.parse({"kernel": "k", "spec_id": "s1", "version": "original", "level": "python", "status": "ok",
                         "timing": {"mode": "cuda-event", "stats": dict(stats, p20="fast")}})


def test_a_timing_says_whether_it_is_the_interpreter_s_wall_time():
    wall = Timing.parse({"mode": "wall", "stats": {"median": 750.0, "spread": 0.1}})
    assert wall.interpreted and wall.median == 750.0 and wall.spread == 0.1 and wall.tflops is None
    assert not Timing.parse({"mode": "cuda-event", "stats": {"median": 0.01}, "tflops": 12.5}).interpreted


def test_a_version_s_timing_against_the_original_s_is_read_with_the_original_s_median():
    """vs_original holds the original timed beside the version: the ratio is of the two medians."""
    run = RunResult.parse(_run(version="1", timing={"mode": "graph", "stats": {"median": 0.0047}},
                               vs_original={"ratio": 0.94, "verdict": "faster", "sentence": "1.06x faster",
                                            "timing": {"mode": "graph", "stats": {"median": 0.005}}},
                               caveat="interpreter: bf16 dot is not exact here"))
    assert (run.vs_original.ratio, run.vs_original.verdict, run.vs_original.timing.median) == (0.94, "faster", 0.005)
    assert run.median == 0.0047 and run.caveat == "interpreter: bf16 dot is not exact here"
    bare = RunResult.parse(_run())
    assert bare.vs_original is None and bare.median is None and bare.caveat is None and bare.outputs == []

"""The IR after every pass (issue 13): recorded from Triton's own stage functions, cached with
the stage, and restartable after any pass to the same cubin as the full compile."""

from __future__ import annotations

import pytest

from helpers import ROOT

from workbench.compiler import compat, passes
from workbench.compiler.isolate import captured_output
from workbench.compiler.stages import Compiler


def _record(compiler, spec):
    return compiler.compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs, spec.options,
                                   with_sass=False, record_passes=True)


@pytest.fixture(scope="module")
def recorded(captures):
    """(compiler, spec, plain compile, recorded compile) per example and target, made once."""
    made: dict = {}

    def get(name: str, target: str):
        if (name, target) not in made:
            spec = captures(name).specs[0]
            compiler = Compiler(target)
            plain = compiler.compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                            spec.options, with_sass=False)
            made[name, target] = (compiler, spec, plain, _record(compiler, spec))
        return made[name, target]
    return get


def test_every_pass_of_each_mlir_stage_is_recorded_and_changes_nothing(recorded):
    compiler, spec, plain, rec = recorded("matmul", "cuda:90")
    assert set(rec.passes) == {"ttir", "ttgir", "llir"}
    for level in ("ttir", "ttgir", "llir", "ptx", "cubin"):  # recording does not change what is compiled
        assert rec.levels[level] == plain.levels[level], level
    plist = passes.pass_list(rec.passes)
    names = [n for p in plist for n in p.name.split("+")]
    assert plist[0].name == "input" and plist[0].stage == "ttir" and "tt.func" in plist[0].ir
    for name in ("inline", "tritongpu-coalesce", "tritongpu-accelerate-matmul", "tritongpu-pipeline",
                 "tritongpu-remove-layout-conversions", "convert-triton-gpu-to-llvm"):
        assert name in names, name
    assert [p.number for p in plist] == list(range(len(plist)))
    # the IR after each stage's last pass is that stage's level
    for stage in ("ttir", "ttgir"):
        assert [p for p in plist if p.stage == stage][-1].ir == rec.levels[stage]
    pipe = next(p for p in plist if p.name == "tritongpu-pipeline")
    assert pipe.changed and pipe.call == "passes.ttgpuir.add_pipeline" and pipe.ms > 0
    assert "ttg.async_copy_global_to_local" in pipe.ir and "ttg.async_copy_global_to_local" not in plist[pipe.number - 1].ir
    unchanged = [p for p in plist if not p.changed]
    assert unchanged and all(p.ir == plist[p.number - 1].ir for p in unchanged)
    row = pipe.summary()
    assert row["added"] > 0 and row["removed"] > 0 and row["file"] == f"{pipe.number:02d}-ttgir-tritongpu-pipeline.mlir"


def test_the_pass_list_is_the_one_triton_dumps(recorded):
    """MLIR_ENABLE_DUMP (read by the stage's pm.enable_debug, printed on fd 2) names one
    'IR Dump Before' per pass run on the module (the inliner's own canonicalizer runs on
    each callee, named by its function): every recorded pass is there in the same order; the
    rest are pipelines a recorded pass runs inside itself."""
    import os
    import re
    compiler, spec, plain, rec = recorded("matmul", "cuda:90")
    plist = passes.pass_list(rec.passes)
    from workbench.compiler.sources import parse_mlir
    from workbench.compiler.stages import clean_options
    options = compiler.backend.parse_options(clean_options(spec.options, compiler.option_fields()))
    table = compat.stage_table(compiler.backend, options, compat.Language.TRITON)
    module = parse_mlir(compiler.backend, plist[0].ir, "<input>")
    metadata = compiler.initial_metadata(options)
    os.environ["MLIR_ENABLE_DUMP"] = "1"
    try:
        dumped = {}
        for stage in ("ttir", "ttgir", "llir"):
            with captured_output() as buf:
                module = table[stage](module, metadata)
            dumped[stage] = re.findall(r"IR Dump Before (\S+) \(([\w-]+)\) \('builtin.module' operation\)", buf.getvalue())
    finally:
        del os.environ["MLIR_ENABLE_DUMP"]
    for stage, seen in dumped.items():
        ours = [n for p in plist if p.stage == stage and p.index >= 0 for n in p.name.split("+")]
        names = [arg for _, arg in seen]
        extra = list(names)
        for name in ours:  # ours, in order, within the dump's ...
            extra = extra[extra.index(name) + 1:] if name in extra else ["missing " + name]
            assert not extra or not extra[0].startswith("missing"), (stage, name)
        # ... whose other entries are pipelines a pass runs inside itself (optimize-dot-operands
        # canonicalizes, warp-specialize-to-llvm reconciles casts)
        leftover = list(names)
        for name in ours:
            leftover.remove(name)
        assert set(leftover) <= {"canonicalize", "cse", "reconcile-unrealized-casts"}, (stage, leftover)
        assert len(ours) >= len(names) - 3, stage


def test_asking_again_costs_nothing(recorded):
    compiler, spec, plain, rec = recorded("matmul", "cuda:90")
    misses = compiler.cache.misses
    again = _record(compiler, spec)
    assert compiler.cache.misses == misses and again.fully_cached
    assert again.passes == rec.passes


@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_a_recording_child_killed_or_hung_still_gives_the_whole_recording(recorded, monkeypatch, fault):
    """Each stage is recorded in a forked child while the compile goes on (printing after every
    pass costs about what the passes do). A child killed by SIGKILL in the middle of its stage,
    or one that never ends (stopped after its wait), is recorded again in the compile's process,
    from the stage's input: the same passes and texts, nothing lost or mixed."""
    import os
    import signal
    import time
    from workbench.compiler import recording
    _, spec, plain, rec = recorded("matmul", "cuda:90")
    parent, real = os.getpid(), recording.record_stage

    def faulty(self, obj, ext, *args, **kwargs):
        if os.getpid() != parent and ext == "ttgir":   # in the child only: the fallback runs the real one
            if fault == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(3600)
        return real(self, obj, ext, *args, **kwargs)
    monkeypatch.setattr(recording, "record_stage", faulty)
    monkeypatch.setattr(recording, "RECORDING_WAIT_S", 1.0)
    again = _record(Compiler("cuda:90"), spec)
    assert [(p.stage, p.name, p.ir) for p in passes.pass_list(again.passes)] == \
           [(p.stage, p.name, p.ir) for p in passes.pass_list(rec.passes)]
    assert again.levels["cubin"] == plain.levels["cubin"]


def test_a_stage_recorded_by_two_processes_joins_to_what_one_records():
    """Where the machine has the cores, two children record LLIR together, each printing the
    module after the passes it gets to first. Two recorders here, over one module's texts, with
    the passes shared out every way the claims can go (runs of either, each alone, both
    printing one): the joined recording, its JSON and its last text are one recorder's."""
    import itertools
    import json
    texts = ["a", "b", "b", "c", "c", "c", "d", "e", "e"]   # the module after each pass

    def record(claim=None):
        rec = passes.StageRecorder("llir", None, 0, True, "input", claim)
        for index, text in enumerate(texts):
            rec(index, f"pass-{index}", "passes.x.add_y", 1.0, text)
        return rec
    alone = record()
    for owners in itertools.product((1, 2, 3), repeat=len(texts)):   # 3: both print it
        parts = [record(lambda i, me=me: owners[i] in (me, 3)).part() for me in (1, 2)]
        data, last, encoded = passes.join_parts(parts)
        assert data == alone.data() and json.loads(encoded) == data and last == "e", owners
    # a pass nobody printed, or parts of different stages, are not joined
    parts = [record(lambda i: i != 4).part(), record(lambda i: i != 4).part()]
    with pytest.raises(ValueError):
        passes.join_parts(parts)
    with pytest.raises(ValueError):
        passes.join_parts([alone.part(), passes.StageRecorder("llir", None, 0, True, "other").part()])


@pytest.fixture
def two_recording_children(monkeypatch):
    """LLIR recorded by two children, as on a machine with four cores or more (this one may have two)."""
    from workbench.compiler import recording
    monkeypatch.setattr(recording, "recording_children", lambda stage: 2 if stage == "llir" else 1)


@pytest.mark.parametrize("example", ["matmul", "flash_attention"])
def test_llir_recorded_by_two_children_is_the_recording_of_one(recorded, two_recording_children, example):
    from workbench.compiler import recording
    _, spec, plain, rec = recorded(example, "cuda:90")
    joined = Compiler("cuda:90")
    again = _record(joined, spec)
    assert passes.without_times(again.passes) == passes.without_times(rec.passes)
    assert again.levels["cubin"] == plain.levels["cubin"]
    # what was cached is the joined recording
    assert _record(joined, spec).passes == again.passes
    assert recording.recording_children("llir") == 2


@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_one_of_two_recording_children_killed_or_hung_still_gives_the_whole_recording(
        recorded, two_recording_children, monkeypatch, fault):
    """The second of LLIR's two children killed (or stopped after its wait) at its fifth pass,
    with the first one whole: the stage is recorded again in the compile's process."""
    import os
    import signal
    import time
    _, spec, plain, rec = recorded("matmul", "cuda:90")
    real = passes.PassClaims.claim

    def faulty(self, index, me):
        if me == 2 and index == 5:
            if fault == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(3600)
        return real(self, index, me)
    monkeypatch.setattr(passes.PassClaims, "claim", faulty)
    from workbench.compiler import recording
    monkeypatch.setattr(recording, "RECORDING_WAIT_S", 1.0)
    again = _record(Compiler("cuda:90"), spec)
    assert passes.without_times(again.passes) == passes.without_times(rec.passes)
    assert again.levels["cubin"] == plain.levels["cubin"]


_KILLED_MID_RECORDING = """
import os, signal, sys
from workbench.compiler import isolate, recording
from workbench.runtime.capture.script import run_script
from workbench.compiler.stages import Compiler
recording.recording_children = lambda stage: 2 if stage == "llir" else 1
forked = isolate.Isolated.__init__
def fork(self, *args, **kwargs):
    forked(self, *args, **kwargs)
    print("child", self.pid, flush=True)
isolate.Isolated.__init__ = fork
stage = Compiler.call_stage
def call(self, ext, *args, **kwargs):
    if ext == "ptx":   # the LLIR children are recording
        os.kill(os.getpid(), signal.SIGKILL)
    return stage(self, ext, *args, **kwargs)
Compiler.call_stage = call
spec = run_script(sys.argv[1], mode="compile-only").specs[0]
Compiler("cuda:90").compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs, spec.options,
                                   with_sass=False, record_passes=True)
"""


def test_a_compile_killed_while_its_children_record_leaves_no_process_behind():
    """kill -9 of the compile's process while TTGIR's child and LLIR's two record: the pipes
    that would tell them where the stage ends close, and each ends with its stage (no child
    waits for a process that is gone)."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path
    root = ROOT
    run = subprocess.run([sys.executable, "-c", _KILLED_MID_RECORDING, str(root / "examples" / "matmul.py")],
                         capture_output=True, text=True, timeout=120, cwd=root,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert run.returncode == -9, run.stderr[-2000:]
    pids = [int(line.split()[1]) for line in run.stdout.splitlines() if line.startswith("child ")]
    assert len(pids) == 3, run.stdout

    def running(pid: int) -> bool:   # (an ended child nobody reaps is a zombie: ended)
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (FileNotFoundError, ProcessLookupError):
            return False
    deadline = time.monotonic() + 60
    while any(map(running, pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(running, pids)), [p for p in pids if running(p)]


def test_children_are_forked_for_the_stages_whose_ir_is_kept_only(captures, two_recording_children, monkeypatch):
    """A stage whose passes are only named prints nothing: it is listed in the compile's own
    process (a fork costs ~12 ms there, and the compile's pages are then copied as it writes
    them). TTGIR's IR kept: one child; LLIR's: two (as on four cores or more)."""
    from workbench.compiler import recording
    spec = captures("matmul").specs[0]
    forked: list[str] = []
    real = recording.Isolated

    class Counted(real):
        def __init__(self, fn, obj, ext, *args, **kwargs):
            forked.append(ext)
            super().__init__(fn, obj, ext, *args, **kwargs)
    monkeypatch.setattr(recording, "Isolated", Counted)
    compiler = Compiler("cuda:90")
    for record, children in ((("ttir",), []), (("ttgir",), ["ttgir"]), (("llir",), ["llir", "llir"])):
        forked.clear()
        result = compiler.compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                         spec.options, with_sass=False, record_passes=record)
        assert forked == children, record
        kept = {stage for stage, rec in result.passes.items() if any(p["ir"] for p in rec["passes"])}
        assert kept == set(record) and set(result.passes) == {"ttir", "ttgir", "llir"}


def test_a_plain_compile_after_a_recording_is_served_from_the_cache(captures):
    spec = captures("matmul").specs[0]
    compiler = Compiler("cuda:80")
    _record(compiler, spec)
    plain = compiler.compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs, spec.options,
                                    with_sass=False)
    assert plain.fully_cached and plain.passes == {}


@pytest.mark.parametrize("example", ["matmul", "flash_attention"])
@pytest.mark.parametrize("target", ["cuda:80", "cuda:90"])
def test_every_pass_restarts_to_the_cubin_of_the_full_compile(recorded, example, target):
    """Each restart runs the rest of its stage for real; the stages below it are then served
    from the cache exactly when the stage's output is the full compile's, which is asserted
    too. One restart per case goes all the way down in a compiler with an empty cache."""
    compiler, spec, plain, rec = recorded(example, target)
    meta = plain.metadata_json()
    plist = passes.pass_list(rec.passes)
    assert len(plist) > 40
    for p in plist:
        again = compiler.compile_level("", p.ir, meta, after_pass=(p.stage, p.index), with_sass=False,
                                       file=p.file_name)
        assert again.levels["cubin"] == plain.levels["cubin"], p.file_name
        assert again.num_warps == plain.num_warps and again.shared == plain.shared, p.file_name
    middle = next(p for p in plist if p.name == "tritongpu-accelerate-matmul")
    cold = Compiler(target).compile_level("", middle.ir, meta, after_pass=(middle.stage, middle.index),
                                          with_sass=False)
    assert not any(s.cached for s in cold.stages) and cold.levels["cubin"] == plain.levels["cubin"]


def test_an_edit_after_a_pass_flows_into_the_metadata_and_the_ptx(recorded):
    """Latency 1 instead of 2 on the loads, after the pass that assigned it: the pipeliner
    then keeps two buffers instead of three, and the shared memory says so."""
    compiler, spec, plain, rec = recorded("matmul", "cuda:90")
    plist = passes.pass_list(rec.passes)
    after = next(p for p in plist if p.name == "tritongpu-assign-latencies")
    assert after.ir.count("tt.latency = 2") == 2
    edited = compiler.compile_level("", after.ir.replace("tt.latency = 2", "tt.latency = 1"), plain.metadata_json(),
                                    after_pass=(after.stage, after.index), with_sass=False, record_passes=True)
    assert plain.shared == 98304 and edited.shared == 65536
    assert edited.levels["ptx"] != plain.levels["ptx"]
    assert edited.metadata["shared"] == 65536
    # the restart's own recording holds the passes after the edit only
    again = passes.pass_list(edited.passes)
    assert again[0].stage == "ttgir" and again[0].index == after.index and again[1].index == after.index + 1


def test_a_broken_ir_after_a_pass_is_reported_at_its_line(recorded, tmp_path):
    from workbench.model.diagnostics import WorkbenchError
    compiler, spec, plain, rec = recorded("matmul", "cuda:90")
    after = next(p for p in passes.pass_list(rec.passes) if p.name == "tritongpu-coalesce")
    lines = after.ir.splitlines()
    line = next(i for i, row in enumerate(lines, 1) if "arith.addi" in row)
    path = tmp_path / after.file_name
    path.write_text(after.ir.replace("arith.addi", "arith.addx", 1))
    with pytest.raises(WorkbenchError) as err:
        compiler.compile_level("", path.read_text(), plain.metadata_json(), file=str(path),
                               after_pass=(after.stage, after.index))
    d = err.value.diagnostics[0]
    assert (d.file, d.line) == (str(path), line) and "arith.addx" in d.message


def test_version_diff_names_the_passes_an_edit_changed(recorded):
    compiler, spec, plain, rec = recorded("matmul", "cuda:90")
    original = passes.pass_list(rec.passes)
    after = next(p for p in original if p.name == "tritongpu-assign-latencies")
    edited = compiler.compile_level("", after.ir.replace("tt.latency = 2", "tt.latency = 1"), plain.metadata_json(),
                                    after_pass=(after.stage, after.index), with_sass=False, record_passes=True)
    rows = passes.compare(original, passes.pass_list(edited.passes))
    assert rows and all(r["stage"] != "ttir" and r["index"] >= after.index for r in rows if r["stage"] == "ttgir")
    by_name = {}
    for r in rows:
        by_name.setdefault(r["pass"], []).append(r)
    assert by_name["tritongpu-assign-latencies"][0]["differs"]  # the edited IR itself
    assert any(r["differs"] for r in by_name["tritongpu-pipeline"])
    # locations aside: the same IR with other line numbers is no difference
    moved = [passes.PassIR(p.number, p.stage, p.index, p.name, p.call, p.changed, p.ms,
                           p.ir.replace(":44:", ":45:")) for p in original]
    assert sum(a.ir != b.ir for a, b in zip(original, moved)) > 40
    assert not any(r["differs"] for r in passes.compare(original, moved))


def test_each_ttgir_and_llir_line_names_the_pass_that_introduced_it(recorded):
    """The app's jump (p): a line's op at its Python location, first there after which pass."""
    compiler, spec, plain, rec = recorded("matmul", "cuda:90")
    plist = passes.pass_list(rec.passes)
    by_name = {p.number: p for p in plist}

    def hit(level: str, needle: str) -> tuple[passes.PassIR, str, dict]:
        text = rec.levels[level]
        lines = text.splitlines()
        n = next(i for i, row in enumerate(lines, 1) if needle in row)
        found = passes.introducing_passes(plist, level, text)[n]
        return by_name[found["pass"]], lines[n - 1], found

    # sm_90: accelerate-matmul turns tt.dot into the wgmma op; the pipeliner makes the async copies
    p, row, found = hit("ttgir", "ttng.warp_group_dot ")
    assert p.name == "tritongpu-accelerate-matmul" and found["exact"]
    assert "ttng.warp_group_dot " in p.ir.splitlines()[found["line"] - 1]
    assert "ttng.warp_group_dot " not in plist[p.number - 1].ir
    p, _, _ = hit("ttgir", "ttg.async_copy_global_to_local")
    assert p.name == "tritongpu-pipeline"
    p, _, _ = hit("ttgir", "tt.get_program_id")
    assert p.number == 0   # in the front end's TTIR already
    # LLVM IR: the wgmma's inline assembly comes from the NVGPU dialect's lowering, after the
    # TritonGPU one made the nvgpu.wgmma op
    p, row, found = hit("llir", "wgmma.mma_async")
    assert p.stage == "llir" and p.name == "convert-nv-gpu-to-llvm" and found["exact"]
    assert any(q.name.startswith("convert-triton-gpu-to-llvm") for q in plist[:p.number])
    assert "llvm.inline_asm" in p.ir.splitlines()[found["line"] - 1]
    # a line with no location (the module's metadata) names no pass
    lines = rec.levels["llir"].splitlines()
    meta = next(i for i, row in enumerate(lines, 1) if row.startswith("!llvm.module.flags"))
    assert meta not in passes.introducing_passes(plist, "llir", rec.levels["llir"])

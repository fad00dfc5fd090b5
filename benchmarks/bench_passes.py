"""What recording every pass, and restarting after one, cost against the compile itself.

Measured in ONE process, warm, over N repeats, baseline and ours interleaved in every repeat:
each repeat gives one ratio of two timings taken side by side, so a machine's drift hits both
alike, and the median of those ratios is checked, with their range and the fastest of each side
beside it (matmul, 128x128x64 tiles, sm_90 by default):

  recording  ``compile_python(..., record_passes=...)`` against the same compile without it,
             Python to cubin, each in a Compiler with an empty cache: the IR kept after every
             pass of all three MLIR stages (TTGIR's and LLIR's recorded in children beside
             the compile, as the workbench does, LLIR's by two at once where there are four
             cores; and, for comparison, LLIR's by one child, and all in-process), and of one
             stage (the others then list their passes only).                   (limit 1.5x)
  restart    ``compile_level(ir_after_N, after_pass=N)``, empty cache, against "the stages
             after N" from N's text: Triton's parser on that text (as Triton reads any IR file
             it is given), then Triton's own stage function for N's stage, called directly on
             that stage's input (parsed beforehand, not counted), less the same stage's pass
             manager cut after N (timed apart, also on a parsed input), plus Triton's stage
             functions below it.                                              (limit 1.1x)
             The ratio without the parse is printed too: a restart from an edited text cannot
             skip reading it, and after the lowering to the LLVM dialect the parse alone is
             about a tenth of the stages after N.

    python benchmarks/bench_passes.py [--target cuda:90] [--repeat 9]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import triton  # noqa: E402

from benchmarks.bench_compile import cpu_model, timed  # noqa: E402
from workbench.compiler import compat, compat_passes, passes, recording  # noqa: E402
from workbench.runtime.capture.script import run_script  # noqa: E402
from workbench.compiler.sources import parse_mlir  # noqa: E402
from workbench.compiler.stages import Compiler, clean_options  # noqa: E402

RECORD_LIMIT, RESTART_LIMIT = 1.5, 1.1
RESTART_AFTER = ("tritongpu-coalesce", "tritongpu-pipeline", "allocate-shared-memory-nv", "canonicalize@llir")


def paired(ours: list[float], base: list[float]) -> float:
    """The median of the per-repeat ratios (each of two timings taken side by side)."""
    return statistics.median(o / b for o, b in zip(ours, base))


def spread(ours: list[float], base: list[float]) -> str:
    ratios = [o / b for o, b in zip(ours, base)]
    return (f"{statistics.median(ratios):.2f}x [{min(ratios):.2f}-{max(ratios):.2f}], "
            f"fastest {min(ours) / min(base):.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", default="cuda:90")
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    spec = run_script(ROOT / "examples/matmul.py", mode="compile-only").specs[0]
    py = (spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs, spec.options)
    children = recording.recording_children("llir")
    print(f"# CPU: {cpu_model()}, {os.cpu_count()} cores (LLIR recorded by {children} child{'ren' * (children > 1)}) "
          f"| triton {triton.__version__} | target {args.target} | matmul | "
          f"{args.repeat} repeats: median ratio [range], fastest of each side")

    def compile_once(record):
        aside, split = recording.RECORDED_ASIDE, recording.RECORDED_SPLIT
        if record == "in-process":
            recording.RECORDED_ASIDE, record = (), True
        elif record == "one child":
            recording.RECORDED_SPLIT, record = {}, True
        try:
            return Compiler(args.target).compile_python(*py, with_sass=False, record_passes=record)
        finally:
            recording.RECORDED_ASIDE, recording.RECORDED_SPLIT = aside, split

    # "all stages": TTGIR and LLIR recorded in children beside the compile, as the workbench does
    # (LLIR by two children at once where there are 4 cores or more); for comparison (not checked),
    # "one child": LLIR by one child alone; "in-process": every stage recorded in the compile's
    # own process, one after another
    modes = {"plain": False, "all stages": True, "one child": "one child", "in-process": "in-process",
             "ttir": ("ttir",), "ttgir": ("ttgir",), "llir": ("llir",)}
    compile_once(True)  # warm: imports, LLVM targets, ptxas in the page cache
    took: dict[str, list[float]] = {mode: [] for mode in modes}
    recorded = None
    for _ in range(args.repeat):
        for mode, record in modes.items():
            ms, result = timed(lambda: compile_once(record))
            took[mode].append(ms)
            if record == "in-process":
                recorded = result   # its pass times are taken alone, not beside the compile
    failed = False
    for mode in list(modes)[1:]:
        ratio = paired(took[mode], took["plain"])
        failed |= ratio > RECORD_LIMIT and mode not in ("in-process", "one child")   # (ways not taken)
        print(f"recording   {mode:<10} Python to cubin {min(took['plain']):.0f} ms plain, {min(took[mode]):.0f} ms "
              f"recorded: {spread(took[mode], took['plain'])} (limit {RECORD_LIMIT}x)")

    compiler = Compiler(args.target)
    options = compiler.backend.parse_options(clean_options(spec.options, compiler.option_fields()))
    table = compat.stage_table(compiler.backend, options, compat.Language.TRITON)
    order = list(table)
    plist = passes.pass_list(recorded.passes)
    meta = recorded.metadata_json()
    stage_input = {"ttir": plist[0].ir}
    for stage in ("ttgir", "llir"):
        stage_input[stage] = recorded.levels[order[order.index(stage) - 1]]

    def triton_from(stage: str) -> float:
        """Triton's own stage functions from ``stage`` down, the first on its parsed input."""
        total, obj = 0.0, parse_mlir(compiler.backend, stage_input[stage], "<in>")
        metadata = compiler.initial_metadata(options, meta)
        for ext in order[order.index(stage):]:
            compat.prepare_stage(ext)
            ms, obj = timed(lambda: table[ext](obj, metadata))
            total += ms
        return total

    class _Cut(BaseException):
        pass

    def triton_up_to(stage: str, last: int) -> float:
        """Triton's own pass manager for ``stage``, its passes up to ``last`` only, as it builds
        them (one manager), on the stage's parsed input: the part of the stage before a restart."""
        obj, metadata, took = parse_mlir(compiler.backend, stage_input[stage], "<in>"), \
            compiler.initial_metadata(options, meta), []
        real = compat_passes.StagePassManager.run

        def run(self, mod, *run_args):
            pm = compat.ir.pass_manager(mod.context)
            for _call, add, add_args in self.calls[:last + 1]:
                add(pm, *add_args)
            took.append(timed(lambda: pm.run(mod, *run_args))[0])
            raise _Cut
        compat_passes.StagePassManager.run = run
        try:
            compat.prepare_stage(stage)
            with compat_passes.intercepted_passes(compiler.backend, compat_passes.PassHooks()):
                table[stage](obj, metadata)
        except _Cut:
            pass
        finally:
            compat_passes.StagePassManager.run = real
        return took[0]

    for target in RESTART_AFTER:
        name, _, stage = target.partition("@")
        p = next(q for q in plist if q.name == name and (not stage or q.stage == stage))
        base, ours, parse, own = [], [], [], []
        for i in range(args.repeat):
            # the stages after N: Triton's from N's stage down, less that stage's passes up to N,
            # both in Triton's one pass manager (the recording's per-pass times overstate them);
            # which side goes first alternates, so that an order effect is not taken for a cost
            def restart():
                ms, result = timed(lambda: Compiler(args.target).compile_level(
                    "", p.ir, meta, after_pass=(p.stage, p.index), with_sass=False))
                ours.append(ms)
                own.append(ms - sum(t.ms for t in result.stages))   # the parse and our own code
            if i % 2:
                restart()
            base.append(triton_from(p.stage) - triton_up_to(p.stage, p.index))
            parse.append(timed(lambda: parse_mlir(compiler.backend, p.ir, "<in>"))[0])
            if not i % 2:
                restart()
        from_text = [b + q for b, q in zip(base, parse)]
        failed |= paired(ours, from_text) > RESTART_LIMIT
        print(f"restart     after {p.file_name:<44} from its text {min(from_text):6.0f} ms (parsing its "
              f"{len(p.ir) >> 10} KB {min(parse):.0f} ms), restart {min(ours):6.0f} ms: {spread(ours, from_text)} "
              f"(limit {RESTART_LIMIT}x); against the stages after it alone: {spread(ours, base)}; outside "
              f"Triton's stages and parser {statistics.median(own) - statistics.median(parse):.1f} ms (median)")
    print("FAIL" if failed else "ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

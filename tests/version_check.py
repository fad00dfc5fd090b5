"""Run by tests/compiler/test_versions.py under another Triton (PYTHONPATH=<that wheel>:<repo>).

Captures bundled examples, compiles them from Python for sm_80 and sm_90, restarts from every
level file, breaks one file per level, maps every level back to Python, compiles a TTIR and a
TTGIR dump rewrite, and prints what happened as JSON on the last line. An example this Triton
cannot run (Gluon before 3.5, tensor descriptors before 3.4) is reported with the one-line
error it gave.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import triton  # noqa: E402

from workbench.compiler import compat, compat_interpreter  # noqa: E402
from workbench.instrument import dump_mlir
from workbench.model import srcmap
from workbench.runtime.capture.script import run_script  # noqa: E402
from workbench.model.diagnostics import WorkbenchError  # noqa: E402
from workbench.compiler.stages import Compiler  # noqa: E402

BREAKS = {"ttir": ("tt.load", "tt.lod"), "ttgir": ("arith.addf", "arith.addx"), "llir": ("ret void", "ret voi"),
          "ptx": ("add.f32", "add.f33")}


def main() -> None:
    report: dict = {"version": triton.__version__, "cases": {}}
    report["gluon_missing"] = compat.gluon_missing()
    report["interpreter_problem"] = compat_interpreter.interpreter_problem()
    report["interpreted"] = _interpreted_vector_add()
    report["inlined"] = _inlined_reduction_mapped()
    examples = ["vector_add", "matmul", "matmul_tma", "gluon_vector_add"]
    for name in examples:
        cap = run_script(ROOT / "examples" / f"{name}.py", mode="compile-only")
        if not cap.specs:
            report.setdefault("unsupported", {})[name] = str(cap.error)
            continue
        for spec in cap.specs:
            for arch in (80, 90):
                case: dict = {}
                full = Compiler(f"cuda:{arch}").compile_python(spec.fn, spec.signature, spec.raw_constexprs,
                                                               spec.raw_attrs, spec.options, with_sass=True)
                case["levels"] = sorted(full.levels)
                case["name"] = full.metadata.get("name")
                case["sass"] = "EXIT" in full.levels["sass"]
                smap = srcmap.build(full.levels, full.sass_lines, full.python, full.sass_ptx_lines)
                case["mapped"] = sorted(level for level, lines in smap.levels.items()
                                        if any(f == spec.file for locs in lines.values() for f, _ in locs))
                if name in ("vector_add", "matmul"):
                    for level in ("ttir", "ttgir"):
                        case[f"dump_{level}"] = _dump_compiles(Compiler(f"cuda:{arch}"), full, level)
                folder = Path(tempfile.mkdtemp())
                paths = full.write(folder, spec.kernel)
                meta = full.metadata_json()
                for level in ("ttir", "ttgir", "llir", "ptx", "cubin"):
                    if level in paths:
                        again = Compiler(f"cuda:{arch}").compile_file(paths[level], meta, with_sass=False)
                        case[f"from_{level}"] = again.levels["cubin"] == full.levels["cubin"]
                if name == "vector_add":
                    for level, (needle, repl) in BREAKS.items():
                        text = paths[level].read_text()
                        line = next(i for i, row in enumerate(text.splitlines(), 1) if needle in row)
                        paths[level].write_text(text.replace(needle, repl, 1))
                        try:
                            Compiler(f"cuda:{arch}").compile_file(paths[level], meta, with_sass=False)
                            case[f"broken_{level}"] = "compiled"
                        except WorkbenchError as e:
                            d = e.diagnostics[0]
                            case[f"broken_{level}"] = d.line == line and d.file == str(paths[level])
                report["cases"][f"{name}/{spec.spec_id}/sm{arch}"] = case
    print(json.dumps(report))


def _interpreted_vector_add() -> dict:
    """vector_add captured in Triton's interpreter: did the launch compute x + y, and what the
    capture's notes say."""
    cap = run_script(ROOT / "examples" / "vector_add.py", mode="interpret", snapshot_limit=1 << 30)
    snap = cap.snapshots[cap.specs[0].spec_id]
    after = snap.after
    return {"correct": bool((after["out_ptr"] == after["x_ptr"] + after["y_ptr"]).all()), "notes": cap.notes}


def _inlined_reduction_mapped() -> dict[str, bool]:
    """Per level: does the kernel's ``s = tl.sum(_sq(x), axis=0)`` line map to the reduction's shuffles
    (whose own lines are in Triton's standard.py)?"""
    spec = run_script(ROOT / "tests" / "data" / "helper_sum.py", mode="compile-only").specs[0]
    full = Compiler("cuda:90").compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                              spec.options, with_sass=True)
    smap = srcmap.build(full.levels, full.sass_lines, full.python, full.sass_ptx_lines)
    line = next(i for i, row in enumerate(Path(spec.file).read_text().splitlines(), 1) if "tl.sum(_sq(x)" in row)
    related = smap.related("python", line)
    needles = {"ttgir": "tt.reduce", "llir": "shfl.sync", "ptx": "shfl.sync", "sass": "SHFL"}
    return {level: any(needle in full.levels[level].splitlines()[n - 1] for n in related[level])
            for level, needle in needles.items()}


def _dump_compiles(compiler: Compiler, full, level: str) -> bool:
    """A dump of the program id and the first range (a tensor with a layout in TTGIR), written
    into ``level`` and compiled to a cubin."""
    text = full.levels[level]
    names = [next(r for r in text.splitlines() if f"= {op}" in r).split("=")[0].strip()
             for op in ("tt.get_program_id", "tt.make_range")]
    rewrite = dump_mlir.rewrite_mlir(text, level, names, pid=(0, 0, 0), iterations=2)
    return bool(compiler.compile_level(level, rewrite.text, full.metadata, with_sass=False).levels["cubin"])


if __name__ == "__main__":
    main()

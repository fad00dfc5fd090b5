"""Run by tests/compiler/test_versions_passes.py under another Triton (PYTHONPATH=<that wheel>:<repo>).

Records every pass of the matmul and attention examples for sm_80 and sm_90, restarts after
each one, edits the IR after a pass, breaks a pass file; prints what happened as JSON on the
last line.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import triton  # noqa: E402

from workbench.compiler import passes, recording  # noqa: E402
from workbench.runtime.capture.script import run_script  # noqa: E402
from workbench.model.diagnostics import WorkbenchError  # noqa: E402
from workbench.compiler.stages import Compiler  # noqa: E402


def main() -> None:
    report: dict = {"version": triton.__version__, "cases": {}}
    for name in ("matmul", "flash_attention"):
        spec = run_script(ROOT / "examples" / f"{name}.py", mode="compile-only").specs[0]
        for arch in (80, 90):
            compiler = Compiler(f"cuda:{arch}")
            args = (spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs, spec.options)
            plain = compiler.compile_python(*args, with_sass=False)
            rec = compiler.compile_python(*args, with_sass=False, record_passes=True)
            plist = passes.pass_list(rec.passes)
            meta = plain.metadata_json()
            # LLIR recorded by two children together, as on a machine of four cores or more
            one_child = recording.recording_children
            recording.recording_children = lambda stage: 2 if stage == "llir" else 1
            try:
                split = Compiler(f"cuda:{arch}").compile_python(*args, with_sass=False, record_passes=True)
            finally:
                recording.recording_children = one_child
            case: dict = {"stages": sorted(rec.passes), "passes": len(plist),
                          "names": [p.name for p in plist], "unreadable": [p.name for p in plist if not p.readable],
                          "same_levels": all(rec.levels[k] == plain.levels[k] for k in plain.levels),
                          "restarts_bad": [],
                          "split_same": passes.without_times(split.passes) == passes.without_times(rec.passes)}
            for p in plist:
                if not p.readable:
                    continue
                again = compiler.compile_level("", p.ir, meta, after_pass=(p.stage, p.index), with_sass=False)
                if again.levels["cubin"] != plain.levels["cubin"]:
                    case["restarts_bad"].append(p.file_name)
            if name == "matmul":
                # GROUP_M (8) made 7 after the coalescing pass: another constant in the PTX
                after = next(p for p in plist if p.name == "tritongpu-coalesce")
                assert "arith.constant 8 : i32" in after.ir
                edited = compiler.compile_level("", after.ir.replace("arith.constant 8 : i32", "arith.constant 7 : i32"),
                                                meta, after_pass=(after.stage, after.index), with_sass=False)
                case["edit_in_ptx"] = edited.levels["ptx"] != plain.levels["ptx"] and \
                    edited.levels["cubin"] != plain.levels["cubin"]
                folder = Path(tempfile.mkdtemp())
                files = passes.write_pass_files(plist, folder, spec.kernel, meta)
                path = next(f for f in files if f.name == after.file_name)
                text = path.read_text()
                line = next(i for i, row in enumerate(text.splitlines(), 1) if "arith.addi" in row)
                path.write_text(text.replace("arith.addi", "arith.addx", 1))
                head = passes.read_pass_header(path, path.read_text())
                try:
                    compiler.compile_level("", path.read_text(), meta, file=str(path),
                                           after_pass=(head.stage, head.index))
                    case["broken"] = "compiled"
                except WorkbenchError as e:
                    d = e.diagnostics[0]
                    case["broken"] = d.file == str(path) and d.line == line
            report["cases"][f"{name}/sm{arch}"] = case
    print(json.dumps(report))


if __name__ == "__main__":
    main()

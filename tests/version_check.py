"""Run by tests/test_versions.py under another Triton (PYTHONPATH=<that wheel>:<repo>).

Captures bundled examples, compiles them from Python for sm_80 and sm_90, restarts from every
level file, breaks one file per level, and prints what happened as JSON on the last line.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import triton  # noqa: E402

from workbench.core import compat  # noqa: E402
from workbench.core.capture import run_script  # noqa: E402
from workbench.core.errors import WorkbenchError  # noqa: E402
from workbench.core.pipeline import Compiler  # noqa: E402

BREAKS = {"ttir": ("tt.load", "tt.lod"), "ttgir": ("arith.addf", "arith.addx"), "llir": ("ret void", "ret voi"),
          "ptx": ("add.f32", "add.f33")}


def main() -> None:
    report: dict = {"version": triton.__version__, "cases": {}}
    examples = ["vector_add", "matmul", "matmul_tma"] + (["gluon_vector_add"] if compat.VERSION >= (3, 5) else [])
    for name in examples:
        cap = run_script(ROOT / "examples" / f"{name}.py", mode="compile-only")
        for spec in cap.specs:
            for arch in (80, 90):
                case: dict = {}
                full = Compiler(f"cuda:{arch}").compile_python(spec.fn, spec.signature, spec.raw_constexprs,
                                                               spec.raw_attrs, spec.options, with_sass=True)
                case["levels"] = sorted(full.levels)
                case["name"] = full.metadata.get("name")
                case["sass"] = "EXIT" in full.levels["sass"]
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


if __name__ == "__main__":
    main()

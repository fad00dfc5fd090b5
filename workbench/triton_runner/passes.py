"""triton-runner's ``start_pass=``: a level file that is the IR after that pass, compiled on from
the next one, as the workbench's restart after a pass (:mod:`workbench.compiler.passes`).

Their pass names are their pipeline's (``cse``, ``coalesce``, ``remove_layout_conversions_2``
for the second run of a pass, ``canonicalizer_tail``/``_final`` for the last two); ours are
the stage function's own calls (``passes.common.add_cse``), recorded for this kernel and these
arguments, so the name is looked up in the list Triton really runs. The text is written with
the header a workbench pass file has (``// workbench-after: stage=S index=N``), and the
launch compiles it like any level file.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from workbench.model.diagnostics import WorkbenchError

STAGE_OF_LEVEL = {"ttir": "ttir", "ttgir": "ttgir", "llir": "llir"}   # theirs: the stage the text is in
ALIASES = {"combine_ops": "combine", "convert_ttgpuir": "convert_to_ttgpuir",
           "allocate_shared_memory": "allocate_shared_memory_nv"}


class _Spec:
    def __init__(self, fn) -> None:
        self.fn, self.file, self.line = fn, None, None


def pass_index(passes: list[dict[str, Any]], name: str, stage: str, where: str) -> int:
    """The index in ``passes`` (a recorded stage) of their pass ``name``."""
    m = re.fullmatch(r"(\w+?)(?:_(\d+|tail|final))?", name)
    base, nth = m.group(1), m.group(2)
    base = ALIASES.get(base, base)
    calls = [p["index"] for p in passes if p["call"].rsplit(".", 1)[-1] == f"add_{base}"]
    if not calls:
        theirs = sorted({p["call"].rsplit(".add_", 1)[-1] for p in passes})
        raise WorkbenchError.at(where, f"start_pass={name!r}: no such pass in the {stage.upper()} stage Triton runs "
                                       f"for this kernel; its passes: {', '.join(theirs)}")
    if nth is None:
        return calls[0]
    at = {"final": len(calls) - 1, "tail": len(calls) - 2}.get(nth, int(nth) - 1 if nth.isdigit() else 0)
    if not 0 <= at < len(calls):
        raise WorkbenchError.at(where, f"start_pass={name!r}: {base} runs {len(calls)} time(s) in the "
                                       f"{stage.upper()} stage")
    return calls[at]


def restart_folder(fn, start_pass: str, args: tuple, kwargs: dict[str, Any], grid, where: str) -> dict[str, Any]:
    """``kwargs`` with its ``<level>_dir=`` replaced by a folder holding the level file marked
    to restart after ``start_pass``."""
    from workbench.api import LEVEL_KWARGS, shared_compiler
    from workbench.runtime.launch import specialization_of
    chosen = [k for k in LEVEL_KWARGS if k in kwargs and LEVEL_KWARGS[k] in STAGE_OF_LEVEL]
    if not chosen:
        raise WorkbenchError.at(where, "start_pass= goes with a TTIR, TTGIR or LLIR level (ttir_src=, ttgir_dir=, "
                                       "...): the text after that pass")
    level = LEVEL_KWARGS[chosen[0]]
    rest = {k: v for k, v in kwargs.items() if k != chosen[0]}
    level, path = fn._level_file(level, Path(kwargs[chosen[0]]))
    stage = STAGE_OF_LEVEL[level]
    spec = specialization_of(_Spec(fn), args, rest, grid)
    recorded = shared_compiler().compile_spec(spec, with_sass=False, record_passes=(stage,))
    index = pass_index(recorded.passes[stage]["passes"], str(start_pass), stage, where)
    text = path.read_text()
    from workbench.compiler.cache import default_dir
    from workbench.compiler.passes import HEADER
    from workbench.model.level_files import SUFFIX
    key = hashlib.sha256(f"{stage}\0{index}\0{text}".encode()).hexdigest()[:16]
    root = default_dir() or Path(os.environ.get("TMPDIR", "/tmp")) / "workbench-cache"
    folder = Path(root) / "triton_runner_src" / f"{fn.__name__}-after-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    # an LLIR-stage text is MLIR still: the TTGIR level reads it
    (folder / f"{fn.__name__}{SUFFIX['ttir' if stage == 'ttir' else 'ttgir']}").write_text(
        f"{HEADER} stage={stage} index={index}\n{text}")
    beside = path.with_suffix(".json")
    if beside.is_file():
        (folder / f"{fn.__name__}.json").write_text(beside.read_text())
    return {**rest, ("ttir_dir" if stage == "ttir" else "ttgir_dir"): folder}

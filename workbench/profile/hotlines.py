"""ncu's per-instruction counters folded onto the lines of every level.

ncu gives the SASS it profiled, at absolute addresses; ``--print-source sass,ptx`` is refused,
so the correlation to the levels above is the workbench's own: an instruction's offset from
the kernel's first one is the ``/*0000*/`` offset nvdisasm prints for the version's cubin (the
opcodes are checked to agree), that SASS line's Python line comes from nvdisasm's line info,
and every line of TTIR, TTGIR, LLIR and PTX from that Python line (:mod:`workbench.model.srcmap`)
gets its counters (the Python level too when the version started from an IR level and has no
Python text of its own: its locations still name the script's lines). A Python line's counters are the sum over its instructions, so all the
lines of a level that come from one Python line show that line's total.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from workbench.compiler.sass import sass_offsets
from workbench.profile.ncu import Instruction
from workbench.model.srcmap import SourceMap

COUNTERS = ("samples", "executed")


@dataclass
class HotLines:
    # level -> {1-based line: {"samples": n, "executed": n}}
    levels: dict[str, dict[int, dict[str, int]]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    matched: int = 0       # instructions whose offset and opcode agree with the version's SASS
    instructions: int = 0
    note: str = ""         # why the levels above SASS were left out, if they were

    def top(self, level: str, counter: str = "samples", n: int = 5) -> list[tuple[int, int, float]]:
        """The hottest lines of ``level``: (line, count, share of the kernel's total)."""
        total = self.totals.get(counter) or 0
        rows = sorted(((line, c[counter]) for line, c in self.levels.get(level, {}).items() if c[counter]),
                      key=lambda r: (-r[1], r[0]))
        return [(line, count, count / total if total else 0.0) for line, count in rows[:n]]

    def to_json(self) -> dict:
        return {"levels": {lv: {str(n): c for n, c in lines.items()} for lv, lines in self.levels.items()},
                "totals": self.totals, "matched": self.matched, "instructions": self.instructions,
                "note": self.note}


def _opcode(text: str) -> str:
    words = text.split()
    return " ".join(words[:2]) if words and words[0].startswith("@") else (words[0] if words else "")


def fold(instructions: list[Instruction], sass_text: str, smap: SourceMap) -> HotLines:
    hot = HotLines(instructions=len(instructions))
    offsets = sass_offsets(sass_text)
    sass: dict[int, dict[str, int]] = {}
    for ins in instructions:
        found = offsets.get(ins.offset)
        if found is None or _opcode(found[1]) != _opcode(ins.text):
            continue
        hot.matched += 1
        c = sass.setdefault(found[0], {k: 0 for k in COUNTERS})
        c["samples"] += ins.samples
        c["executed"] += ins.executed
    hot.totals = {"samples": sum(i.samples for i in instructions), "executed": sum(i.executed for i in instructions)}
    if hot.matched != hot.instructions:
        hot.note = (f"the profiled SASS differs from this version's at {hot.instructions - hot.matched} of "
                    f"{hot.instructions} instructions: no line of any level gets its counters")
        return hot
    hot.levels["sass"] = sass
    by_python: dict[tuple[str, int], dict[str, int]] = {}
    for line, c in sass.items():
        for loc in smap.python_lines("sass", line)[:1]:
            key = (os.path.normpath(loc[0]), loc[1])
            acc = by_python.setdefault(key, {k: 0 for k in COUNTERS})
            for k in COUNTERS:
                acc[k] += c[k]
    hot.levels["python"] = _python_lines(by_python, smap)
    for level, lines in smap.levels.items():
        if level in ("sass", "python"):
            continue
        out: dict[int, dict[str, int]] = {}
        for line, locs in lines.items():
            keys = {(os.path.normpath(f), ln) for f, ln in locs} & by_python.keys()
            if keys:
                out[line] = {k: sum(by_python[p][k] for p in keys) for k in COUNTERS}
        hot.levels[level] = out
    return hot


def _python_lines(by_python: dict[tuple[str, int], dict[str, int]], smap: SourceMap) -> dict[int, dict[str, int]]:
    """The script's lines: the kernel's file (from the source map's Python level; a version
    started from an IR level has none, so the file most instructions come from)."""
    files = {os.path.normpath(f) for locs in smap.levels.get("python", {}).values() for f, _ in locs}
    if not files and by_python:
        weight: dict[str, int] = {}
        for (f, _), c in by_python.items():
            weight[f] = weight.get(f, 0) + c["executed"]
        files = {max(weight, key=weight.get)}
    return {line: dict(c) for (f, line), c in by_python.items() if f in files}

"""The same kernel under two Triton releases: every level, the pass pipelines, the resources.

Each release runs in its own runner (``workbench compare``): each opens the script into a
workspace of its own and records every pass (``Session.passes``, the files ``workbench passes``
writes). What is compared here is what they left on disk and in their answers, as text: this
module imports neither torch nor triton, so the app may use it too.

Two releases name SSA values differently (3.6 after the Python variables, 3.4 by number), and
every location moves with them: the IR is compared with locations and debug records left out
and every value, register and label anonymous (:func:`normalize`).
"""

from __future__ import annotations

import difflib
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.compiler.sass import sass_offsets
from workbench.compiler.passes import line_delta
from workbench.model import srcmap

LEVELS = ("ttir", "ttgir", "llir", "ptx", "sass")
TITLES = {"ttir": "TTIR", "ttgir": "TTGIR", "llir": "LLIR", "ptx": "PTX", "sass": "SASS"}
SUFFIX = {"ttir": ".ttir", "ttgir": ".ttgir", "llir": ".llir", "ptx": ".ptx", "sass": ".sass"}

# -- normalizing -------------------------------------------------------------------------------

_SIMPLE_LOC = re.compile(r"\s*\bloc\((?:#loc\d*|unknown)\)")
# values, registers and labels, each replaced by its kind: (pattern, replacement) per level
_ANONYMOUS = {
    "mlir": [(re.compile(r"%[\w.$-]+"), "%_"), (re.compile(r"\^bb\d+"), "^bb_")],
    "llir": [(re.compile(r"^(\d+):"), "%_:"), (re.compile(r'%[\w.$-]+|%"[^"]*"'), "%_")],
    "ptx": [(re.compile(r"%([a-z]+)\d+\b"), r"%\1_"), (re.compile(r"\$L__([A-Za-z]+)[\d_]*"), r"$L__\1_")],
    "sass": [(re.compile(r"\b(U?R|U?P)\d+\b"), r"\1_"), (re.compile(r"\.L_x_\d+"), ".L_x_")],
}
_LLVM_DBG = re.compile(r",?\s*!(?:dbg|annotation)\s+!\d+")
_PTX_DEBUG_LABEL = re.compile(r"^\$L__(?:tmp|func_begin|func_end)\d+:$")
_SCHEDULED = re.compile(r"tt\.scheduled_max_stage\s*=\s*(\d+)")


def strip_locs(row: str) -> str:
    """The row with every ``loc(...)`` left out, nested ones (``loc(callsite(...))``) included."""
    row = _SIMPLE_LOC.sub("", row)
    at = row.find("loc(")
    while at >= 0:
        if at > 0 and (row[at - 1].isalnum() or row[at - 1] in "_.#"):   # part of a longer name
            at = row.find("loc(", at + 4)
            continue
        depth, quoted, k = 0, False, at + 3
        while k < len(row):
            c = row[k]
            if quoted:
                if c == "\\":
                    k += 1
                elif c == '"':
                    quoted = False
            elif c == '"':
                quoted = True
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        row = row[:at].rstrip() + row[k + 1:]
        at = row.find("loc(", at)
    return row


def anonymous(row: str, level: str) -> str:
    for pattern, repl in _ANONYMOUS.get(level, _ANONYMOUS["mlir"]):
        row = pattern.sub(repl, row)
    return row


def normalize(text: str, level: str) -> list[tuple[int, str]]:
    """(line number, the line as compared) for the lines that say something: locations, debug
    records and comments left out, and every value, register and label anonymous (``%_``,
    ``%rd_``, ``R_``): a line is compared by its op, types and constants, so one value more
    early on does not renumber all that follows. What feeds what is not compared."""
    out: list[tuple[int, str]] = []
    if level == "sass":
        return [(line, anonymous(instruction, "sass"))
                for line, instruction in sorted(sass_offsets(text).values())]
    for n, row in enumerate(text.splitlines(), 1):
        s = row.strip()
        if not s or s.startswith("// workbench"):
            continue
        if level == "llir":
            if s.startswith(("!", ";", "source_filename", "attributes #", "#dbg_")):
                continue
            row = _LLVM_DBG.sub("", row.split(" ; ")[0].split("; preds")[0])
        elif level == "ptx":
            if s.startswith(".section") and ".debug" in s:
                break   # the DWARF sections, to the end
            if s.startswith((".loc", ".file", "//")) or _PTX_DEBUG_LABEL.match(s):
                continue
            row = row.split("//")[0]
        else:
            if s.startswith(("#loc", "#di_", "#llvm.di_")):   # locations and the debug info made of them
                continue
            row = strip_locs(row)
        row = anonymous(row.strip(), level if level in ("llir", "ptx") else "mlir")
        if row:
            out.append((n, row))
    return out


def _lines(norm: list[tuple[int, str]]) -> list[str]:
    return [row for _, row in norm]


# -- levels --------------------------------------------------------------------------------------

def level_diff(a: str, b: str, level: str) -> dict[str, Any]:
    """How two texts of a level differ, SSA names and locations aside: lines added and removed
    (as a multiset: fast on 10k-line modules; a moved line counts twice)."""
    la, lb = _lines(normalize(a, level)), _lines(normalize(b, level))
    added, removed = line_delta("\n".join(la), "\n".join(lb))
    return {"level": level, "lines": [len(la), len(lb)], "added": added, "removed": removed, "same": la == lb}


def side_by_side(a: str, b: str, level: str, width: int = 160, context: int = 1,
                 limit: int | None = 40, python: PythonLines | None = None) -> list[str]:
    """The rows of ``a`` and ``b`` that differ (SSA names and locations aside), side by side as
    ``diff -y`` prints them: `` | `` changed, `` < `` only in A, `` > `` only in B, with each
    side's line number and its text less locations; ``limit`` rows at most. With ``python``
    (each side's lines by the kernel's Python line), each hunk starts with ``@@`` rows naming the
    Python lines its differing lines come from."""
    na, nb = normalize(a, level), normalize(b, level)
    ta, tb = a.splitlines(), b.splitlines()
    col = max(20, (width - 3) // 2)

    def cell(norm: list[tuple[int, str]], text: list[str], i: int | None) -> str:
        if i is None:
            return " " * col
        line = norm[i][0]
        shown = strip_locs(text[line - 1]).strip() if level != "sass" else norm[i][1]
        return f"{line:>5} {shown}"[:col].ljust(col)

    rows: list[str] = []
    matcher = difflib.SequenceMatcher(None, _lines(na), _lines(nb), autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if rows:
            rows.append("...".center(width).rstrip())
        if python is not None:
            rows += python.hunk([na[i][0] for tag, i1, i2, _, _ in group if tag != "equal" for i in range(i1, i2)],
                                [nb[j][0] for tag, _, _, j1, j2 in group if tag != "equal" for j in range(j1, j2)],
                                width)
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [f"{cell(na, ta, i)}   {cell(nb, tb, j)}".rstrip() for i, j in zip(range(i1, i2), range(j1, j2))]
                continue
            span = max(i2 - i1, j2 - j1)
            for k in range(span):
                i = i1 + k if i1 + k < i2 else None
                j = j1 + k if j1 + k < j2 else None
                mark = " | " if i is not None and j is not None else (" < " if j is None else " > ")
                rows.append(f"{cell(na, ta, i)}{mark}{cell(nb, tb, j)}".rstrip())
    if limit is not None and len(rows) > limit:
        rows = rows[:limit] + [f"... {len(rows) - limit} more rows"]
    return rows


# -- lines through the Python source ------------------------------------------------------------

def by_python(lines: dict[int, list[srcmap.PyLoc]], name: str) -> dict[int, list[int]]:
    """A level's lines by the line of the kernel's file (``name``) they come from: a line inlined
    from a helper or Triton's library counts for the kernel's line that called it."""
    out: dict[int, list[int]] = defaultdict(list)
    for n, locs in lines.items():
        for line in {ln for f, ln in locs if os.path.basename(f) == name}:
            out[line].append(n)
    return {line: sorted(ns) for line, ns in sorted(out.items())}


@dataclass
class PythonLines:
    """Each side's lines of one text (a level, or the IR after a pass) by the kernel's Python line."""

    a: dict[int, list[int]]
    b: dict[int, list[int]]
    source: dict[int, str]    # the kernel's Python lines, by number

    def of(self, side: int, line: int) -> list[int]:
        """The Python lines one side's line comes from."""
        return sorted(py for py, ns in (self.a, self.b)[side].items() if line in ns)

    def table(self) -> list[dict[str, Any]]:
        """Per Python line with lines on either side: its number, its text and each side's lines."""
        return [{"python": py, "source": self.source.get(py, ""), "a": srcmap.spans(self.a.get(py, [])),
                 "b": srcmap.spans(self.b.get(py, []))} for py in sorted({*self.a, *self.b})]

    def hunk(self, a_lines: list[int], b_lines: list[int], width: int, most: int = 3) -> list[str]:
        """``@@`` rows: the Python lines a hunk's differing lines come from (``most`` at most)."""
        found = sorted({*(py for n in a_lines for py in self.of(0, n)), *(py for n in b_lines for py in self.of(1, n))})
        if not found:
            return ["@@ from no Python line"]
        rows = [f"@@ Python {py}: {self.source.get(py, '')}"[:width].rstrip() for py in found[:most]]
        return rows + ([f"@@ and {len(found) - most} more Python lines: {srcmap.spans(found[most:])}"]
                       if len(found) > most else [])


def kernel_source(smap: dict[str, Any]) -> tuple[str, dict[int, str]] | None:
    """The kernel's Python file (its name) and its lines, from a side's source map (its ``python``
    level: the kernel's first to last line); None where the file cannot be read."""
    python = {int(n): locs[0] for n, locs in (smap.get("python") or {}).items() if locs}
    if not python:
        return None
    path = Path(next(iter(python.values()))[0])
    try:
        text = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return path.name, {n: text[n - 1].strip() for n in python if 0 < n <= len(text)}


def level_lines(smap: dict[str, Any], level: str) -> dict[int, list[srcmap.PyLoc]]:
    """One level of a side's source map (JSON, from its runner) with its line numbers as ints."""
    return {int(n): [(f, ln) for f, ln in locs] for n, locs in (smap.get(level) or {}).items()}


# -- resources -----------------------------------------------------------------------------------

MEMORY_OPS = frozenset({"LD", "ST", "LDG", "STG", "LDS", "STS", "LDL", "STL", "LDSM", "STSM", "LDGSTS", "ATOM",
                        "ATOMS", "ATOMG", "RED", "REDG", "REDS", "UTMALDG", "UTMASTG", "UTMAREDG", "UTMAPF",
                        "UBLKCP", "UBLKRED", "UBLKPF", "LDTM", "STTM", "CCTL"})


def sass_class(opcode: str) -> str:
    """memory (global, shared, local, TMA), tensor (any MMA) or fma (FFMA, HFMA2, DFMA...), else other."""
    base = opcode.split(".")[0]
    if "MMA" in base:
        return "tensor"
    if base in MEMORY_OPS:
        return "memory"
    if base.endswith(("FMA", "FMA2")):
        return "fma"
    return "other"


def sass_counts(sass: str) -> dict[str, int]:
    counts: Counter = Counter()
    for _, text in sass_offsets(sass).values():
        words = [w for w in text.split() if not w.startswith("@")]
        if words:
            counts[sass_class(words[0])] += 1
    return {"sass_memory": counts["memory"], "sass_tensor": counts["tensor"], "sass_fma": counts["fma"],
            "sass_total": sum(counts.values())}


def pipeline_stages(ttgir_passes: list[str]) -> int | None:
    """The software pipeliner's stages: 1 + the largest ``tt.scheduled_max_stage`` the loop
    scheduler left in the IR (None: no loop was scheduled)."""
    found = [int(m) for text in ttgir_passes for m in _SCHEDULED.findall(text)]
    return max(found) + 1 if found else None


RESOURCES = (("num_warps", "num_warps"), ("num_stages", "num_stages (option)"),
             ("pipeline_stages", "pipeliner stages"), ("registers", "registers"),
             ("spills", "spill bytes (st+ld)"), ("local", "local memory bytes"), ("shared", "shared memory bytes"),
             ("sass_memory", "SASS memory instrs"), ("sass_tensor", "SASS tensor core instrs"),
             ("sass_fma", "SASS FMA instrs"), ("sass_total", "SASS instrs"))


def resources(summary: dict[str, Any], sass: str, ttgir_passes: list[str]) -> dict[str, int | None]:
    """What a compile costs: from the compile's summary (ptxas's report from 3.5 on, cuobjdump's
    before: 3.4 gives local memory, not spills), the SASS and the pipeliner's schedule."""
    spills = summary["spill_stores"] + summary["spill_loads"] if "spill_stores" in summary else None
    return {"num_warps": summary.get("num_warps"), "num_stages": summary.get("num_stages"),
            "pipeline_stages": pipeline_stages(ttgir_passes), "registers": summary.get("registers"),
            "spills": spills, "local": summary.get("local"), "shared": summary.get("shared"),
            **(sass_counts(sass) if sass else {})}


# -- passes --------------------------------------------------------------------------------------

@dataclass
class PassRow:
    """One pass of one release, as its ``passes`` answer lists it, with the file of its IR."""

    number: int
    stage: str
    name: str
    changed: bool | None    # None: not kept (this Triton cannot print the IR after it)
    file: Path | None

    def text(self) -> str:
        return self.file.read_text() if self.file is not None else ""


def pass_rows(answer: dict[str, Any]) -> list[PassRow]:
    """A runner's ``passes`` answer as rows with their files (``workbench passes``'s folder)."""
    folder = Path(answer["folder"])
    return [PassRow(r["number"], r["stage"], r["pass"], r["changed"], folder / r["file"] if r.get("file") else None)
            for r in answer["passes"]]


def align(a: list[PassRow], b: list[PassRow]) -> list[tuple[PassRow | None, PassRow | None]]:
    """The two pipelines stage by stage, paired by pass name in order (difflib's longest matching
    runs); a pass one release runs and the other does not (or not there) is a row of its own."""
    rows: list[tuple[PassRow | None, PassRow | None]] = []
    stages = list(dict.fromkeys([p.stage for p in a] + [p.stage for p in b]))
    for stage in stages:
        sa, sb = [p for p in a if p.stage == stage], [p for p in b if p.stage == stage]
        matcher = difflib.SequenceMatcher(None, [p.name for p in sa], [p.name for p in sb], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                rows += list(zip(sa[i1:i2], sb[j1:j2]))
            else:
                rows += [(p, None) for p in sa[i1:i2]] + [(None, p) for p in sb[j1:j2]]
    return rows


def compare_passes(a: list[PassRow], b: list[PassRow], labels: tuple[str, str]) -> dict[str, Any]:
    """The aligned pipelines, each row with whether the IR after it differs between the releases
    (a release that does not run the pass keeps its IR from before); the rows where the two
    compiles part (the IR differs after it and did not before: two releases' front ends often
    differ a little, later passes make them the same, and a pass parts them again), the first of
    them ``first_differs``. A pass only one release runs is ``only A``, or ``moved`` where the
    other runs it elsewhere (another place or stage)."""
    pairs = align(a, b)
    unmatched = [Counter(p.name for p, q in pairs if p is not None and q is None),
                 Counter(q.name for p, q in pairs if q is not None and p is None)]
    cur: list[list[str] | None] = [None, None]
    texts: list[str] = ["", ""]
    rows: list[dict[str, Any]] = []
    parts: list[int] = []   # the rows after which the IR differs where it did not before
    for pa, pb in pairs:
        for side, p in enumerate((pa, pb)):
            if p is not None and p.file is not None and (p.changed or cur[side] is None):
                texts[side] = p.text()
                cur[side] = _lines(normalize(texts[side], pass_level(p.stage)))
        one = pa if pb is None else pb if pa is None else None
        if one is None:
            status = "both"
        else:
            side = 0 if pb is None else 1
            status = "moved" if unmatched[1 - side][one.name] else f"only {labels[side]}"
        if cur[0] is None or cur[1] is None:
            differs, added, removed = None, 0, 0
        else:
            added, removed = line_delta("\n".join(cur[0]), "\n".join(cur[1]))
            differs = cur[0] != cur[1]
        p = pa or pb
        row = {"stage": p.stage, "pass": p.name, "a": pa.number if pa else None, "b": pb.number if pb else None,
               "status": status, "changed": [pa.changed if pa else None, pb.changed if pb else None],
               "differs": differs, "added": added, "removed": removed,
               "files": [str(pa.file) if pa and pa.file else None, str(pb.file) if pb and pb.file else None]}
        if differs and not (rows and rows[-1]["differs"]):
            parts.append(len(rows))
        rows.append(row)
    only = [sum(r["status"] == f"only {label}" for r in rows) for label in labels]
    return {"rows": rows, "first_differs": parts[0] if parts else None, "parts": parts, "only": only,
            "moved": sum(r["status"] == "moved" for r in rows)}


def pass_level(stage: str) -> str:
    return "ttir" if stage == "ttir" else "ttgir"   # MLIR either way; LLIR's passes too


def _parted(rows: list[dict[str, Any]], at: int, a: KernelSide, b: KernelSide,
            source: tuple[str, dict[int, str]] | None) -> dict[str, Any]:
    """A row where the compiles part, with the IR after it on both sides (a release that did not
    run the pass: its IR as it stood), and that IR's lines by the kernel's Python line: ``lines``,
    a table, and ``python``, for its diff."""
    row = rows[at]
    number = []
    for side in ("a", "b"):
        ran = [r[side] for r in rows[:at + 1] if r[side] is not None]
        number.append(ran[-1] if ran else 0)
    ir = [text_after(a.passes, number[0]), text_after(b.passes, number[1])]
    python = None if source is None else \
        PythonLines(*(by_python(srcmap.mlir_map(text), source[0]) for text in ir), source[1])
    return {**row, "ir": ir, "python": python, "lines": python.table() if python else []}


def text_after(rows: list[PassRow], number: int) -> str:
    """The IR after pass ``number``, or after the last one before it that this Triton could print."""
    for p in reversed([p for p in rows if p.number <= number]):
        if p.file is not None:
            return p.text()
    return ""


# -- one kernel under both -----------------------------------------------------------------------

@dataclass
class KernelSide:
    """One specialization as one release compiled it: the ``open`` answer's entry and its passes."""

    entry: dict[str, Any]
    passes: list[PassRow] = field(default_factory=list)
    error: str | None = None    # this release could not compile it (or record its passes): one line

    @property
    def kernel(self) -> str:
        return self.entry["spec"]["kernel"]

    def level(self, level: str) -> str:
        path = self.entry.get("files", {}).get(level)
        return Path(path).read_text() if path and Path(path).is_file() else ""

    def python_lines(self, level: str, name: str) -> dict[int, list[int]]:
        """This level's lines by the line of the kernel's file ``name`` they come from."""
        return by_python(level_lines(self.entry.get("srcmap") or {}, level), name)

    def resources(self) -> dict[str, int | None]:
        ttgir = [p.text() for p in self.passes if p.stage == "ttgir" and p.changed]
        return resources(self.entry.get("result", {}), self.level("sass"), ttgir)


def pair(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[tuple[dict | None, dict | None]]:
    """The specializations of the two opens, paired by kernel name and order of first launch
    (their spec ids differ: each release hashes its own specialization)."""
    def keyed(entries):
        seen: Counter = Counter()
        out = {}
        for e in entries:
            name = e["spec"]["kernel"]
            out[(name, seen[name])] = e
            seen[name] += 1
        return out
    ka, kb = keyed(a), keyed(b)
    return [(ka.get(k), kb.get(k)) for k in list(dict.fromkeys([*ka, *kb]))]


def compare_kernel(a: KernelSide, b: KernelSide, labels: tuple[str, str]) -> dict[str, Any]:
    """Resources, every level and the pass pipelines of one specialization under two releases."""
    ra, rb = a.resources(), b.resources()
    res = {key: {"a": ra.get(key), "b": rb.get(key),
                 "change": rb[key] - ra[key] if isinstance(ra.get(key), int) and isinstance(rb.get(key), int) else None}
           for key, _ in RESOURCES if ra.get(key) is not None or rb.get(key) is not None}
    levels = {level: level_diff(a.level(level), b.level(level), level) for level in LEVELS}
    passes = compare_passes(a.passes, b.passes, labels)
    source = kernel_source(a.entry.get("srcmap") or {})
    passes["parted"] = [_parted(passes["rows"], at, a, b, source) for at in passes["parts"]]
    first = passes["first_differs"]
    differs = any(not d["same"] for d in levels.values()) or first is not None or \
        any(r["change"] for r in res.values())
    return {"kernel": a.kernel, "spec": [a.entry["spec"]["spec_id"], b.entry["spec"]["spec_id"]],
            "resources": res, "levels": levels, "passes": passes, "differs": differs,
            "lines": line_table(a, b, source)}


def level_python(a: KernelSide, b: KernelSide, level: str,
                 source: tuple[str, dict[int, str]] | None) -> PythonLines | None:
    """Each side's lines of a level by the kernel's Python line (None: no kernel source)."""
    if source is None:
        return None
    return PythonLines(a.python_lines(level, source[0]), b.python_lines(level, source[0]), source[1])


def line_table(a: KernelSide, b: KernelSide, source: tuple[str, dict[int, str]] | None) -> dict[str, Any]:
    """Per Python line of the kernel, the lines of each level on each side that come from it
    (``40-42,45``): the two sides mapped line to line through the source."""
    if source is None:
        return {"file": None, "rows": []}
    rows: dict[int, dict[str, Any]] = {}
    for level in LEVELS:
        for r in level_python(a, b, level, source).table():
            rows.setdefault(r["python"], {"python": r["python"], "source": r["source"]})[level] = [r["a"], r["b"]]
    return {"file": source[0], "rows": [rows[n] for n in sorted(rows)]}

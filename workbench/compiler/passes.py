"""The IR after every pass of the MLIR stages (TTIR, TTGIR, TTGIR -> LLIR), and restarts after any one.

Most performance questions are "which pass did this": between two levels Triton runs dozens
of passes. The passes are the stage functions' own (``compat_passes.intercepted_passes`` runs each
in a pass manager of its own and reads the module in between), so the list is the one this
Triton builds for these options and this target. A recording is cached with its stage
(``Compiler(...).compile_python(..., record_passes=True)``), and a restart is a level compile
that starts part way through a stage (``compile_level(..., after_pass=(stage, index))``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from workbench.model.diagnostics import WorkbenchError
from workbench.compiler.files import safe_name

HEADER = "// workbench-after:"
_HEADER = re.compile(r"^// workbench-after: stage=(?P<stage>\w+) index=(?P<index>-?\d+)(?: metadata=(?P<meta>\S+))?\s*$")
_PASS_FILE = re.compile(r"^\d{2,}-\w+-.*\.mlir$")


class StageRecorder:
    """Keeps the module's text after each pass of one stage (``compat_passes.PassHooks.after``), or
    with ``keep_ir`` False only the passes' names and times (printing costs about what a pass does).

    ``claim(index)``: whether this process prints the module after that pass, where several
    processes record the stage at once (:class:`PassClaims`); a pass printed elsewhere is
    listed without its text, and :func:`join_parts` puts the parts together."""

    def __init__(self, stage: str, module: Any, skip: int, keep_ir: bool = True, text: str | None = None,
                 claim: Callable[[int], bool] | None = None) -> None:
        """``text``: the module's text where it is known already (the stage above printed it)."""
        self.stage, self.skip, self.keep_ir, self.claim = stage, skip, keep_ir, claim
        self.input = self._last = text if text is not None else str(module)
        self.passes: list[dict[str, Any]] = []
        self._printed_last = True
        self.elsewhere: set[int] = set()   # positions in ``passes`` printed by another process
        self.whole: set[int] = set()       # kept though perhaps unchanged: the pass before was printed elsewhere

    def text_after(self) -> str | None:
        """The module's text after the stage's last pass, where it was printed (so not twice)."""
        return self._last if self._printed_last else None

    def __call__(self, index: int, name: str, call: str, ms: float, module: Any) -> None:
        from workbench.compiler import compat_passes
        self._printed_last = self.keep_ir and compat_passes.printable_after(name)
        if self._printed_last and self.claim is not None and not self.claim(index):
            self.elsewhere.add(len(self.passes))
            self.passes.append({"index": index, "name": name, "call": call, "ms": ms, "ir": None})
            self._printed_last, self._last = False, None
            return
        if not self._printed_last:
            self.passes.append({"index": index, "name": name, "call": call, "ms": ms, "ir": None,
                                "kept": False, "printable": compat_passes.printable_after(name)})
            return
        text = str(module)
        if self._last is None:
            self.whole.add(len(self.passes))
        changed = text != self._last
        # an unchanged pass stores no text: it is the one before it
        self.passes.append({"index": index, "name": name, "call": call, "ms": ms, "ir": text if changed else None})
        self._last = text

    def data(self) -> dict[str, Any]:
        return {"stage": self.stage, "skip": self.skip, "input": self.input, "passes": self.passes}

    def to_json(self) -> str:
        return json.dumps(self.data())

    def part(self) -> dict[str, Any]:
        """What :func:`join_parts` takes: the recording, which passes were printed elsewhere and
        which are kept whole, and each pass already in JSON (made where the recording was)."""
        return {"data": self.data(), "elsewhere": self.elsewhere, "whole": self.whole,
                "pieces": [json.dumps(p) for p in self.passes]}


class PassClaims:
    """Which of the processes recording one stage together prints the module after each pass:
    the first to get there. Made before they are forked (shared memory); each marks a pass
    before it prints it, and leaves one marked by another. Two that get there at once may both
    print it (the same text, once too often); a pass nobody printed cannot happen."""

    def __init__(self, passes: int = 4096) -> None:
        import mmap
        self._marks = mmap.mmap(-1, passes)

    def claim(self, index: int, me: int) -> bool:
        """Whether process ``me`` (1, 2, ...) prints the module after pass ``index``."""
        if index >= len(self._marks):
            return me == 1
        if self._marks[index] not in (0, me):
            return False
        self._marks[index] = me
        return True

    def close(self) -> None:
        self._marks.close()


def join_parts(parts: list[dict[str, Any]]) -> tuple[dict[str, Any], str | None, str]:
    """One stage's recording from the parts that processes recording it together made
    (:meth:`StageRecorder.part`): (the recording, the module's text after its last pass where
    it was printed, the recording's JSON). A pass stored whole is dropped where it equals the
    pass before it, as one process recording alone would have. ValueError: parts that do not fit."""
    first = parts[0]["data"]
    count = len(first["passes"])
    if any(len(p["data"]["passes"]) != count or p["data"]["input"] != first["input"] for p in parts):
        raise ValueError("the processes recording a stage ran different passes")
    out, pieces, text, last = [], [], first["input"], first["input"]
    for i in range(count):
        part = next((p for p in parts if i not in p["elsewhere"]), None)
        if part is None:
            raise ValueError(f"no process printed the module after pass {i}")
        entry, piece = part["data"]["passes"][i], part["pieces"][i]
        if i in part["whole"] and entry["ir"] == text:
            entry = {**entry, "ir": None}
            piece = json.dumps(entry)
        if entry.get("kept") is False:
            last = None
        else:
            text = last = entry["ir"] if entry["ir"] is not None else text
        out.append(entry)
        pieces.append(piece)
    data = {**first, "passes": out}
    head = json.dumps({k: v for k, v in first.items() if k != "passes"})
    return data, last, f'{head[:-1]}, "passes": [{", ".join(pieces)}]}}'


@dataclass
class PassIR:
    """One pass: ``number`` counts across the stages (0 is the first stage's input)."""

    number: int
    stage: str
    index: int  # within its stage, -1 for the stage's input
    name: str   # the MLIR pass, e.g. tritongpu-coalesce
    call: str   # the backend's call that added it, e.g. passes.ttgpuir.add_coalesce
    changed: bool
    ms: float
    ir: str     # "" where it was not kept (``readable`` False: its stage was not asked for, or
    readable: bool = True  # this Triton cannot print it)
    before: str = ""       # the IR it was given

    @property
    def file_name(self) -> str:
        return f"{self.number:02d}-{self.stage}-{safe_name(self.name)}.mlir"

    def summary(self) -> dict[str, Any]:
        added, removed = line_delta(self.before, self.ir) \
            if self.changed and self.readable else (0, 0)
        return {"number": self.number, "stage": self.stage, "index": self.index, "pass": self.name,
                "call": self.call, "changed": self.changed if self.readable else None, "added": added,
                "removed": removed, "ms": round(self.ms, 3), "file": self.file_name if self.readable else None}


def pass_list(recorded: dict[str, dict[str, Any]]) -> list[PassIR]:
    """A compile's recorded stages (``CompileResult.passes``) as one numbered list."""
    out: list[PassIR] = []
    for stage, rec in recorded.items():
        text = rec["input"]
        if not out:
            out.append(PassIR(0, stage, rec.get("skip", 0) - 1, "input", "", True, 0.0, text))
        for p in rec["passes"]:
            if p.get("kept") is False:
                out.append(PassIR(len(out), stage, p["index"], p["name"], p["call"], True, p["ms"], "", False))
                continue
            changed = p["ir"] is not None
            before, text = text, (p["ir"] if changed else text)
            out.append(PassIR(len(out), stage, p["index"], p["name"], p["call"], changed, p["ms"], text,
                              before=before))
    return out


def without_times(recorded: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A compile's recorded stages less the passes' times: what two recordings of it share."""
    return {stage: (rec["input"], [{k: v for k, v in p.items() if k != "ms"} for p in rec["passes"]])
            for stage, rec in recorded.items()}


def line_delta(old: str, new: str) -> tuple[int, int]:
    """Lines added and removed, counted as a multiset (a diff of 10k-line LLVM-dialect modules
    with difflib takes seconds; this takes milliseconds and differs only for moved lines)."""
    a, b = Counter(old.splitlines()), Counter(new.splitlines())
    return sum((b - a).values()), sum((a - b).values())


# -- pass files --------------------------------------------------------------------------------

def write_pass_files(passes: list[PassIR], folder: str | Path, kernel: str, metadata: dict[str, Any]) -> list[Path]:
    """``NN-<stage>-<pass>.mlir`` for each pass, each saying in its header which pass it follows,
    and ``<kernel>.json`` (the metadata a restart starts from). Pass files of an older
    recording are removed first: what the folder holds is this recording."""
    from workbench.compiler import metadata as md
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if _PASS_FILE.match(old.name):
            old.unlink()
    meta_name = f"{safe_name(kernel)}.json"
    (folder / meta_name).write_text(md.to_json(metadata))
    paths = []
    for p in passes:
        if not p.readable:
            continue
        what = "the input of the" if p.index < 0 else f"pass {p.index + 1} ({p.call}) of the"
        head = (f"// workbench: {kernel}, IR {p.number:02d}: after {p.name}, {what} {p.stage.upper()} stage\n"
                f"{HEADER} stage={p.stage} index={p.index} metadata={meta_name}\n")
        path = folder / p.file_name
        path.write_text(head + p.ir)
        paths.append(path)
    return paths


@dataclass
class PassFile:
    stage: str
    index: int
    metadata: Path | None


def level_of_stage(stage: str) -> str:
    """The level a pass of ``stage`` leaves text of (the LLIR stage's passes work on MLIR too)."""
    return "ttir" if stage == "ttir" else "ttgir"


def header_of(text: str, path: str | Path = "<input>") -> PassFile | None:
    """The pass a text follows, from the header ``write_pass_files`` wrote; None without one."""
    from workbench.compiler import compat_passes
    for i, row in enumerate(text.splitlines()[:5], 1):
        m = _HEADER.match(row)
        if m:
            if m["stage"] not in compat_passes.PASS_STAGES:
                raise WorkbenchError.at(str(path), f"unknown stage {m['stage']!r} (expected one of "
                                                   f"{', '.join(compat_passes.PASS_STAGES)})", i)
            meta = Path(path).parent / m["meta"] if m["meta"] else None
            return PassFile(m["stage"], int(m["index"]), meta)
    return None


def number_of_pass_file(path: str | Path | None) -> int | None:
    """The pass a pass file's name says it follows (``28-ttgir-tritongpu-pipeline.mlir`` -> 28), else None."""
    name = Path(path).name if path else ""
    return int(name.split("-", 1)[0]) if _PASS_FILE.match(name) else None


def kernel_of_pass_file(text: str) -> str | None:
    """The kernel a pass file is of (its header names ``<kernel>.json``), read without Triton."""
    for row in text.splitlines()[:5]:
        m = _HEADER.match(row)
        if m and m["meta"]:
            return Path(m["meta"]).stem
    return None


def read_pass_header(path: str | Path, text: str) -> PassFile:
    """Which pass a pass file follows; an error at its first line when it does not say."""
    head = header_of(text, path)
    if head is not None:
        return head
    raise WorkbenchError.at(str(path), f"not a pass file: no '{HEADER} stage=... index=...' line at its top "
                                       f"(`workbench passes` writes it)", 1)


# -- which passes an edit changed ----------------------------------------------------------------

_LOC = re.compile(r"\s*loc\((?:#loc\d*|unknown)\)")


def without_locations(text: str) -> list[str]:
    """The IR's lines with locations left out: an edit that moves Python lines changes every
    location, which says nothing about what the compiler decided."""
    return [_LOC.sub("", row) for row in text.splitlines() if not row.startswith("#loc")]


def compare(original: list[PassIR], version: list[PassIR]) -> list[dict[str, Any]]:
    """Pass by pass, how the version's IR differs from the original's (locations aside), and
    whether the pass itself did something else (``acts``): once an edit makes the IR differ,
    it differs after every pass; the passes that decided otherwise are those whose own change
    (what they added and removed) is not the same in the two compiles.

    Passes are paired by stage and place in the stage; a pass only one side runs (other
    options build other pipelines) is a row with the other side empty. Only what the version
    ran is compared: a version edited at TTGIR has no TTIR passes, one started after a pass
    none before it.
    """
    def keyed(passes: list[PassIR]) -> dict[tuple[str, int], PassIR]:
        return {(p.stage, p.index): p for p in passes}

    def own_change(passes: list[PassIR], p: PassIR | None) -> tuple[Counter, Counter] | None:
        at = passes.index(p) if p is not None else 0
        if p is None or at == 0:
            return None
        before, after = Counter(without_locations(passes[at - 1].ir)), Counter(without_locations(p.ir))
        return after - before, before - after

    original = [p for p in original if p.readable]
    version = [p for p in version if p.readable]
    a, b = keyed(original), keyed(version)
    first: dict[str, int] = {}
    for p in version:
        first.setdefault(p.stage, p.index)
    a = {k: p for k, p in a.items() if k[0] in first and k[1] >= first[k[0]]}
    b = {k: p for k, p in b.items() if k[1] >= 0 or k in a}  # a version's input is its edited level, not a pass
    rows = []
    for key in sorted(set(a) | set(b), key=lambda k: (_STAGE_ORDER.get(k[0], 9), k[1])):
        pa, pb = a.get(key), b.get(key)
        la, lb = (Counter(without_locations(p.ir)) if p else Counter() for p in (pa, pb))
        added, removed = sum((lb - la).values()), sum((la - lb).values())
        ca, cb = own_change(original, pa), own_change(version, pb)
        acts = pa is None or pb is None or (ca is not None and cb is not None and ca != cb)
        rows.append({"stage": key[0], "index": key[1], "pass": (pa or pb).name,
                     "original": pa.number if pa else None, "version": pb.number if pb else None,
                     "added": added, "removed": removed, "differs": bool(added or removed), "acts": acts,
                     # what the table names: a pass that decided otherwise for the version
                     "decided_otherwise": bool(added or removed) and acts or pa is None or pb is None,
                     "own_original": sum(sum(c.values()) for c in ca) if ca else 0,
                     "own_version": sum(sum(c.values()) for c in cb) if cb else 0})
    return rows


_STAGE_ORDER = {"ttir": 0, "ttgir": 1, "llir": 2}
PASS_ORDER = tuple(_STAGE_ORDER)


def compare_version(compiler, spec, info) -> list[dict[str, Any]]:
    """``compare`` for a saved version (``workspace.VersionInfo``) of ``spec`` against the original,
    each recorded with every pass; what ``workbench passes --version`` and the app's Passes view show."""
    from workbench.compiler import metadata as md
    from workbench.model.level_files import SUFFIX
    # a Python version is compared from the TTIR it compiled to: its TTIR passes are not kept
    level = "ttir" if info.level == "python" else info.level
    file = Path(info.folder) / f"{spec.stem}{SUFFIX.get(level, '')}"
    if level not in ("ttir", "ttgir") or not file.is_file():
        raise WorkbenchError.at(str(file), f"version {info.number} was edited at {info.level.upper()}: only a "
                                           f"version edited at Python, TTIR or TTGIR runs MLIR passes")
    original = compiler.compile_spec(spec, with_sass=False, record_passes=True)
    meta = Path(info.folder) / f"{spec.stem}.json"
    base = md.load(meta) if meta.is_file() else original.metadata_json()
    version = compiler.compile_file(file, base, with_sass=False, record_passes=True)
    return compare(pass_list(original.passes), pass_list(version.passes))


# -- which pass made a line -------------------------------------------------------------------

_MLIR_OP = re.compile(r'^\s*(?:%[^=]*?=\s*)?"?([A-Za-z_]\w*\.[\w.]+)"?')
_LLVM_OP = re.compile(r"^\s*(?:%[\w.\"]+\s*=\s*)?(?:(?:tail|musttail|notail)\s+)?([a-z_]\w*)\b")
_CALLEE = re.compile(r"@([\w.$]+)\(")


def _llvm_op(row: str) -> str | None:
    """An LLVM IR instruction as the LLVM-dialect op it was translated from: ``fadd`` ->
    ``llvm.fadd``, ``call @llvm.nvvm.barrier0`` -> ``nvvm.barrier0``, ``call @llvm.fma.f32`` ->
    ``llvm.intr.fma``, inline assembly -> ``llvm.inline_asm``."""
    m = _LLVM_OP.match(row)
    if m is None:
        return None
    if m[1] != "call":
        return f"llvm.{m[1]}"
    if " asm " in row:
        return "llvm.inline_asm"
    callee = _CALLEE.search(row)
    name = callee[1] if callee else ""
    if name.startswith("llvm.nvvm."):
        return "nvvm." + name[len("llvm.nvvm."):]
    if name.startswith("llvm."):
        return "llvm.intr." + name.split(".")[1]
    return "llvm.call"


def _line_keys(text: str, llvm_ir: bool = False) -> dict[int, tuple]:
    """Line -> (its op, its Python locations by file name), for the lines that have both."""
    from workbench.model import srcmap
    lines = text.splitlines()
    out: dict[int, tuple] = {}
    for n, locs in (srcmap.llir_map(text) if llvm_ir else srcmap.mlir_map(text)).items():
        op = _llvm_op(lines[n - 1]) if llvm_ir else (m[1] if (m := _MLIR_OP.match(lines[n - 1])) else None)
        if op is not None:
            out[n] = (op, tuple((Path(f).name, ln) for f, ln in locs))
    return out


def _index(text: str) -> dict[tuple, int]:
    """A pass's IR: (op, locations) -> its first line; and ("llvm.*", locations) for the
    LLVM-dialect ops, so that an instruction the translation renamed is still found by family."""
    out: dict[tuple, int] = {}
    for n, (op, where) in _line_keys(text).items():
        out.setdefault((op, where), n)
        if op.startswith(("llvm.", "nvvm.")):
            out.setdefault(("llvm.*", where), n)
    return out


def introducing_passes(plist: list[PassIR], level: str, text: str) -> dict[int, dict[str, Any]]:
    """For each line of a TTGIR or LLIR level (``text``), the pass that introduced its op at its
    location: the first pass of the last run of passes after which that op exists at that
    Python location (an op the pipeline removes and brings back was made by the later pass),
    and its line in that pass's IR. ``exact`` False: no pass left that very op there (LLVM's
    translation renamed it), the first LLVM-dialect op there is given instead."""
    stages = ("ttir", "ttgir") if level == "ttgir" else PASS_ORDER
    indexed: dict[int, dict[tuple, int]] = {}
    chain = [(p, indexed.setdefault(id(p.ir), _index(p.ir)))  # an unchanged pass holds the text before it
             for p in plist if p.readable and p.stage in stages]

    def last_run(key: tuple) -> tuple[PassIR, int] | None:
        found = None
        for p, index in reversed(chain):
            if key in index:
                found = (p, index[key])
            elif found is not None:
                break
        return found

    out: dict[int, dict[str, Any]] = {}
    for n, (op, where) in _line_keys(text, llvm_ir=level == "llir").items():
        hit, exact = last_run((op, where)), True
        if hit is None and level == "llir":
            hit, exact = last_run(("llvm.*", where)), False
        if hit is not None:
            out[n] = {"pass": hit[0].number, "line": hit[1], "exact": exact}
    return out

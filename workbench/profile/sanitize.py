"""A version under NVIDIA's compute-sanitizer: its exported replay (``run.py --sanitize``, one
launch on the captured inputs) run by each tool in a process of its own, as ``profile`` runs
ncu, and every error said in one line at the place the user looks: the access and its size, the
address against the nearest argument buffer, the thread and block, and the instruction's SASS
offset folded onto every level through the source map (the mapping ``profile`` uses for hot lines).

The tools' text output is read (``--log-file``, apart from the replay's own prints), in the
format the Compute Sanitizer documentation shows in its "Understanding Memcheck Errors",
"Racecheck Report Modes" and initcheck/synccheck examples
(https://docs.nvidia.com/compute-sanitizer/ComputeSanitizer/index.html): a record is a header
line after ``========= `` and its indented detail lines, e.g.::

    ========= Invalid __global__ read of size 4 bytes
    =========     at add_kernel+0xd0 in vector_add.py:31
    =========     by thread (64,0,0) in block (3,0,0)
    =========     Access to 0x7f3a5c000e00 is out of bounds
    =========     and is 1 bytes after the nearest allocation at 0x7f3a5c000000 of size 3,584 bytes

``--xml`` is not used: the documentation names the option but publishes no schema for it.
Older releases wrote ``at 0xd0 in file.py:31:add_kernel`` and ``Address 0x...``; both are read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.model import srcmap
from workbench.model.diagnostics import WorkbenchError
from workbench.profile.profile import level_texts

TOOLS = ("memcheck", "racecheck", "initcheck", "synccheck")
PRINT_LIMIT = 1000
# every tensor its own cudaMalloc: inside PyTorch's cached blocks a read past a tensor's end
# touches memory that is allocated, and memcheck says nothing
REPLAY_ENV = {"PYTORCH_NO_CUDA_MEMORY_CACHING": "1"}
# and a gap after each cudaMalloc: without one the driver places the next tensor right after the
# last, and a read past x's end lands in y, allocated and silent (seen on the H100: vector_add with
# its load mask dropped read 3.5 KiB past x and memcheck said 0 errors)
PADDING = 1 << 20
FOLDER = "sanitize"


def find_sanitizer() -> str | None:
    """``$WORKBENCH_SANITIZER``, else ``compute-sanitizer`` on PATH."""
    return os.environ.get("WORKBENCH_SANITIZER") or shutil.which("compute-sanitizer")


def no_sanitizer_sentence() -> str:
    return ("NVIDIA's compute-sanitizer is not on PATH (it comes with the CUDA toolkit, e.g. "
            "/usr/local/cuda/bin/compute-sanitizer; or name it with WORKBENCH_SANITIZER)")


NO_GPU = ("compute-sanitizer checks a kernel as it runs on an NVIDIA GPU, and this machine has none: run "
          "`workbench sanitize` where the GPU is")


def command(sanitizer: str, tool: str, log: Path, program: list[str]) -> list[str]:
    """``program`` under ``tool``, its findings in ``log``. Racecheck reports each race once with
    its hazard count (``analysis``); memcheck leaves :data:`PADDING` bytes unallocated after every
    allocation, so an overrun of up to that much is seen; no host backtraces (the replay is one
    launch)."""
    extra = ["--racecheck-report", "analysis"] if tool == "racecheck" else \
        ["--padding", str(PADDING)] if tool == "memcheck" else []
    return [sanitizer, "--tool", tool, *extra, "--print-limit", str(PRINT_LIMIT), "--show-backtrace", "no",
            "--log-file", str(log), *program]


# -- the log ---------------------------------------------------------------------------------

@dataclass
class Site:
    """Where an access was: the function, the offset from its first instruction, and the
    file:line the tool names (the cubin's line info)."""
    function: str | None
    offset: int | None
    file: str | None = None
    line: int | None = None


@dataclass
class Record:
    header: str
    kind: str                      # read, write, atomic, race, api, tool, other
    severity: str = "error"
    space: str | None = None       # global, shared, local
    size: int | None = None
    site: Site | None = None
    thread: tuple[int, int, int] | None = None
    block: tuple[int, int, int] | None = None
    address: int | None = None
    note: str = ""                 # the tool's own words on the address ("is out of bounds", ...)
    # a race's other accesses: (read|write, where, hazards)
    others: list[tuple[str, Site, int | None]] = field(default_factory=list)
    hazards: int | None = None


@dataclass
class Log:
    records: list[Record] = field(default_factory=list)
    summary: str = ""
    messages: list[str] = field(default_factory=list)  # the tool's own Error:/Warning: lines
    dropped: int = 0    # records the tool did not print ("192 errors were skipped (error buffer overflow).")


_PREFIX = re.compile(r"^=+ ?(.*)$")
_MEMORY = re.compile(r"^(?P<what>Invalid|Uninitialized) __(?P<space>\w+?)__ (?:memory )?(?P<kind>read|write|atomic)"
                     r"\w*(?: access)? of size (?P<size>\d+)(?: bytes?)?", re.IGNORECASE)
_RACE = re.compile(r"^(?P<sev>Error|Warning): Race reported between (?P<kind>\w+) access at (?P<at>.+)$")
_RACE_MORE = re.compile(r"^and (?P<kind>\w+) access at (?P<at>.+?)(?: \[(?P<n>[\d,]+) hazards?\])?$")
_HAZARDS = re.compile(r"^(?P<at>.+?) \[(?P<n>[\d,]+) hazards?\]$")
_SITE = re.compile(r"^(?:(?P<func>.+?)\+0x(?P<off>[0-9a-fA-F]+)|0x(?P<off2>[0-9a-fA-F]+))(?: in (?P<rest>.+))?$")
_FILE_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::(?P<func>.+))?$")
_WHO = re.compile(r"^by thread \(\s*(\d+),\s*(\d+),\s*(\d+)\) in block \(\s*(\d+),\s*(\d+),\s*(\d+)\)")
_ADDRESS = re.compile(r"^(?:Access (?:to|at)|Address) (?P<addr>0x[0-9a-fA-F]+)(?: (?P<note>.*))?$")
_SUMMARY = re.compile(r"^\w+ SUMMARY: (.*)$")
_API = re.compile(r"^Program hit ")
_DROPPED = re.compile(r"^(?P<n>[\d,]+) errors? (?:were|was) skipped")
_MESSAGE = re.compile(r"^(?:Error|Warning|Internal Sanitizer Error)\b:? ?(.*)$")


def site(text: str) -> Site | None:
    """``f+0xd0 in file.py:31`` (or ``f+0xd0``), or the older ``0xd0 in file.py:31:f``."""
    m = _SITE.match(text.strip())
    if not m:
        return None
    off = int(m.group("off") or m.group("off2"), 16)
    out = Site(m.group("func"), off)
    rest = m.group("rest")
    if rest:
        fl = _FILE_LINE.match(rest)
        if fl:
            out.file, out.line = fl.group("file"), int(fl.group("line"))
            out.function = out.function or fl.group("func")
        elif out.function is None:
            out.function = rest
    if out.function:
        out.function = out.function.split("(")[0].split()[-1] if out.function.strip() else None
    return out


def parse_log(text: str) -> Log:
    """Every record of a tool's log (``--log-file``), in order."""
    log = Log()
    current: Record | None = None
    for raw in text.splitlines():
        m = _PREFIX.match(raw)
        if not m:
            continue  # the replay's own output, where the tool shares its stream
        body = m.group(1)
        if not body.strip():
            current = None
            continue
        if body[0].isspace():
            if current is not None:
                _detail(current, body.strip())
            continue
        current = None
        if body.startswith("COMPUTE-SANITIZER"):
            continue
        if s := _SUMMARY.match(body):
            log.summary = s.group(1)
            continue
        if d := _DROPPED.match(body):
            log.dropped += int(d.group("n").replace(",", ""))
            continue
        if mm := _MEMORY.match(body):
            current = Record(body, mm.group("kind").lower(), space=mm.group("space").lower(),
                             size=int(mm.group("size")))
        elif r := _RACE.match(body):
            at = r.group("at")
            h = _HAZARDS.match(at)
            current = Record(body, "race", severity=r.group("sev").lower(), space="shared",
                             site=site(h.group("at") if h else at),
                             hazards=int(h.group("n").replace(",", "")) if h else None)
            current.others.append((r.group("kind").lower(), current.site, current.hazards))
        elif _API.match(body):
            current = Record(body, "api")
        elif _MESSAGE.match(body):
            log.messages.append(body)
            continue
        else:
            current = Record(body, "other")
        log.records.append(current)
    return log


def _detail(rec: Record, text: str) -> None:
    if text.startswith("at ") and rec.site is None:
        rec.site = site(text[3:])
    elif m := _WHO.match(text):
        n = [int(x) for x in m.groups()]
        rec.thread, rec.block = (n[0], n[1], n[2]), (n[3], n[4], n[5])
    elif m := _ADDRESS.match(text):
        rec.address = int(m.group("addr"), 16)
        rec.note = (m.group("note") or "").strip()
    elif m := _RACE_MORE.match(text):
        where = site(m.group("at"))
        if where is not None:
            rec.others.append((m.group("kind").lower(), where, int(m.group("n").replace(",", "")) if m.group("n")
                               else None))
    elif text.startswith("and is ") and rec.note:
        rec.note += "; " + text[len("and is "):]


# -- buffers ---------------------------------------------------------------------------------

@dataclass
class Buffer:
    name: str
    address: int
    bytes: int


def read_buffers(path: Path) -> list[Buffer]:
    """``buffers.json`` as ``run.py --sanitize`` writes it; anything else is no buffers."""
    try:
        data = json.loads(path.read_text())
        return [Buffer(str(b["name"]), int(b["address"]), int(b["bytes"])) for b in data["buffers"]
                if isinstance(b["address"], int) and isinstance(b["bytes"], int)]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def relative(address: int, buffers: list[Buffer]) -> tuple[int, str, str] | None:
    """(bytes, the nearest argument buffer's name, past|before|inside): how far past its end,
    before its start, or at which byte of it ``address`` is; None with no buffers."""
    best = None
    for b in buffers:
        end = b.address + b.bytes
        if b.address <= address < end:
            return address - b.address, b.name, "inside"
        cand = (address - end, b.name, "past") if address >= end else (b.address - address, b.name, "before")
        if best is None or cand[0] < best[0]:
            best = cand
    return best


def say(lo: int, hi: int, name: str, relation: str) -> str:
    """``128 past the end of x_ptr``, ``0 to 504 past the end of x_ptr``, ``at byte 8 of x``."""
    span = str(lo) if lo == hi else f"{lo} to {hi}"
    if relation == "inside":
        return f"at byte{'s' if lo != hi else ''} {span} of {name}"
    return f"{span} {'past the end' if relation == 'past' else 'before the start'} of {name}"


# -- the fold --------------------------------------------------------------------------------

@dataclass
class Place:
    """An instruction's offset, its SASS line and text, and the lines of every level it folds onto."""
    offset: int
    sass_line: int | None = None
    instruction: str = ""
    lines: dict[str, list[int]] = field(default_factory=dict)  # level -> 1-based lines
    python: tuple[str, int] | None = None
    note: str = ""

    def text(self) -> str:
        if self.sass_line is None:
            return f"SASS +0x{self.offset:04x} ({self.note})" if self.note else f"SASS +0x{self.offset:04x}"
        words = self.instruction.split()
        opcode = words[1] if len(words) > 1 and words[0].startswith("@") else words[0]
        parts = [f"SASS +0x{self.offset:04x} line {self.sass_line} ({opcode})"]
        for level in ("ptx", "llir", "ttgir", "ttir"):
            if self.lines.get(level):
                parts.append(f"{level.upper()} {_span(self.lines[level])}")
        if self.python:
            parts.append(f"Python {os.path.basename(self.python[0])}:{self.python[1]}")
        return ", ".join(parts)


def _span(lines: list[int]) -> str:
    return ", ".join(str(n) for n in lines[:4]) + (f" (+{len(lines) - 4})" if len(lines) > 4 else "")


# of the lines a Python line made, those that do the access (a load's, not its address arithmetic)
_GLOBAL_READ = re.compile(r"tt\.load|descriptor_load|ld\.global|\bload\b")
_GLOBAL_WRITE = re.compile(r"tt\.store|descriptor_store|st\.global|\bstore\b")
_SHARED = re.compile(r"local_load|local_store|local_alloc|tt\.reduce|tt\.scan|convert_layout|ld\.shared|st\.shared"
                     r"|addrspace\(3\)")
_ATOMIC = re.compile(r"atomic|atom\.|red\.(?:global|shared)")


def _access_lines(space: str | None, access: str | None) -> re.Pattern | None:
    if access == "atomic":
        return _ATOMIC
    if space == "shared" or access == "race":
        return _SHARED
    return {"read": _GLOBAL_READ, "write": _GLOBAL_WRITE}.get(access or "")


@dataclass
class Mapper:
    """The version's levels, its SASS (from its cubin) and its source map, to fold offsets with."""
    levels: dict[str, str | bytes]
    smap: srcmap.SourceMap
    sass_text: str
    ptx_of: dict[int, int]                  # SASS line -> PTX line
    python: dict | None
    offsets: dict[int, tuple[int, str]]

    @classmethod
    def of(cls, folder: Path, stem: str) -> "Mapper":
        from workbench.compiler import compat, sass
        from workbench.compiler.sass import sass_offsets
        levels, python = level_texts(folder, stem)
        dis = None
        if isinstance(levels.get("cubin"), bytes):
            dis = sass.disassemble(levels["cubin"], compat.nvidia_tool("nvdisasm"))
        smap = srcmap.build(levels, dis.lines if dis else {}, python, dis.ptx_lines if dis else {})
        text = dis.text if dis else ""
        return cls(levels, smap, text, dis.ptx_lines if dis else {}, python, sass_offsets(text))

    def place(self, offset: int, access: str | None, space: str | None = "global") -> Place:
        found = self.offsets.get(offset)
        if found is None:
            note = ("not an instruction of this version's SASS: its binary differs from the one checked"
                    if self.offsets else "no SASS for this version (no cubin)")
            return Place(offset, note=note)
        line, text = found
        out = Place(offset, line, text)
        if (ptx := self.ptx_of.get(line)) is not None:
            out.lines["ptx"] = [ptx]
        chain = self.smap.python_lines("sass", line)
        user = self._user_line(chain)
        if user is None:
            return out
        out.python = user
        for level in ("llir", "ttgir", "ttir"):
            lines = self.smap.lines_for(level, user)
            text_of = self.levels.get(level)
            keep = _access_lines(space, access)
            if lines and keep is not None and isinstance(text_of, str):
                rows = text_of.splitlines()
                kept = [n for n in lines if n <= len(rows) and keep.search(rows[n - 1])]
                lines = kept or lines
            if lines:
                out.lines[level] = lines
        if "ptx" not in out.lines and (lines := self.smap.lines_for("ptx", user)):
            out.lines["ptx"] = lines
        return out

    def _user_line(self, chain: list[tuple[str, int]]) -> tuple[str, int] | None:
        """Of an instruction's call chain (innermost first), the line in the kernel's own file
        (``tl.sum``'s body is Triton's standard.py; the user wrote the call)."""
        if not chain:
            return None
        if self.python:
            own = os.path.normpath(self.python["file"])
            for loc in chain:
                if os.path.normpath(loc[0]) == own:
                    return loc
        return chain[-1]


# -- findings --------------------------------------------------------------------------------

@dataclass
class Finding:
    """One error, said once for every thread that hit it at the same instruction."""
    tool: str
    severity: str
    kind: str
    what: str                       # "reads 8 bytes 0 past the end of x_ptr", "race between ..."
    places: list[Place]
    count: int = 1
    thread: tuple[int, int, int] | None = None
    block: tuple[int, int, int] | None = None
    buffer: str = ""
    relation: str = ""
    new: bool | None = None         # against the original; None when there is nothing to compare

    def key(self) -> list:
        """What the same error is in another version: its instructions move, its Python lines
        and what it touched do not."""
        return [self.tool, self.kind, self.buffer, self.relation,
                sorted([p.python[1] if p.python else -1 for p in self.places])]

    def line(self) -> str:
        who = ""
        if self.thread is not None:
            who = f", thread {_xyz(self.thread)} block {_xyz(self.block)}"
            if self.count > 1:
                who += f" (and {self.count - 1} more)"
        where = " and ".join(p.text() for p in self.places)
        sev = "" if self.severity == "error" else f" ({self.severity})"
        return f"{self.tool}{sev}: {self.what}{who}: {where}"

    def to_json(self) -> dict:
        out = asdict(self)
        out["line"] = self.line()
        return out


def _xyz(t: tuple[int, int, int] | None) -> str:
    return "(" + ",".join(str(v) for v in t) + ")" if t else "-"


_VERB = {"read": "reads", "write": "writes", "atomic": "does an atomic on"}


def findings(tool: str, log: Log, kernel: str, mapper: Mapper, buffers: list[Buffer]) -> tuple[list[Finding], int]:
    """The kernel's errors in ``log``, one per (kind, instruction), and how many records were
    about other kernels (PyTorch's copies)."""
    groups: dict[tuple, list[Record]] = {}
    other = 0
    for rec in log.records:
        if rec.kind == "api":
            continue
        if rec.site is None or rec.site.function != kernel:
            other += 1
            continue
        if rec.kind == "race":
            key = ("race",) + tuple((k, s.offset) for k, s, _ in rec.others)
        else:
            key = (rec.kind, rec.space, rec.size, rec.site.offset, rec.header)
        groups.setdefault(key, []).append(rec)
    out = [_race(tool, recs[0], mapper) if recs[0].kind == "race" else _memory(tool, recs, mapper, buffers)
           for recs in groups.values()]
    return out, other


def _race(tool: str, rec: Record, mapper: Mapper) -> Finding:
    places = [mapper.place(s.offset, k, "shared") for k, s, _ in rec.others]
    rest = " and ".join(f"a {k} ({n} hazards)" if n else f"a {k}" for k, _, n in rec.others[1:])
    return Finding(tool, rec.severity, "race", f"shared-memory race between a {rec.others[0][0]} and {rest}", places)


def _memory(tool: str, recs: list[Record], mapper: Mapper, buffers: list[Buffer]) -> Finding:
    rec = recs[0]
    place = mapper.place(rec.site.offset, rec.kind, rec.space)
    if rec.kind in _VERB and rec.size is not None:
        what = f"{_VERB[rec.kind]} {rec.size} bytes"
        if rec.header.lower().startswith("uninitialized"):
            what += " nobody wrote"
    else:
        what = rec.header.rstrip(".")
    if rec.space and rec.space != "global":
        what += f" of {rec.space} memory"
    buffer = relation = ""
    addresses = sorted({r.address for r in recs if r.address is not None})
    spots = [relative(a, buffers) for a in addresses] if rec.space in ("global", None) else []
    if spots and spots[0] is not None:
        _, buffer, relation = spots[0]
        same = [d for d, name, how in spots if (name, how) == (buffer, relation)]
        what += " " + say(min(same), max(same), buffer, relation)
    elif addresses:
        what += f" at 0x{addresses[0]:x}" + (f" ({rec.note})" if rec.note else "")
    return Finding(tool, rec.severity, rec.kind, what, [place], count=len(recs), thread=rec.thread, block=rec.block,
                   buffer=buffer, relation=relation)


def mark_new(report: dict, original: list[dict]) -> None:
    """Each of a report's errors is new unless the original's findings have one with its key."""
    seen = [e.get("key") for e in original]
    for e in report["errors"]:
        e["new"] = e["key"] not in seen


# -- running the tool ------------------------------------------------------------------------

def run_tool(folder: Path, tool: str, timeout: float = 600.0) -> dict[str, Any]:
    """One tool over an exported version's replay: its findings, one line each."""
    folder = Path(folder)
    launch = json.loads((folder / "launch.json").read_text())
    where = str(folder / launch["file"])
    sanitizer = find_sanitizer()
    if sanitizer is None:
        raise WorkbenchError.at(where, no_sanitizer_sentence())
    meta = json.loads((folder / launch["metadata"]).read_text())
    kernel = meta.get("name") or launch["kernel"]
    out = folder / FOLDER
    out.mkdir(exist_ok=True)
    log_path, buffers_path = out / f"{tool}.log", out / "buffers.json"
    log_path.unlink(missing_ok=True)
    buffers_path.unlink(missing_ok=True)
    program = [sys.executable, str(folder / "run.py"), "--sanitize", str(buffers_path)]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(command(sanitizer, tool, log_path, program), cwd=folder, capture_output=True, text=True,
                              timeout=timeout, env=os.environ | REPLAY_ENV)
    except OSError:  # not there, not a program
        raise WorkbenchError.at(where, f"{sanitizer} cannot be run: name compute-sanitizer with WORKBENCH_SANITIZER "
                                       "(e.g. /usr/local/cuda/bin/compute-sanitizer)") from None
    except subprocess.TimeoutExpired:
        raise WorkbenchError.at(where, f"compute-sanitizer's {tool} ran past {timeout:.0f} s on {kernel}: the kernel "
                                       "is too slow under the tool (raise --timeout)") from None
    seconds = time.monotonic() - t0
    output = proc.stdout + proc.stderr
    (out / f"{tool}.output").write_text(output)
    text = log_path.read_text(errors="replace") if log_path.is_file() else ""
    log = parse_log(text)
    mapper = Mapper.of(folder, Path(launch["metadata"]).stem)
    found, other = findings(tool, log, kernel, mapper, read_buffers(buffers_path))
    if not found:
        if (bad := _failure(output, text, log, proc.returncode)) is not None:
            raise WorkbenchError.at(where, f"compute-sanitizer could not check {kernel} under {tool}: {bad}",
                                    detail=output + text)
    return {"tool": tool, "kernel": kernel, "errors": [f.to_json() | {"key": f.key()} for f in found],
            "other_kernels": other, "dropped": log.dropped, "summary": log.summary, "log": str(log_path),
            "seconds": seconds}


_REPLAY_ERROR = re.compile(r"^(?!=)\S.*?: error: (.*)$", re.MULTILINE)


def _failure(output: str, text: str, log: Log, returncode: int) -> str | None:
    """Why a run that found nothing in the kernel checked nothing; None when it ran clean."""
    if m := _REPLAY_ERROR.search(output):
        return f"the replay failed: {m.group(1)}"
    if not text:
        lines = [ln for ln in output.splitlines() if ln.strip()]
        return f"it wrote no log ({lines[-1].strip() if lines else f'exit status {returncode}'})"
    failed = [m for m in log.messages if "returned an error" in m or "No attachable" in m or "Internal" in m]
    if failed:
        return failed[0]
    if returncode != 0:
        if raised := _RAISED.findall(output):   # the (last) traceback's last line: the exception, its sentence
            return f"the replay raised {raised[-1].strip()}"
        return f"the replay exited with status {returncode}"
    return None


_RAISED = re.compile(r"^Traceback \(most recent call last\):\n(?:[ \t].*\n)*([A-Za-z_][\w.]*(?::.*)?)$",
                     re.MULTILINE)


def cache_key(folder: Path, tool: str) -> str:
    """The exported original as the tool saw it: its binary, its launch and the tool."""
    launch = json.loads((Path(folder) / "launch.json").read_text())
    h = hashlib.sha1(tool.encode())
    for level in ("cubin", "hsaco"):
        path = Path(folder) / f"{Path(launch['metadata']).stem}.{level}"
        if path.is_file():
            h.update(path.read_bytes())
    h.update(json.dumps({k: launch.get(k) for k in ("grid", "args", "views", "storages", "compile_options")},
                        sort_keys=True, default=str).encode())
    return h.hexdigest()


def cached(cache: Path, key: str) -> dict | None:
    """A report kept for this key, if the file holds one (nothing read is trusted)."""
    try:
        data = json.loads(cache.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("report"), dict) \
            or not isinstance(data["report"].get("errors"), list):
        return None
    return data["report"]


def keep(cache: Path, key: str, report: dict) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "report": report}, indent=1, default=str))
    tmp.replace(cache)

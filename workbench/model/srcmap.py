"""Which Python line each line of each level came from: the basis of cross-level highlighting.

Each level carries its own location dialect:
- MLIR (TTIR, TTGIR): ``#loc3 = loc("k.py":7:17)``, name aliases ``loc("x"(#loc3))``,
  ``callsite(#callee at #caller)`` and ``fused[...]``, referenced by ``loc(#loc3)`` at the
  end of an op.
- LLVM IR: ``!dbg !7`` on an instruction, ``!7 = !DILocation(line:, column:, scope:)``, the
  scope chain leading to a ``!DIFile``.
- PTX: ``.file 1 "k.py"`` and ``.loc 1 7 17`` before the instructions it covers; an inlined
  one names its caller as ``inlined_at 1 17 9`` (Triton 3.8 on) or only in LLVM's comment,
  ``// standard.py:263:15 @[ k.py:17:15 ]`` (3.4 to 3.7, and AMDGCN's ``;`` comment; before
  that, nowhere).
- SASS: ``nvdisasm -g`` line comments, folded by :mod:`workbench.compiler.sass`, and the PTX line
  each instruction came from (``-gp``), whose call-site chain it takes: ptxas keeps none.

Everything is joined on ``(file, line)`` of the Python source. A line inlined from a helper or
from Triton's library (``tl.sum`` is in ``standard.py``) carries its whole call-site chain,
innermost first, so it maps to the helper's line and to the kernel's line that called it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

PyLoc = tuple[str, int]


@dataclass
class SourceMap:
    # level -> {1-based line in that level: [python (file, line), innermost first]}
    levels: dict[str, dict[int, list[PyLoc]]] = field(default_factory=dict)

    def python_lines(self, level: str, line: int) -> list[PyLoc]:
        return self.levels.get(level, {}).get(line, [])

    def lines_for(self, level: str, loc: PyLoc) -> list[int]:
        file, line = _norm(loc[0]), loc[1]
        return sorted(n for n, locs in self.levels.get(level, {}).items()
                      if any(_norm(f) == file and ln == line for f, ln in locs))

    def related(self, level: str, line: int) -> dict[str, list[int]]:
        """Lines in every level that come from the same Python line(s) as ``level:line``."""
        if level == "python":
            files = {f for locs in self.levels.get("python", {}).values() for f, _ in locs}
            sources = [(f, line) for f in sorted(files)][:1]  # a line outside the kernel (a helper's) too
        else:
            sources = ends(self.python_lines(level, line))
        out: dict[str, list[int]] = {}
        for other in self.levels:
            hits: set[int] = set()
            for loc in sources:
                hits.update(self.lines_for(other, loc))
            out[other] = sorted(hits)
        return out

    def to_json(self) -> dict[str, dict[str, list[list]]]:
        return {level: {str(n): [[f, ln] for f, ln in locs] for n, locs in lines.items()}
                for level, lines in self.levels.items()}


def spans(lines: list[int]) -> str:
    """Line numbers, compactly: ``40-42,45``."""
    out: list[str] = []
    for n in sorted(set(lines)):
        if out and int(out[-1].split("-")[-1]) == n - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ",".join(out)


def from_spans(text: str) -> list[int]:
    out: list[int] = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        out += range(int(first), int(last or first) + 1)
    return out


def ends(locs: list[PyLoc]) -> list[PyLoc]:
    """The innermost location and the outermost call site (the kernel's line): what a line is from."""
    return _dedupe(locs[:1] + locs[-1:])


def _norm(path: str) -> str:
    return os.path.normpath(path)


_HEX_ESCAPE = re.compile(r"(?:\\[0-9A-Fa-f]{2})+")
_OCTAL_ESCAPE = re.compile(r"(?:\\[0-7]{3})+")


def _unescape(name: str, octal: bool = False) -> str:
    """A file name as MLIR and LLVM (``\\C3\\A9``) or PTX (``\\303\\251``) escape its non-ASCII bytes."""
    def decode(m: re.Match) -> str:
        parts = m.group(0).split("\\")[1:]
        raw = bytes(int(p, 8 if octal else 16) for p in parts)
        return raw.decode("utf-8", "surrogateescape")
    return (_OCTAL_ESCAPE if octal else _HEX_ESCAPE).sub(decode, name)


# -- MLIR ------------------------------------------------------------------------------------

_LOC_DEF = re.compile(r"^(#loc\d*)\s*=\s*loc\((.*)\)\s*$")
_FILE_LOC = re.compile(r'^"(?P<file>[^"]*)":(?P<line>\d+):(?P<col>\d+)')


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, cur, in_str = [], 0, [], False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            in_str = not in_str
        if not in_str:
            if ch in "([":
                depth += 1
            elif ch in ")]":
                depth -= 1
            elif depth == 0 and text.startswith(sep, i):
                parts.append("".join(cur))
                cur = []
                i += len(sep)
                continue
        cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def _resolve(body: str, defs: dict[str, str], seen: frozenset[str] = frozenset()) -> list[PyLoc]:
    body = body.strip()
    if body.startswith("#loc"):
        if body in seen or body not in defs:
            return []
        return _resolve(defs[body], defs, seen | {body})
    if m := _FILE_LOC.match(body):
        return [(_unescape(m.group("file")), int(m.group("line")))]
    if body.startswith("callsite("):
        inner = body[len("callsite("):-1]
        parts = _split_top(inner, " at ")
        out: list[PyLoc] = []
        for part in parts:  # callee first (innermost), then the call site in the kernel
            out.extend(_resolve(part, defs, seen))
        return out
    if body.startswith("fused"):
        inner = body[body.index("[") + 1:body.rindex("]")] if "[" in body else ""
        out = []
        for part in _split_top(inner, ","):
            out.extend(_resolve(part, defs, seen))
        return out
    if body.startswith('"') and "(" in body:  # a name: loc("x"(#loc3))
        inner = body[body.index("(") + 1:body.rindex(")")]
        return _resolve(inner, defs, seen)
    if body.startswith("loc("):
        return _resolve(body[4:-1], defs, seen)
    return []


def _trailing_loc(line: str) -> str | None:
    idx = line.rfind(" loc(")
    if idx < 0:
        return None
    body = line[idx + 5:]
    depth, end = 1, None
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                end = i
                break
    return body[:end] if end is not None else None


def mlir_map(text: str) -> dict[int, list[PyLoc]]:
    lines = text.splitlines()
    defs: dict[str, str] = {}
    for row in lines:
        if m := _LOC_DEF.match(row.strip()):
            defs[m.group(1)] = m.group(2)
    out: dict[int, list[PyLoc]] = {}
    for n, row in enumerate(lines, 1):
        stripped = row.strip()
        if not stripped or stripped.startswith("#"):
            continue
        body = _trailing_loc(row)
        if body is None:
            continue
        locs = _dedupe(_resolve(body, defs))
        if locs:
            out[n] = locs
    return out


# -- LLVM IR ---------------------------------------------------------------------------------

_MD_DEF = re.compile(r"^(![0-9]+)\s*=\s*(?:distinct\s+)?!(\w+)\((.*)\)\s*$")
_DBG_REF = re.compile(r"!dbg (![0-9]+)")
_FIELD = re.compile(r'(\w+):\s*("(?:[^"\\]|\\.)*"|![0-9]+|[-\w]+)')


def llir_map(text: str) -> dict[int, list[PyLoc]]:
    lines = text.splitlines()
    nodes: dict[str, tuple[str, dict[str, str]]] = {}
    for row in lines:
        if m := _MD_DEF.match(row.strip()):
            nodes[m.group(1)] = (m.group(2), dict(_FIELD.findall(m.group(3))))

    def file_of(ref: str, depth: int = 0) -> str | None:
        node = nodes.get(ref)
        if node is None or depth > 32:
            return None
        kind, fields = node
        if kind == "DIFile":
            name = _unescape(fields.get("filename", '""').strip('"'))
            directory = _unescape(fields.get("directory", '""').strip('"'))
            return os.path.join(directory, name) if directory and not os.path.isabs(name) else name
        for key in ("file", "scope"):
            if key in fields and fields[key].startswith("!"):
                found = file_of(fields[key], depth + 1)
                if found:
                    return found
        return None

    def locs_of(ref: str, depth: int = 0) -> list[PyLoc]:
        node = nodes.get(ref)
        if node is None or node[0] != "DILocation" or depth > 32:
            return []
        fields = node[1]
        line = int(fields.get("line", "0"))
        file = file_of(fields.get("scope", ""))
        out = [(file, line)] if file and line else []
        if "inlinedAt" in fields:
            out += locs_of(fields["inlinedAt"], depth + 1)
        return out

    out: dict[int, list[PyLoc]] = {}
    for n, row in enumerate(lines, 1):
        if row.startswith("!"):
            continue
        if m := _DBG_REF.search(row):
            locs = locs_of(m.group(1))
            if locs:
                out[n] = _dedupe(locs)
    return out


# -- PTX -------------------------------------------------------------------------------------

_PTX_FILE = re.compile(r'^\s*\.file\s+(\d+)\s+"([^"]*)"(?:\s+"([^"]*)")?')  # AMDGCN: "dir" "name"
_PTX_LOC = re.compile(r"^\s*\.loc\s+(\d+)\s+(\d+)\s+(\d+)(?:[^/]*inlined_at\s+(\d+)\s+(\d+)\s+(\d+))?")
_PTX_CALLER = re.compile(r"@\[ (.+?):(\d+):\d+ ")  # LLVM's comment: a caller's file name and line


def ptx_map(text: str) -> dict[int, list[PyLoc]]:
    lines = text.splitlines()
    files: dict[str, str] = {}
    for row in lines:
        if m := _PTX_FILE.match(row):
            name = _unescape(m.group(2), octal=True)
            files[m.group(1)] = os.path.join(name, _unescape(m.group(3), octal=True)) if m.group(3) else name
    by_name: dict[str, list[str]] = {}
    for path in files.values():
        by_name.setdefault(os.path.basename(path), []).append(path)
    callers: dict[tuple[str, ...], list[PyLoc]] = {}  # a .loc's (file, line, col) -> its call sites
    out: dict[int, list[PyLoc]] = {}
    current: list[PyLoc] = []
    for n, row in enumerate(lines, 1):
        stripped = row.strip()
        if m := _PTX_LOC.match(row):
            file, line, col, at_file, at_line, at_col = m.groups()
            calls: list[PyLoc] = []
            if at_file in files:  # the caller's own callers came on the .loc emitted just before
                calls = [(files[at_file], int(at_line))] + callers.get((at_file, at_line, at_col), [])
            else:  # in the comment (// in PTX, ; in AMDGCN), by file name: known where one .file has it
                calls = [(by_name[name][0], int(ln)) for name, ln in _PTX_CALLER.findall(row)
                         if len(by_name.get(name, ())) == 1]
            callers[(file, line, col)] = calls
            current = _dedupe(([(files[file], int(line))] if file in files and int(line) else []) + calls)
            continue
        if stripped in ("}", "{") or stripped.startswith(".entry") or stripped.startswith(".visible"):
            current = []
            continue
        if not stripped or stripped.startswith(("//", ";")) or stripped.startswith(".") or stripped.endswith(":") \
                or stripped.startswith("$L"):
            continue
        if current:
            out[n] = list(current)
    return out


def _dedupe(locs: list[PyLoc]) -> list[PyLoc]:
    seen: set[PyLoc] = set()
    out = []
    for loc in locs:
        if loc not in seen:
            seen.add(loc)
            out.append(loc)
    return out


PARSERS = {"ttir": mlir_map, "ttgir": mlir_map, "llir": llir_map, "ptx": ptx_map,
           "amdgcn": ptx_map}  # AMDGCN carries the same .file/.loc directives


def build(levels: dict[str, str | bytes], sass_lines: dict[int, PyLoc] | None = None,
          python: dict | None = None, sass_ptx_lines: dict[int, int] | None = None) -> SourceMap:
    """``sass_ptx_lines``: the PTX line of each SASS line, whose call-site chain the SASS line takes."""
    smap = SourceMap()
    if python:
        first, last = python["first_line"], python["last_line"]
        smap.levels["python"] = {n: [(python["file"], n)] for n in range(first, last + 1)}
    for level, parse in PARSERS.items():
        content = levels.get(level)
        if isinstance(content, str):
            smap.levels[level] = parse(content)
    if sass_lines:
        ptx, via = smap.levels.get("ptx", {}), sass_ptx_lines or {}
        smap.levels["sass"] = {n: _called_as(loc, ptx.get(via.get(n), [])) for n, loc in sass_lines.items()}
    return smap


def _called_as(loc: PyLoc, ptx_locs: list[PyLoc]) -> list[PyLoc]:
    """A SASS line's location with its PTX line's call sites, where that PTX line is from the same place."""
    if ptx_locs and _norm(ptx_locs[0][0]) == _norm(loc[0]) and ptx_locs[0][1] == loc[1]:
        return _dedupe([loc] + ptx_locs[1:])
    return [loc]

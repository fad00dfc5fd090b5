"""SASS from a cubin, with the Python line of every instruction.

``nvdisasm -c -g`` (the Triton wheel ships it) prints ``//## File "k.py", line 7`` before
each run of instructions from that line. Those comments are folded into a line map and left
out of the text, so the SASS pane reads like ``cuobjdump -sass`` and still maps back. With
``-gp`` it also prints ``//## File ".nv_debug_ptx_txt", line 102``: the line of the PTX the
instruction came from (the PTX is kept line for line), whose call-site chain the source map uses.
"""

from __future__ import annotations

import re
import subprocess
import urllib.parse
from dataclasses import dataclass, field

from workbench.compiler import scratch
from workbench.model.diagnostics import WorkbenchError

_PTX_LINE = re.compile(r'^\s*//## File "\.nv_debug_ptx_txt", line (\d+)')
_FILE_LINE = re.compile(r'^\s*//## File "(?P<file>[^"]*)", line (?P<line>\d+)')
_INLINED = re.compile(r'^\s*//## File "(?P<file>[^"]*)", line (?P<line>\d+) inlined at')
_ARCH = re.compile(r"EF_CUDA_SM(\d+)")
_FUNC = re.compile(r"^\s*\.global\s+(\w+)")


@dataclass
class Sass:
    text: str
    # 1-based SASS line -> (python file, python line)
    lines: dict[int, tuple[str, int]] = field(default_factory=dict)
    arch: int | None = None
    functions: list[str] = field(default_factory=list)
    ptx_lines: dict[int, int] = field(default_factory=dict)  # 1-based SASS line -> PTX line


def disassemble(cubin: bytes, nvdisasm: str) -> Sass:
    with scratch.folder() as folder:
        path = folder / "kernel.cubin"
        path.write_bytes(cubin)
        proc = subprocess.run([nvdisasm, "-c", "-g", "-gp", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise WorkbenchError.at("<cubin>", f"nvdisasm could not read the cubin: {proc.stderr.strip()}",
                                detail=proc.stderr)
    return fold_line_info(proc.stdout)


def fold_line_info(raw: str) -> Sass:
    out: list[str] = []
    lines: dict[int, tuple[str, int]] = {}
    ptx_lines: dict[int, int] = {}
    current: tuple[str, int] | None = None
    ptx_line = None
    arch = None
    functions: list[str] = []
    for row in raw.splitlines():
        if arch is None and (m := _ARCH.search(row)):
            arch = int(m.group(1))
        if m := _PTX_LINE.match(row):
            ptx_line = int(m.group(1))
            continue
        if m := _FILE_LINE.match(row):
            if not _INLINED.match(row) or current is None:
                current = (urllib.parse.unquote(m.group("file")), int(m.group("line")))
            continue
        if m := _FUNC.match(row):
            functions.append(m.group(1))
            current = ptx_line = None
        out.append(row)
        if "/*" in row and ";" in row:  # an instruction
            if current is not None:
                lines[len(out)] = current
            if ptx_line is not None:
                ptx_lines[len(out)] = ptx_line
    return Sass("\n".join(out) + "\n", lines, arch, functions, ptx_lines)


_FILE_DIRECTIVE = re.compile(r'^([ \t]*\.file[ \t]+\d+[ \t]+)(.*)$', re.MULTILINE)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|(.))")
# what stays itself in a percent-encoded file name: printable ASCII but for % \ and "
_PLAIN = "".join(chr(c) for c in range(32, 127) if chr(c) not in '%\\"')


def ascii_for_ptxas(ptx: str) -> str:
    """The PTX with what ptxas refuses made ASCII, line for line (so its line numbers hold).

    ptxas rejects any non-ASCII byte, even in a comment, and LLVM writes the kernel's file
    name after each ``.loc``: a script named ``vecé.py`` fails. And nvdisasm mangles the
    octal escapes LLVM writes in ``.file`` names. So file names are percent-encoded, which
    :func:`fold_line_info` decodes back exactly; non-ASCII in comments becomes ``?``.
    """
    ptx = _FILE_DIRECTIVE.sub(lambda m: m.group(1) + _QUOTED.sub(_percent_encoded, m.group(2)), ptx)
    if ptx.isascii():
        return ptx
    rows = ptx.split("\n")
    for i, row in enumerate(rows):
        if not row.isascii() and "//" in row:
            code, comment = row.split("//", 1)
            rows[i] = code + "//" + "".join(c if c.isascii() else "?" for c in comment)
    return "\n".join(rows)


def _percent_encoded(quoted: re.Match) -> str:
    raw = _ESCAPE.sub(lambda e: bytes([int(e.group(1), 8) & 0xFF]) if e.group(1) else e.group(2),
                      quoted.group(1).encode("utf-8", "surrogateescape"))
    return '"' + urllib.parse.quote(raw, safe=_PLAIN) + '"'


_OFFSET = re.compile(r"^\s*/\*([0-9a-fA-F]{4,})\*/\s+(.*?)\s*;")


def sass_offsets(sass_text: str) -> dict[int, tuple[int, str]]:
    """Instruction offset -> (1-based line in the SASS pane, its text)."""
    out = {}
    for n, row in enumerate(sass_text.splitlines(), 1):
        if m := _OFFSET.match(row):
            out[int(m.group(1), 16)] = (n, m.group(2))
    return out

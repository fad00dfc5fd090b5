"""SASS from a cubin, with the Python line of every instruction.

``nvdisasm -c -g`` (the Triton wheel ships it) prints ``//## File "k.py", line 7`` before
each run of instructions from that line. Those comments are folded into a line map and left
out of the text, so the SASS pane reads like ``cuobjdump -sass`` and still maps back.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field

from . import scratch
from .errors import WorkbenchError

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


def disassemble(cubin: bytes, nvdisasm: str) -> Sass:
    with scratch.folder() as folder:
        path = folder / "kernel.cubin"
        path.write_bytes(cubin)
        proc = subprocess.run([nvdisasm, "-c", "-g", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise WorkbenchError.at("<cubin>", f"nvdisasm could not read the cubin: {proc.stderr.strip()}",
                                detail=proc.stderr)
    return fold_line_info(proc.stdout)


def fold_line_info(raw: str) -> Sass:
    out: list[str] = []
    lines: dict[int, tuple[str, int]] = {}
    current: tuple[str, int] | None = None
    arch = None
    functions: list[str] = []
    for row in raw.splitlines():
        if arch is None and (m := _ARCH.search(row)):
            arch = int(m.group(1))
        if m := _FILE_LINE.match(row):
            if not _INLINED.match(row) or current is None:
                current = (m.group("file"), int(m.group("line")))
            continue
        if m := _FUNC.match(row):
            functions.append(m.group(1))
            current = None
        out.append(row)
        if current is not None and "/*" in row and ";" in row:  # an instruction
            lines[len(out)] = current
    return Sass("\n".join(out) + "\n", lines, arch, functions)

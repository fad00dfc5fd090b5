"""The compilation levels, in pipeline order, and how files name them."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

# Levels a user can start a compile from, in pipeline order (NVIDIA targets).
IR_LEVELS = ("ttir", "ttgir", "llir", "ptx", "cubin")
# The same for AMD targets (hip:gfx942): AMDGCN assembly stands where PTX does, hsaco for cubin.
AMD_IR_LEVELS = ("ttir", "ttgir", "llir", "amdgcn", "hsaco")
# Everything the workbench shows. "python" is the kernel's source; "sass" is view-only.
LEVELS = ("python",) + IR_LEVELS + ("sass",)
BINARY_LEVELS = frozenset({"cubin", "hsaco"})
TEXT_LEVELS = tuple(level for level in LEVELS if level not in BINARY_LEVELS)

SUFFIX = {"python": ".py", "glir": ".glir", "ttir": ".ttir", "ttgir": ".ttgir", "llir": ".llir", "ptx": ".ptx",
          "cubin": ".cubin", "sass": ".sass", "amdgcn": ".amdgcn", "hsaco": ".hsaco"}


class UnknownLevel(ValueError):
    pass


def level_of(path: str | Path) -> str:
    """The level a file holds, from its suffix (``kernel.ttgir`` -> ``ttgir``)."""
    suffix = Path(path).suffix.lower()
    for level, ext in SUFFIX.items():
        if ext == suffix and (level in IR_LEVELS or level in AMD_IR_LEVELS):
            return level
    raise UnknownLevel(f"{path}: not a level file (expected one of "
                       f"{', '.join(SUFFIX[level] for level in dict.fromkeys(IR_LEVELS + AMD_IR_LEVELS))})")


_COOKIE = re.compile(r"^([ \t\f]*#.*?coding[:=][ \t]*)([-\w.]+)", re.M)


def read_source(path: str | Path) -> str:
    """A Python file's text as Python reads it: in the encoding its PEP 263 line (or BOM) names.
    Every file of ours is UTF-8, so a coding line that names another encoding is made to say
    utf-8 (a copy written as read would otherwise be decoded as latin-1 when it is loaded)."""
    with tokenize.open(path) as f:
        text, encoding = f.read(), f.encoding
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf-8-sig"):
        head = text.split("\n", 2)
        for i in range(min(2, len(head))):
            if _COOKIE.match(head[i]):
                head[i] = _COOKIE.sub(lambda m: m.group(1) + "utf-8", head[i], count=1)
                break
        text = "\n".join(head)
    return text


def ir_levels(backend: str = "cuda") -> tuple[str, ...]:
    """The IR levels of a target's backend (``cuda`` or ``hip``)."""
    return AMD_IR_LEVELS if backend == "hip" else IR_LEVELS


def below(level: str, backend: str | None = None) -> tuple[str, ...]:
    """The IR levels produced when compiling from ``level`` (the backend from the level itself
    when it names one: ``amdgcn`` is AMD's)."""
    levels = ir_levels(backend or ("hip" if level in ("amdgcn", "hsaco") else "cuda"))
    if level == "python":
        return levels
    return levels[levels.index(level) + 1:]

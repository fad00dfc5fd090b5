"""The compilation levels, in pipeline order, and how files name them."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

# Levels a user can start a compile from, in pipeline order.
IR_LEVELS = ("ttir", "ttgir", "llir", "ptx", "cubin")
# Everything the workbench shows. "python" is the kernel's source; "sass" is view-only.
LEVELS = ("python",) + IR_LEVELS + ("sass",)
BINARY_LEVELS = frozenset({"cubin"})
TEXT_LEVELS = tuple(level for level in LEVELS if level not in BINARY_LEVELS)

SUFFIX = {"python": ".py", "glir": ".glir", "ttir": ".ttir", "ttgir": ".ttgir", "llir": ".llir", "ptx": ".ptx",
          "cubin": ".cubin", "sass": ".sass"}


class UnknownLevel(ValueError):
    pass


def level_of(path: str | Path) -> str:
    """The level a file holds, from its suffix (``kernel.ttgir`` -> ``ttgir``)."""
    suffix = Path(path).suffix.lower()
    for level, ext in SUFFIX.items():
        if ext == suffix and level in IR_LEVELS:
            return level
    raise UnknownLevel(f"{path}: not a level file (expected one of "
                       f"{', '.join(SUFFIX[level] for level in IR_LEVELS)})")


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


def below(level: str) -> tuple[str, ...]:
    """The IR levels produced when compiling from ``level``."""
    if level == "python":
        return IR_LEVELS
    return IR_LEVELS[IR_LEVELS.index(level) + 1:]

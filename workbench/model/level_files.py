"""The compilation levels, in pipeline order, and how files name them (from the registry in
workbench.model.levels)."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path
from types import MappingProxyType

from workbench.model.levels import AMD, NVIDIA, REGISTRY, family_of_backend

# Levels a user can start a compile from, in pipeline order (NVIDIA targets; AMDGCN and hsaco on AMD).
IR_LEVELS = NVIDIA.ir
AMD_IR_LEVELS = AMD.ir
BINARY_LEVELS = frozenset(name for name, level in REGISTRY.items() if level.binary)
SUFFIX = MappingProxyType({name: level.suffix for name, level in REGISTRY.items()})


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
    return family_of_backend(backend).ir


def below(level: str, backend: str | None = None) -> tuple[str, ...]:
    """The IR levels produced when compiling from ``level`` (the backend from the level itself
    when it names one: ``amdgcn`` is AMD's)."""
    levels = ir_levels(backend or ("hip" if level in ("amdgcn", "hsaco") else "cuda"))
    if level == "python":
        return levels
    return levels[levels.index(level) + 1:]

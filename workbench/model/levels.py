"""The compilation levels in one registry (what each is called, its file, how it is shown), and
the names of the app's panes for each target family (NVIDIA, AMD) as values: the open script's
target picks one; no table is rewritten at run time."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType


@dataclass(frozen=True)
class Level:
    """One level: ``name`` as the pipeline and the runner say it, its file's ``suffix``, the
    ``title`` a pane shows, its place in pipeline ``order``; ``editable``: a compile can start
    from it; ``binary``: its file is not text; ``lexer``: the key of the lexer that colours it
    (``workbench.highlight.LEVEL_LEXERS``; one it lacks shows plain text)."""

    name: str
    suffix: str
    title: str
    order: int
    editable: bool
    binary: bool
    lexer: str


REGISTRY = MappingProxyType({level.name: level for level in (
    Level("python", ".py", "Python", 0, editable=True, binary=False, lexer="python"),
    Level("glir", ".glir", "GLIR", 1, editable=False, binary=False, lexer="glir"),   # Gluon's IR
    Level("ttir", ".ttir", "TTIR", 2, editable=True, binary=False, lexer="ttir"),
    Level("ttgir", ".ttgir", "TTGIR", 3, editable=True, binary=False, lexer="ttgir"),
    Level("llir", ".llir", "LLIR", 4, editable=True, binary=False, lexer="llir"),
    Level("ptx", ".ptx", "PTX", 5, editable=True, binary=False, lexer="ptx"),
    Level("amdgcn", ".amdgcn", "AMDGCN", 5, editable=True, binary=False, lexer="amdgcn"),
    Level("cubin", ".cubin", "CUBIN", 6, editable=True, binary=True, lexer="text"),
    Level("hsaco", ".hsaco", "HSACO", 6, editable=True, binary=True, lexer="text"),
    Level("sass", ".sass", "SASS", 7, editable=False, binary=False, lexer="sass"),   # view-only
)})

# The app's panes, by NVIDIA's level names whatever the target (its layout is one).
PANES = ("python", "ttir", "ttgir", "llir", "ptx", "sass")
# Panes a user edits and saves (a text level a compile can start from).
EDITABLE_PANES = frozenset(p for p in PANES if REGISTRY[p].editable and not REGISTRY[p].binary)


def title_of(name: str) -> str:
    """A level's title by its own name (a runner's answer says ``amdgcn``); an unknown name as is."""
    level = REGISTRY.get(name)
    return level.title if level else name


@dataclass(frozen=True)
class Family:
    """A target family: the IR levels a compile starts from (``ir``, in pipeline order) and the
    level each of the app's ``PANES`` shows (``panes``, in that order)."""

    name: str
    backend: str
    ir: tuple[str, ...]
    panes: tuple[Level, ...]

    def level(self, pane: str) -> Level:
        return self.panes[PANES.index(pane)]

    def title(self, key: str) -> str:
        """A pane's title; for a level no pane is (a runner's answer may name one), its own."""
        return self.level(key).title if key in PANES else title_of(key)

    def suffix(self, pane: str) -> str:
        return self.level(pane).suffix

    def lexer(self, pane: str) -> str:
        return self.level(pane).lexer

    def pane_of_suffix(self, suffix: str) -> str | None:
        """The pane whose file has ``suffix`` (``.amdgcn``: the ptx pane on AMD), or None."""
        return next((p for p, level in zip(PANES, self.panes) if level.suffix == suffix), None)


NVIDIA = Family("NVIDIA", "cuda", ("ttir", "ttgir", "llir", "ptx", "cubin"), tuple(REGISTRY[p] for p in PANES))
# hip:gfx942: AMDGCN assembly stands where PTX does (hsaco for cubin), and there is no SASS.
AMD = Family("AMD", "hip", ("ttir", "ttgir", "llir", "amdgcn", "hsaco"),
             tuple(REGISTRY["amdgcn"] if p == "ptx" else replace(REGISTRY["sass"], title="SASS (none for AMD)")
                   if p == "sass" else REGISTRY[p] for p in PANES))


def family_of(target: str | None) -> Family:
    """The family of a target string (``hip:gfx942`` is AMD's; anything else, ``cuda:90`` or
    none yet, NVIDIA's)."""
    return AMD if str(target or "").startswith("hip:") else NVIDIA


def family_of_backend(backend: str) -> Family:
    return AMD if backend == "hip" else NVIDIA

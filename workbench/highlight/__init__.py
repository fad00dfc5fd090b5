"""Syntax highlighting for every level: pygments lexers, ours for MLIR and SASS.

pygments has PTX and LLVM IR lexers; MLIR (TTIR, TTGIR), SASS and AMDGCN are ours, registered
through the ``pygments.lexers`` entry point group, so ``pygmentize -l mlir`` works too.
Importing this package is cheap: lexers are imported when a level asks for one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pygments.lexer import Lexer

__all__ = ["LEVEL_LEXERS", "lexer_for_level", "MlirLexer", "SassLexer", "AmdgcnLexer"]

# lexer key -> (module, class): a level names its key in workbench.model.levels (its ``lexer``)
LEVEL_LEXERS: dict[str, tuple[str, str]] = {
    "python": ("pygments.lexers.python", "PythonLexer"),
    "gluon": ("pygments.lexers.python", "PythonLexer"),
    "ttir": ("workbench.highlight.mlir", "MlirLexer"),
    "ttgir": ("workbench.highlight.mlir", "MlirLexer"),
    "glir": ("workbench.highlight.mlir", "MlirLexer"),
    "mlir": ("workbench.highlight.mlir", "MlirLexer"),
    "llir": ("workbench.highlight.llvm", "LlvmIrLexer"),
    "ptx": ("workbench.highlight.ptx", "PtxLexer"),
    "sass": ("workbench.highlight.sass", "SassLexer"),
    "amdgcn": ("workbench.highlight.amdgcn", "AmdgcnLexer"),
}


def lexer_for_level(level: str, **options) -> "Lexer":
    """A fresh pygments lexer for a level (``python``, ``ttir``, ``ttgir``, ``llir``, ``ptx``, ``sass``).

    Unknown levels get pygments' plain ``TextLexer`` rather than an error: a view must always
    be able to show a file. ``stripnl`` and ``ensurenl`` default to off so that token
    texts join back to the exact input, line for line.
    """
    import importlib

    module, cls = LEVEL_LEXERS.get(level.lower(), ("pygments.lexers.special", "TextLexer"))
    options.setdefault("stripnl", False)
    options.setdefault("ensurenl", False)
    return getattr(importlib.import_module(module), cls)(**options)


def warm_lexers(levels=tuple(LEVEL_LEXERS)) -> None:
    """Make each level's lexer once, so that its regexes (tens of ms for all of them) are
    compiled by the time a level's text comes; the app runs this on a thread after its first
    frame, while the runner starts."""
    for level in levels:
        list(lexer_for_level(level).get_tokens("x\n"))


def __getattr__(name: str):
    if name == "MlirLexer":
        from workbench.highlight.mlir import MlirLexer
        return MlirLexer
    if name == "SassLexer":
        from workbench.highlight.sass import SassLexer
        return SassLexer
    if name == "AmdgcnLexer":
        from workbench.highlight.amdgcn import AmdgcnLexer
        return AmdgcnLexer
    raise AttributeError(name)

"""PTX with guard predicates: pygments' PtxLexer marks ``@%p1`` / ``@!%p2`` as errors."""

from __future__ import annotations

from pygments.lexer import inherit
from pygments.lexers.ptx import PtxLexer as _PygmentsPtxLexer

from workbench.highlight.tokens import Predicate


class PtxLexer(_PygmentsPtxLexer):
    """NVIDIA PTX (``.ptx``)."""

    name = "PTX (workbench)"
    aliases = []
    filenames = []

    tokens = {
        "root": [
            (r"@!?%[\w$]+", Predicate),
            inherit,
        ],
    }

"""LLVM IR as Triton prints it.

pygments' LlvmLexer tries one large alternation of every LLVM keyword at each position
(2.8 s for a 20,000-line module on a 2-core EPYC) and marks newer words (``captures(none)``,
``DW_ATE_float``) as errors. This one treats any bare word as a keyword and tells the type
words apart: same token types, several times faster, no error tokens.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace

from workbench.highlight.tokens import SSA

_NAME = r'(?:[-a-zA-Z$._][\w\-$.]*|"[^"\n]*"|\d+)'


class LlvmIrLexer(RegexLexer):
    """LLVM IR (``.llir``, ``.ll``)."""

    name = "LLVM IR"
    aliases = ["llir"]
    filenames = ["*.llir"]
    mimetypes = []

    tokens = {
        "root": [
            (r"\n", Whitespace),
            (r"[ \t]+", Whitespace),
            (r";.*?$", Comment.Single),
            (r"^(" + _NAME + r")(:)", bygroups(Name.Label, Punctuation)),
            (r"%" + _NAME, SSA),
            (r"@" + _NAME, Name.Function),
            (r"![A-Za-z_][\w.]*(?=\()", Keyword.Type),      # !DILocation(
            (r"!" + _NAME, Name.Decorator),                  # !dbg !7
            (r"#\d+", Name.Decorator),
            (r'c?"(?:\\.|[^"\\\n])*"', String.Double),
            (r"(?:i\d+|half|bfloat|float|double|fp128|void|ptr|label|metadata|token)\b", Keyword.Type),
            (r"0[xX][KLMHR]?[a-fA-F0-9]+", Number.Hex),
            (r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", Number),
            (r"[A-Za-z_][\w.]*(?=\s*:)", Name.Attribute),     # line: 7, scope: !3
            (r"[a-z_][\w.]*", Keyword),
            (r"[A-Z_][\w.]*", Name.Constant),                 # DW_ATE_float, DIFlagPrototyped
            (r"[=*]", Operator),
            (r"[<>{}\[\](),:.!]", Punctuation),
            (r".", Text),
        ],
    }

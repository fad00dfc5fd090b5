"""A pygments lexer for MLIR as Triton prints it (TTIR, TTGIR, and Gluon's GLIR).

Covers what ``ir.module.str()`` produces: ``#alias = ...`` attribute definitions, ``tt.func``,
SSA values (``%x_3``, ``%12``, ``%acc:9``, ``%x#1``), block labels (``^bb0``), dialect ops
(``arith.addf``, ``scf.for``, ``ttg.convert_layout``, generic ``"tt.reduce"(...)``), builtin and
dialect types (``tensor<128x64xf16, #blocked>``, ``!tt.ptr<f32>``), attribute dictionaries and
``loc(...)`` locations, which nest (``loc(callsite(#loc1 at #loc35))``).
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace

from workbench.highlight.tokens import SSA, AttrAlias, Location, Op

_ID = r"[A-Za-z_][\w$.-]*"
_BUILTIN_TYPES = (r"(?:[su]?i\d+|f\d+|bf16|tf32|f8E\w+|index|none|tensor|memref|vector|complex|tuple)\b")
_KEYWORDS = ("module", "attributes", "public", "private", "nested", "to", "step", "iter_args", "dense", "true",
             "false", "unit", "mask", "other", "tokens", "at", "callsite", "fused", "unknown", "inbounds",
             "evictionPolicy", "cacheModifier", "isVolatile", "mutable", "reduce", "return", "x", "y", "z")


class MlirLexer(RegexLexer):
    """MLIR as printed by Triton (TTIR, TTGIR)."""

    name = "MLIR"
    aliases = ["mlir", "ttir", "ttgir", "triton-mlir"]
    filenames = ["*.mlir", "*.ttir", "*.ttgir"]
    mimetypes = ["text/x-mlir"]
    url = "https://mlir.llvm.org/docs/LangRef/"

    tokens = {
        "root": [
            (r"\n", Whitespace),
            (r"[ \t]+", Whitespace),
            (r"//.*?$", Comment.Single),
            (r"loc\(", Location, "loc"),
            (r'"(?:\\.|[^"\\])*"(?=\()', Op),                     # generic op form: "tt.reduce"(...)
            (r'"(?:\\.|[^"\\])*"', String.Double),
            (r"%[\w$.-]+(?:[:#]\d+)?", SSA),                     # %x, %12, %acc:9, %x#1
            (r"\^[\w$.-]+", Name.Label),                          # ^bb0
            (r"@[\w$.-]+", Name.Function),                        # @softmax_kernel
            (r'@"(?:\\.|[^"\\])*"', Name.Function),
            (r"#" + _ID, AttrAlias),                              # #blocked, #loc3, #ttg.blocked
            (r"![\w$.-]+", Keyword.Type),                         # !tt.ptr, !ttg.memdesc
            (r"0x[0-9A-Fa-f]+", Number.Hex),
            (r"(?:(?:\d+|\?)x)+", Keyword.Type),                  # the 128x64x of tensor<128x64xf16>
            (_BUILTIN_TYPES, Keyword.Type),
            (r"[-+]?\d+\.\d*(?:[eE][-+]?\d+)?", Number.Float),
            (r"[-+]?\d+(?:[eE][-+]?\d+)", Number.Float),
            (r"[-+]?\d+", Number.Integer),
            (r"(" + _ID + r")(\s*)(=)(?!=)", bygroups(Name.Attribute, Whitespace, Operator)),  # {axis = 0}
            (r"[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)+", Op),       # arith.addf, tt.reduce.return
            (r"(?:" + "|".join(_KEYWORDS) + r")\b", Keyword),
            (_ID, Name),
            (r"->|=|:|\*", Operator),
            (r"[(){}\[\]<>,]", Punctuation),
            (r".", Text),
        ],
        "loc": [
            (r'"(?:\\.|[^"\\])*"', Location),
            (r"\(", Location, "#push"),
            (r"\)", Location, "#pop"),
            (r'[^()"\n]+', Location),
            (r"\n", Whitespace, "#pop"),                         # a broken loc never swallows the file
        ],
    }

    def analyse_text(text):  # noqa: N805 (pygments' signature)
        score = 0.0
        if "tt.func" in text:
            score += 0.5
        if "loc(" in text and "%" in text:
            score += 0.2
        return min(score, 1.0)

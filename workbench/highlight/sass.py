"""A pygments lexer for SASS as nvdisasm prints it (``nvdisasm -c -g``, ``cuobjdump -sass``).

An instruction line is ``/*0040*/  @!P0 LDG.E.128 R4, desc[UR8][R2.64] ;``: an offset, an
optional guard predicate, an opcode with dotted modifiers, operands. Around the instructions:
labels (``.L_x_1:``, ``softmax_kernel:``), directives (``.section``, ``.headerflags``),
``//`` comments, and ``//## File "k.py", line 7`` line info.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, default
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace

from workbench.highlight.tokens import Address, Location, Op, Predicate, Register

_PRED = r"!?U?P(?:\d+|T)\b"
_REG = r"(?:U?R\d+|U?RZ|SRZ|SR_[A-Z0-9_]+(?:\.[A-Z0-9_]+)*|UPT|PR|UPR)\b"


class SassLexer(RegexLexer):
    """NVIDIA SASS as printed by nvdisasm and cuobjdump."""

    name = "SASS"
    aliases = ["sass", "nvdisasm"]
    filenames = ["*.sass"]
    mimetypes = ["text/x-sass-nvidia"]
    url = "https://docs.nvidia.com/cuda/cuda-binary-utilities/"

    tokens = {
        "root": [
            (r"\n", Whitespace),
            (r"[ \t]+", Whitespace),
            (r"//##.*?$", Location),
            (r"//.*?$", Comment.Single),
            (r"/\*[0-9a-fA-F]+\*/", Address, "instruction"),
            (r"/\*.*?\*/", Comment.Multiline),                  # cuobjdump's trailing encodings
            (r"(\.?[A-Za-z_$][\w$.]*)(:)", bygroups(Name.Label, Punctuation)),
            (r"\.L_[\w$]+", Name.Label),                         # a reference to a label
            (r"\.[A-Za-z_][\w]*", Keyword),                      # .section .align .type ...
            (r'@?"(?:\\.|[^"\\])*"', String.Double),
            (r"@\w+", Name.Attribute),                           # @progbits @function @object
            (r"0x[0-9a-fA-F]+", Number.Hex),
            (r"\d+", Number.Integer),
            (r"[\w$.]+", Name),
            (r"[-+(),]", Punctuation),
            (r".", Text),
        ],
        "instruction": [
            (r"[ \t]+", Whitespace),
            (r"@" + _PRED, Predicate),
            (r"\{", Punctuation),                                # dual-issue braces (older archs)
            (r"[A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)*", Op, ("#pop", "operands")),
            (r"\n", Whitespace, "#pop"),
            default("#pop"),
        ],
        "operands": [
            (r"\n", Whitespace, "#pop"),
            (r"[ \t]+", Whitespace),
            (r";", Punctuation, "#pop"),
            (r"/\*.*?\*/", Comment.Multiline),
            (r"//.*?$", Comment.Single),
            (r"(`\()([\w.$]+)(\))", bygroups(Punctuation, Name.Label, Punctuation)),   # `(.L_x_0)
            (r"\b(c)(\[)", bygroups(Name.Constant, Punctuation)),                     # c[0x0][0x160]
            (r"\b(desc|gdesc|tmem)(\[)", bygroups(Name.Constant, Punctuation)),
            (r"-?" + _PRED, Predicate),
            (r"[-|~!]?" + _REG + r"(?:\.(?:reuse|64|128|H0|H1|B\d|X\d|U32|F32|F16|BF16)\b)*", Register),
            (r"-?0x[0-9a-fA-F]+", Number.Hex),
            (r"[-+]?(?:\d+\.\d*(?:e[-+]?\d+)?|INF|QNAN|NAN)\b", Number.Float),
            (r"[-+]?\d+", Number.Integer),
            (r"[A-Z_][A-Z0-9_]*(?:\.[A-Z0-9_]+)*", Name.Constant),   # SB0, SR_*, THREAD, ...
            (r"[\[\]{}(),|]", Punctuation),
            (r"[-+~!]", Operator),
            (r"[\w.$]+", Name),
            (r".", Text),
        ],
    }

    def analyse_text(text):  # noqa: N805
        return 0.6 if "/*0000*/" in text else 0.0

"""A pygments lexer for AMDGCN assembly as LLVM prints it for AMD targets (hip:gfx942 ...).

An instruction line is ``v_pk_add_f32 v[2:3], v[2:3], v[6:7]``: a lower-case mnemonic, then
scalar/vector/accumulator registers (``s14``, ``v[0:15]``, ``a3``, ``vcc``, ``exec``),
immediates and modifiers (``offset:16``, ``lgkmcnt(0)``). Around them: labels (``.LBB0_3:``),
directives (``.amdhsa_kernel``), ``;`` comments, ``.loc`` line info, and the kernel's YAML
metadata between ``.amdgpu_metadata`` and ``.end_amdgpu_metadata``.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace

from workbench.highlight.tokens import Location, Op, Register

_REG = (r"(?:(?:[sva]|acc|ttmp)(?:\d+\b|\[\d+:\d+\])|(?:vcc(?:_lo|_hi)?|exec(?:_lo|_hi)?|m0|scc|vccz|execz"
        r"|flat_scratch(?:_lo|_hi)?|src_\w+)\b)")


class AmdgcnLexer(RegexLexer):
    """AMD GCN/CDNA assembly (LLVM's AMDGPU backend output, ``llc -march=amdgcn``)."""

    name = "AMDGCN"
    aliases = ["amdgcn", "gcn"]
    filenames = ["*.amdgcn"]
    mimetypes = ["text/x-amdgcn"]
    url = "https://llvm.org/docs/AMDGPUUsage.html"

    tokens = {
        "root": [
            (r"\n", Whitespace),
            (r"[ \t]+", Whitespace),
            (r"\.loc\b[^\n]*", Location),
            (r";[^\n]*", Comment.Single),
            (r"(\.?[A-Za-z_$][\w$.]*)(:)", bygroups(Name.Label, Punctuation)),
            (r"\.[A-Za-z_][\w.]*", Keyword),                     # .text .amdhsa_kernel .p2align ...
            (r"[a-z][a-z0-9_]*(?=[ \t]|$)", Op, "operands"),     # an instruction's mnemonic
            (r'"(?:\\.|[^"\\])*"', String.Double),
            (r"@\w+", Name.Attribute),                           # @progbits @function
            (r"0x[0-9a-fA-F]+", Number.Hex),
            (r"-?\d+", Number.Integer),
            (r"[\w$.]+", Name),
            (r"[-+(),\[\]:]", Punctuation),
            (r".", Text),
        ],
        "operands": [
            (r"(?=\n)", Whitespace, "#pop"),
            (r"[ \t]+", Whitespace),
            (r";[^\n]*", Comment.Single),
            (r"-?" + _REG, Register),
            (r"(\w+)(:)", bygroups(Name.Attribute, Punctuation)),   # offset:16 offset1:16
            (r"(\w+)(\()", bygroups(Name.Attribute, Punctuation)),  # lgkmcnt(0) vmcnt(0)
            (r"\.L\w+", Name.Label),
            (r"-?0x[0-9a-fA-F]+", Number.Hex),
            (r"-?\d+\.\d*(?:e[-+]?\d+)?", Number.Float),
            (r"-?\d+", Number.Integer),
            (r"[\w$.]+", Name),                                  # off glc sc0 nt ...
            (r"[\[\](),:|]", Punctuation),
            (r"[-+~!&]", Operator),
            (r".", Text),
        ],
    }

    def analyse_text(text):  # noqa: N805
        return 0.6 if ".amdgcn_target" in text else 0.0

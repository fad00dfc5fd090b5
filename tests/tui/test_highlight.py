"""The lexers on real Triton output (tests/data: softmax and matmul for cuda:90, Triton 3.6)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, Punctuation, String

from helpers import ROOT
from workbench.highlight import lexer_for_level
from workbench.highlight.tokens import Address, AttrAlias, Location, Op, Predicate, Register, SSA

DATA = ROOT / "tests" / "data"


def tokens(level: str, text: str) -> list[tuple[object, str]]:
    return [(t, v) for t, v in lexer_for_level(level).get_tokens(text) if v.strip()]


def kinds(level: str, line: str) -> dict[str, object]:
    """value -> token type, for one line (the last token of a value wins)."""
    return {v: t for t, v in tokens(level, line)}


@pytest.mark.parametrize("name,level", [("softmax.ttir", "ttir"), ("softmax.ttgir", "ttgir"),
                                        ("matmul_loop.ttgir", "ttgir"), ("softmax.llir", "llir"),
                                        ("softmax.ptx", "ptx"), ("softmax.sass", "sass"),
                                        ("matmul_branch.sass", "sass"), ("matmul_gfx942.amdgcn", "amdgcn")])
def test_real_files_lex_without_errors_and_round_trip(name, level):
    text = (DATA / name).read_text()
    toks = list(lexer_for_level(level).get_tokens(text))
    assert "".join(v for _, v in toks) == text          # nothing dropped, nothing added
    assert [v for t, v in toks if t in Error] == []


def test_amdgcn_tokens():
    lines = (DATA / "matmul_gfx942.amdgcn").read_text().splitlines()
    k = kinds("amdgcn", next(line for line in lines if "v_mfma_f32_32x32x8_f16" in line))
    assert k["v_mfma_f32_32x32x8_f16"] == Op and k["v[0:15]"] == Register and k["v[86:87]"] == Register
    k = kinds("amdgcn", next(line for line in lines if "ds_write_b32 v8, v4 offset:49536" in line))
    assert k["offset"] == Name.Attribute and k["49536"] == Number.Integer and k["v8"] == Register
    k = kinds("amdgcn", next(line for line in lines if "s_cbranch_vccnz .LBB0_11" in line))
    assert k["s_cbranch_vccnz"] == Op and k[".LBB0_11"] == Name.Label
    k = kinds("amdgcn", "\ts_waitcnt lgkmcnt(0)")
    assert k["s_waitcnt"] == Op and k["lgkmcnt"] == Name.Attribute
    assert tokens("amdgcn", ".LBB0_3:") == [(Name.Label, ".LBB0_3"), (Punctuation, ":")]
    loc = next(line for line in lines if line.strip().startswith(".loc"))
    assert tokens("amdgcn", loc) == [(Location, loc.strip())]
    assert kinds("amdgcn", '\t.amdgcn_target "amdgcn-amd-amdhsa--gfx942"')[".amdgcn_target"] == Keyword
    assert tokens("amdgcn", "\ts_endpgm ; the end") == [(Op, "s_endpgm"), (Comment.Single, "; the end")]


def test_mlir_ttgir_tokens():
    lines = (DATA / "softmax.ttgir").read_text().splitlines()
    k = kinds("ttgir", lines[0])      # #blocked = #ttg.blocked<{sizePerThread = [1], ...}>
    assert k["#blocked"] is AttrAlias and k["#ttg.blocked"] is AttrAlias
    assert k["sizePerThread"] is Name.Attribute
    func = next(line for line in lines if "tt.func public" in line)
    k = kinds("ttgir", func)
    assert k["tt.func"] is Op and k["public"] is Keyword and k["@softmax_kernel"] is Name.Function
    assert k["%out_ptr"] is SSA and k["!tt.ptr"] is Keyword.Type and k["f32"] is Keyword.Type
    assert k["tt.divisibility"] is Name.Attribute and k["16"] is Number.Integer
    load = next(line for line in lines if "tt.load" in line)
    assert tokens("ttgir", load) == [
        (SSA, "%x_4"), (Operator, "="), (Op, "tt.load"), (SSA, "%x_3"), (Punctuation, ","), (SSA, "%mask_0"),
        (Punctuation, ","), (SSA, "%cst"), (Operator, ":"), (Keyword.Type, "tensor"), (Punctuation, "<"),
        (Keyword.Type, "1024x"), (Keyword.Type, "!tt.ptr"), (Punctuation, "<"), (Keyword.Type, "f32"),
        (Punctuation, ">"), (Punctuation, ","), (AttrAlias, "#blocked"), (Punctuation, ">"),
        (Location, "loc("), (Location, "#loc34"), (Location, ")")]
    cst = next(line for line in lines if "arith.constant" in line)
    k = kinds("ttgir", cst)
    assert k["arith.constant"] is Op and k["dense"] is Keyword and k["0xFF800000"] is Number.Hex


def test_mlir_nested_locations_and_generic_ops():
    text = (DATA / "softmax.ttgir").read_text()
    line = next(line for line in text.splitlines() if line.startswith("#loc40 ="))
    toks = tokens("ttgir", line)   # #loc40 = loc(callsite(#loc1 at #loc35))
    assert toks[0] == (AttrAlias, "#loc40")
    assert all(t is Location for t, _ in toks[2:]) and "".join(v for _, v in toks[2:]) == \
        "loc(callsite(#loc1 at #loc35))"
    file_loc = next(line for line in text.splitlines() if line.startswith("#loc2 ="))
    assert tokens("ttgir", file_loc)[2:] == [(Location, "loc("), (Location, '"/work/main/examples/softmax.py"'),
                                             (Location, ":16:24"), (Location, ")")]
    reduce = next(line for line in text.splitlines() if '"tt.reduce"' in line)
    k = kinds("ttgir", reduce)
    assert k['"tt.reduce"'] is Op and k["axis"] is Name.Attribute
    block = next(line for line in text.splitlines() if "^bb0" in line)
    k = kinds("ttgir", block)
    assert k["^bb0"] is Name.Label and k["%x_8"] is SSA and k["#loc1 at #loc35"] is Location
    # the loc state ends at its line even when a paren is missing
    toks = tokens("ttgir", "%a = tt.load %p loc(#loc1\n%b = arith.addf %a, %a : f32\n")
    assert toks[toks.index((Location, "#loc1")) + 1:][:3] == [(SSA, "%b"), (Operator, "="), (Op, "arith.addf")]


def test_mlir_scf_for_and_ttgir_ops():
    text = (DATA / "matmul_loop.ttgir").read_text()
    k = kinds("ttgir", next(line for line in text.splitlines() if "scf.for" in line))
    assert k["scf.for"] is Op and k["%acc_83:9"] is SSA and k["iter_args"] is Keyword and k["to"] is Keyword
    assert k["!ttg.async.token"] is Keyword.Type and k["#mma"] is AttrAlias and k["128x128x"] is Keyword.Type
    k = kinds("ttgir", "%5 = ttg.convert_layout %4 : tensor<128x64xf16, #blocked> -> tensor<128x64xf16, #mma>")
    assert k["ttg.convert_layout"] is Op and k["->"] is Operator and k["f16"] is Keyword.Type
    k = kinds("ttgir", next(line for line in text.splitlines() if "ttng.warp_group_dot" in line))
    assert k["ttng.warp_group_dot"] is Op and k["!ttg.memdesc"] is Keyword.Type and k["true"] is Keyword
    assert kinds("ttgir", "// a comment %x = 1")["// a comment %x = 1"] is Comment.Single
    assert kinds("ttgir", '%s = "a string"')['"a string"'] is String.Double


def test_sass_tokens():
    lines = (DATA / "softmax.sass").read_text().splitlines()
    k = kinds("sass", next(line for line in lines if "LDC R1" in line))    # /*0000*/ LDC R1, c[0x0][0x28] ;
    assert k["/*0000*/"] is Address and k["LDC"] is Op and k["R1"] is Register
    assert k["c"] is Name.Constant and k["0x28"] is Number.Hex
    k = kinds("sass", next(line for line in lines if "@!P6 LDG.E" in line))
    assert k["@!P6"] is Predicate and k["LDG.E"] is Op and k["R4.64"] is Register and k["UR8"] is Register
    k = kinds("sass", next(line for line in lines if "LOP3.LUT R9, R20, 0x7f, RZ, 0xc0, !PT" in line))
    assert k["LOP3.LUT"] is Op and k["RZ"] is Register and k["!PT"] is Predicate and k["0xc0"] is Number.Hex
    k = kinds("sass", next(line for line in lines if "S2R R20" in line))
    assert k["SR_TID.X"] is Register
    k = kinds("sass", next(line for line in lines if line.strip().startswith(".section")))
    assert k[".section"] is Keyword and k["@progbits"] is Name.Attribute
    assert tokens("sass", lines[4]) == [(Comment.Single, lines[4])]   # //------ .text.softmax_kernel ---
    branch = (DATA / "matmul_branch.sass").read_text().splitlines()
    k = kinds("sass", next(line for line in branch if "BRA" in line))      # @P5 BRA `(.L_x_0) ;
    assert k["@P5"] is Predicate and k["BRA"] is Op and k[".L_x_0"] is Name.Label
    assert tokens("sass", ".L_x_1:") == [(Name.Label, ".L_x_1"), (Punctuation, ":")]
    k = kinds("sass", next(line for line in branch if "STG.E.128" in line))
    assert k["@P1"] is Predicate and k["STG.E.128"] is Op
    k = kinds("sass", next(line for line in branch if "UISETP.GT.AND" in line))
    assert k["UP0"] is Predicate and k["UPT"] is Predicate and k["UR15"] is Register
    assert tokens("sass", '        //## File "/w/k.py", line 7') == [(Location, '//## File "/w/k.py", line 7')]


def test_ptx_and_llvm_levels():
    ptx = (DATA / "softmax.ptx").read_text()
    pred = next(line for line in ptx.splitlines() if line.strip().startswith("@%p"))
    assert tokens("ptx", pred)[0][0] is Predicate        # pygments' own PTX lexer says Error here
    llir = (DATA / "softmax.llir").read_text()
    k = kinds("llir", next(line for line in llir.splitlines() if line.startswith("define")))
    assert k["define"] is Keyword and k["@softmax_kernel"] is Name.Function and k["ptr"] is Keyword.Type
    assert k["%0"] is SSA
    assert type(lexer_for_level("python")).__name__ == "PythonLexer"
    assert type(lexer_for_level("ttir")).__name__ == type(lexer_for_level("ttgir")).__name__ == "MlirLexer"
    assert type(lexer_for_level("sass")).__name__ == "SassLexer"
    assert type(lexer_for_level("no-such-level")).__name__ == "TextLexer"


def _installed() -> bool:
    from importlib.metadata import PackageNotFoundError, entry_points
    try:
        return any(ep.value.startswith("workbench.") for ep in entry_points(group="pygments.lexers"))
    except PackageNotFoundError:  # pragma: no cover
        return False


@pytest.mark.skipif(not _installed(), reason="the package is used from the source tree (PYTHONPATH), not installed: "
                                             "entry points exist only after pip install")
def test_entry_points_register_the_lexers():
    """After ``pip install -e .``, pygments finds ours by name (and so does pygmentize)."""
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
    assert type(get_lexer_by_name("mlir")).__name__ == "MlirLexer"
    assert type(get_lexer_by_name("ttgir")).__name__ == "MlirLexer"
    assert type(get_lexer_by_name("sass")).__name__ == "SassLexer"
    assert type(get_lexer_for_filename("k.ttgir")).__name__ == "MlirLexer"
    proc = subprocess.run([sys.executable, "-m", "pygments", "-l", "mlir", "-f", "raw", str(DATA / "softmax.ttir")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Token.Name.Builtin\t'tt.load'" in proc.stdout


def test_lexing_a_20000_line_ptx_is_fast():
    text = (DATA / "softmax.ptx").read_text()
    big = text * (20_000 // text.count("\n") + 1)
    assert big.count("\n") >= 20_000
    lexer = lexer_for_level("ptx")
    start = time.perf_counter()
    n = sum(1 for _ in lexer.get_tokens(big))
    elapsed = time.perf_counter() - start
    assert n > 100_000
    # ~0.3 s on the 2-core EPYC; the view lexes only what is shown, this is the whole file at once
    assert elapsed < 3.0, elapsed

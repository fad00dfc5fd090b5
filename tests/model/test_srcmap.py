"""Every line of every level maps back to the Python line it came from."""

from __future__ import annotations

import re

import pytest

from helpers import TESTS

from workbench.compiler import sass
from workbench.model import srcmap
from workbench.tui.mapping import LevelMap


def _py_line(spec, needle: str) -> int:
    lines = open(spec.file).read().splitlines()
    return next(i for i, row in enumerate(lines, 1) if needle in row)


def _smap(result):
    return srcmap.build(result.levels, result.sass_lines, result.python, result.sass_ptx_lines)


def test_the_store_line_maps_to_stores_in_every_level(compiled):
    spec, result = compiled("vector_add", "cuda:90")
    smap = _smap(result)
    store = _py_line(spec, "tl.store(out_ptr")
    related = smap.related("python", store)
    lines = {level: result.levels[level].splitlines() for level in ("ttir", "ttgir", "llir", "ptx", "sass")}
    assert any("tt.store" in lines["ttir"][n - 1] for n in related["ttir"])
    assert any("tt.store" in lines["ttgir"][n - 1] for n in related["ttgir"])
    assert any("st.global" in lines["llir"][n - 1] or "asm" in lines["llir"][n - 1] for n in related["llir"])
    assert any("st.global" in lines["ptx"][n - 1] for n in related["ptx"])
    assert any("STG" in lines["sass"][n - 1] for n in related["sass"])
    # and nothing from the loads leaks in
    assert not any("tt.load" in lines["ttir"][n - 1] for n in related["ttir"])


def test_the_matmul_accumulator_line_maps_to_the_mma_in_every_level(compiled):
    spec, result = compiled("matmul", "cuda:90")
    smap = _smap(result)
    dot = _py_line(spec, "tl.dot(")
    related = smap.related("python", dot)
    ptx = result.levels["ptx"].splitlines()
    sass = result.levels["sass"].splitlines()
    assert any("wgmma" in ptx[n - 1] for n in related["ptx"])
    assert any("HGMMA" in sass[n - 1] for n in related["sass"])
    ttgir = result.levels["ttgir"].splitlines()
    assert any("warp_group_dot" in ttgir[n - 1] for n in related["ttgir"])


def test_a_level_line_maps_back_and_across(compiled):
    spec, result = compiled("vector_add", "cuda:90")
    smap = _smap(result)
    ttgir = result.levels["ttgir"].splitlines()
    n = next(i for i, row in enumerate(ttgir, 1) if "tt.load" in row)
    (loc,) = smap.python_lines("ttgir", n)[:1]
    assert loc[0] == spec.file and "tl.load(" in open(spec.file).read().splitlines()[loc[1] - 1]
    across = smap.related("ttgir", n)
    assert n in across["ttgir"] and across["python"] == [loc[1]]


def test_mlir_loc_forms():
    text = '\n'.join([
        '#loc = loc("/k.py":5:0)',
        '#loc2 = loc("/k.py":7:10)',
        '#loc3 = loc("/helper.py":3:4)',
        '#loc4 = loc(callsite(#loc3 at #loc2))',
        '#loc5 = loc("acc"(#loc2))',
        '#loc6 = loc(fused[#loc2, #loc3])',
        'module {',
        '  %0 = arith.constant 1 : i32 loc(#loc4)',
        '  %1 = arith.constant 2 : i32 loc(#loc5)',
        '  %2 = arith.constant 3 : i32 loc(#loc6)',
        '  %3 = arith.constant 4 : i32 loc("/k.py":9:1)',
        '  %4 = arith.constant 5 : i32 loc(unknown)',
        '} loc(#loc)',
    ])
    m = srcmap.mlir_map(text)
    assert m[8] == [("/helper.py", 3), ("/k.py", 7)]  # callee first, then the call site
    assert m[9] == [("/k.py", 7)]
    assert m[10] == [("/k.py", 7), ("/helper.py", 3)]
    assert m[11] == [("/k.py", 9)]
    assert 12 not in m


def test_ptx_and_llir_loc_forms():
    ptx = '\n'.join(['.file 1 "/k.py"', '.loc 1 7 3', 'add.s32 %r1, %r2, %r3;', '$L__tmp0:',
                     '.loc 1 8 0', 'mul.lo.s32 %r4, %r1, 2;', '}'])
    assert srcmap.ptx_map(ptx) == {3: [("/k.py", 7)], 6: [("/k.py", 8)]}
    llir = '\n'.join(['define void @k() !dbg !4 {', '  %1 = add i32 0, 1, !dbg !7', '  ret void, !dbg !8', '}',
                      '!3 = !DIFile(filename: "k.py", directory: "/src")',
                      '!4 = distinct !DISubprogram(name: "k", scope: !3, file: !3, line: 5)',
                      '!7 = !DILocation(line: 7, column: 3, scope: !4)',
                      '!8 = !DILocation(line: 9, column: 1, scope: !4, inlinedAt: !7)'])
    m = srcmap.llir_map(llir)
    assert m[2] == [("/src/k.py", 7)] and m[3] == [("/src/k.py", 9), ("/src/k.py", 7)]
    assert re.match(r"define", llir)


HELPER_SUM = TESTS / "data" / "helper_sum.py"


@pytest.fixture(scope="module")
def helper_sum():
    """tests/data/helper_sum.py (``s = tl.sum(_sq(x), axis=0)``) compiled for sm_90, SASS included."""
    from workbench.runtime.capture.script import run_script
    from workbench.compiler.stages import Compiler
    spec = run_script(HELPER_SUM, mode="compile-only").specs[0]
    result = Compiler("cuda:90").compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                                spec.options, with_sass=True)
    return spec, result


def test_the_kernel_line_of_an_inlined_helper_and_reduction_maps_in_every_level(helper_sum):
    """tl.sum's instructions carry standard.py lines; through the call-site chain they are the kernel's too."""
    spec, result = helper_sum
    smap = _smap(result)
    line = _py_line(spec, "tl.sum(_sq(x)")
    related = smap.related("python", line)
    lines = {level: result.levels[level].splitlines() for level in ("ttgir", "llir", "ptx", "sass")}

    def has(level: str, needle: str) -> bool:
        return any(needle in lines[level][n - 1] for n in related[level])
    assert has("ttgir", "tt.reduce") and has("ttgir", "arith.mulf")
    assert has("llir", "shfl.sync") and has("llir", "fmul")
    assert has("ptx", "shfl.sync") and has("ptx", "mul.f32")
    assert has("sass", "SHFL")
    # the reduction's lines still name tl.sum's own line too, innermost first
    shfl = next(n for n in related["ptx"] if "shfl.sync" in lines["ptx"][n - 1])
    chain = smap.python_lines("ptx", shfl)
    assert chain[0][0].endswith("standard.py") and chain[-1] == (spec.file, line)
    sass_shfl = next(n for n in related["sass"] if "SHFL" in lines["sass"][n - 1])
    assert smap.python_lines("sass", sass_shfl)[-1] == (spec.file, line)
    # and a reduction line in any level marks the kernel's line in the Python pane
    assert line in smap.related("sass", sass_shfl)["python"]
    assert line in smap.related("ptx", shfl)["python"]
    # the app's join, on the JSON the runner sends, marks the same lines
    app = LevelMap.from_json(smap.to_json())
    assert {level: app.related("python", line)[level] for level in lines} == {level: related[level] for level in lines}
    assert line in app.related("sass", sass_shfl)["python"]


def test_the_helper_line_maps_to_its_own_instructions_only(helper_sum):
    spec, result = helper_sum
    smap = _smap(result)
    related = smap.related("python", _py_line(spec, "return x * x"))
    ptx = result.levels["ptx"].splitlines()
    assert related["ptx"] and all("mul.f32" in ptx[n - 1] for n in related["ptx"])
    ttgir = result.levels["ttgir"].splitlines()
    assert related["ttgir"] and all("arith.mulf" in ttgir[n - 1] for n in related["ttgir"])
    sass = result.levels["sass"].splitlines()
    assert related["sass"] and not any("SHFL" in sass[n - 1] for n in related["sass"])


def test_ptx_call_sites_in_the_comment_and_in_inlined_at():
    files = ['.file 1 "/src/k.py"', '.file 2 "/lib/standard.py"']
    # Triton 3.4 to 3.7: only LLVM's comment names the callers, by file name
    ptx = '\n'.join(['.loc 2 263 15   // standard.py:263:15 @[ standard.py:293:36 @[ k.py:17:15 ] ]',
                     'add.f32 %r1, %r2, %r3;', '.loc 1 10 15  // k.py:10:15 @[ k.py:17:19 ]',
                     'mul.f32 %r4, %r1, %r1;', *files])
    assert srcmap.ptx_map(ptx) == {2: [("/lib/standard.py", 263), ("/lib/standard.py", 293), ("/src/k.py", 17)],
                                   4: [("/src/k.py", 10), ("/src/k.py", 17)]}
    # Triton 3.8 on: inlined_at names the caller, whose own caller came on the .loc before it
    ptx = '\n'.join(['.loc 2 314 12, function_name $L__info_string0, inlined_at 1 17 9 // standard.py:314:12',
                     'shfl.sync.bfly.b32 %r1, %r2, 16, 31, -1;',
                     '.loc 2 287 12, function_name $L__info_string0, inlined_at 2 314 12 // standard.py:287:12',
                     'add.f32 %r3, %r2, %r1;', '.loc 1 18 4 // k.py:18:4', 'ret;', *files])
    assert srcmap.ptx_map(ptx) == {2: [("/lib/standard.py", 314), ("/src/k.py", 17)],
                                   4: [("/lib/standard.py", 287), ("/lib/standard.py", 314), ("/src/k.py", 17)],
                                   6: [("/src/k.py", 18)]}
    # AMDGCN: the same comment after ;
    amdgcn = '\n'.join(['.loc 2 43 17 is_stmt 1               ; standard.py:43:17 @[ matmul.py:23:27 ]',
                        'v_add_u32_e32 v1, 63, v0', '.file 1 "/src" "matmul.py"', '.file 2 "/lib" "standard.py"'])
    assert srcmap.ptx_map(amdgcn) == {2: [("/lib/standard.py", 43), ("/src/matmul.py", 23)]}
    # a file name two .file lines share names no caller
    ptx = '\n'.join(['.loc 1 10 15  // k.py:10:15 @[ k.py:17:19 ]', 'mul.f32 %r4, %r1, %r1;',
                     '.file 1 "/a/k.py"', '.file 2 "/b/k.py"'])
    assert srcmap.ptx_map(ptx) == {2: [("/a/k.py", 10)]}


def test_a_sass_line_takes_the_call_sites_of_the_ptx_line_it_came_from():
    raw = '\n'.join(['        .global         k', 'k:',
                     '\t//## File "/lib/standard.py", line 293', '\t//## File ".nv_debug_ptx_txt", line 2',
                     '        /*0010*/                   SHFL.BFLY PT, R3, R2, 0x10, 0x1f ;',
                     '\t//## File ".nv_debug_ptx_txt", line 4',
                     '        /*0020*/                   FADD R4, R2, R3 ;',
                     '\t//## File "/src/k.py", line 18', '\t//## File ".nv_debug_ptx_txt", line 6',
                     '        /*0030*/                   EXIT ;'])
    dis = sass.fold_line_info(raw)
    assert "//##" not in dis.text and dis.ptx_lines == {3: 2, 4: 4, 5: 6}
    ptx = '\n'.join(['.loc 2 293 36   // standard.py:293:36 @[ k.py:17:15 ]',
                     'shfl.sync.bfly.b32 %r3, %r2, 16, 31, -1;',
                     '.loc 2 263 15   // standard.py:263:15 @[ standard.py:293:36 @[ k.py:17:15 ] ]',
                     'add.f32 %r4, %r2, %r3;', '.loc 1 18 4  // k.py:18:4', 'ret;',
                     '.file 1 "/src/k.py"', '.file 2 "/lib/standard.py"'])
    smap = srcmap.build({"ptx": ptx}, dis.lines, sass_ptx_lines=dis.ptx_lines)
    assert smap.python_lines("sass", 3) == [("/lib/standard.py", 293), ("/src/k.py", 17)]
    # ptxas put the FADD on line 293 where the PTX line says 263: its own line only, no borrowed chain
    assert smap.python_lines("sass", 4) == [("/lib/standard.py", 293)]
    assert smap.python_lines("sass", 5) == [("/src/k.py", 18)]
    assert smap.related("sass", 3)["sass"] == [3, 4]  # the FADD is from standard.py's line 293 too
    assert smap.lines_for("sass", ("/src/k.py", 17)) == [3]


def test_a_pass_files_line_from_tl_sum_names_the_kernels_line_for_the_passes_view(helper_sum):
    """The Passes tab maps its IR lines (text only) on the same keys as the app: the kernel's line too."""
    from workbench.tui.widgets.passes_view import sources_of
    spec, result = helper_sum
    line = _py_line(spec, "tl.sum(_sq(x)")
    ttgir = result.levels["ttgir"].splitlines()
    reduce = next(n for n, row in enumerate(ttgir, 1) if "tt.reduce.return" in row)
    (inner, _), outer = sources_of(result.levels["ttgir"])[reduce]
    assert inner == "standard.py" and outer == ("helper_sum.py", line)

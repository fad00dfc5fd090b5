"""Every line of every level maps back to the Python line it came from."""

from __future__ import annotations

import re

from workbench.core import srcmap


def _py_line(spec, needle: str) -> int:
    lines = open(spec.file).read().splitlines()
    return next(i for i, row in enumerate(lines, 1) if needle in row)


def _smap(result):
    return srcmap.build(result.levels, result.sass_lines, result.python)


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

"""Which tensors a kernel only ever stores through, read off its TTIR (what a replay may poison
beyond the outputs the script's launch changed): index inputs, in-place and atomic outputs never;
an output written through a loop-carried pointer, yes."""

from __future__ import annotations

import pytest

from helpers import TESTS
from workbench.compiler.stages import Compiler
from workbench.compiler.writes import pointer_uses


@pytest.fixture(scope="module")
def compiled():
    from workbench.runtime.capture.script import run_script
    compiler = Compiler("cuda:90")
    found = {}
    for spec in run_script(TESTS / "data" / "writes" / "patterns.py", mode="compile-only").specs:
        result = compiler.compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                         spec.options, with_sass=False)
        names = [n for n, t in spec.signature.items() if t != "constexpr"]
        uses = pointer_uses(result.levels["ttir"], names, compiler.backend)
        found[spec.kernel] = {n for n, (stored, read) in uses.items() if stored and not read}
    return found


def test_an_index_input_and_the_tensor_it_indexes_are_read_the_output_is_store_only(compiled):
    assert compiled["gather_rows"] == {"out_ptr"}


def test_an_in_place_output_is_read_too(compiled):
    assert compiled["scatter_add_inplace"] == set()


def test_a_loop_carried_pointer_is_followed_and_an_atomic_output_is_read(compiled):
    # yp is a loop-carried value made from y_ptr (scf.for's block arguments and results): y is
    # stored through; stats takes atomics, which read what is there
    assert compiled["loop_rows"] == {"y_ptr"}


def test_a_module_it_cannot_follow_gives_no_answer():
    backend = Compiler("cuda:90").backend
    assert pointer_uses("this is no MLIR", ["x"], backend) is None

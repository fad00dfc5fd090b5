"""counter.py's kernel, edited to count zero as positive too (150 where the original counts 149)."""
import triton
import triton.language as tl


@triton.jit
def count_positive(x_ptr, counter_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=-1.0)
    tl.atomic_add(counter_ptr, tl.sum((x >= 0).to(tl.int32), axis=0))

"""repeats.py's kernel, edited so that it is right only for the first 256 elements: the first
launch (n = 128) still verifies, the later ones do not."""
import triton
import triton.language as tl


@triton.jit
def saxpy(x_ptr, y_ptr, out_ptr, n, a, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    y = tl.load(y_ptr + offs, mask=mask)
    y = tl.where(offs < 256, y, 0.0)
    tl.store(out_ptr + offs, a * tl.load(x_ptr + offs, mask=mask) + y, mask=mask)

"""A Python bool passed as a runtime (not constexpr) argument."""
import torch
import triton
import triton.language as tl


@triton.jit
def maybe_negate(x_ptr, y_ptr, n, negate, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n)
    if negate:
        x = -x
    tl.store(y_ptr + offs, x, mask=offs < n)


x = torch.arange(10, dtype=torch.float32)
y = torch.empty_like(x)
maybe_negate[(1,)](x, y, x.numel(), True, BLOCK=16)
assert torch.equal(y, -x), y
maybe_negate[(1,)](x, y, x.numel(), False, BLOCK=16)
assert torch.equal(y, x), y

"""A reduction of a value an inlined @triton.jit helper makes (tl.sum lives in standard.py)."""
import torch

import triton
import triton.language as tl


@triton.jit
def _sq(x):
    return x * x


@triton.jit
def sum_sq_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0.0)
    s = tl.sum(_sq(x), axis=0)
    tl.store(out_ptr, s)


x = torch.rand(1000)
out = torch.empty(1)
sum_sq_kernel[(1,)](x, out, x.numel(), BLOCK=1024)

"""A split-K style reduction: each program adds its partial sum into the output with a float
atomic (as GemLite's split-K GEMV does), so the order of the additions, and the last bits of the
result, change from run to run on a GPU."""
import torch
import triton
import triton.language as tl


@triton.jit
def split_sum(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.atomic_add(out_ptr, tl.sum(tl.load(x_ptr + offs, mask=offs < n, other=0.0), axis=0))


x = torch.rand(4096)
out = torch.zeros(1)
split_sum[(triton.cdiv(4096, 256),)](x, out, 4096, BLOCK=256)

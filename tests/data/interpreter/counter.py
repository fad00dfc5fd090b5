"""An atomic counter held in a 0-d tensor: how many of x are positive."""
import torch
import triton
import triton.language as tl


@triton.jit
def count_positive(x_ptr, counter_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0.0)
    tl.atomic_add(counter_ptr, tl.sum((x > 0).to(tl.int32), axis=0))


x = torch.arange(-50, 150, dtype=torch.float32)
counter = torch.zeros((), dtype=torch.int32)
count_positive[(triton.cdiv(x.numel(), 64),)](x, counter, x.numel(), BLOCK=64)
assert int(counter) == 149, int(counter)

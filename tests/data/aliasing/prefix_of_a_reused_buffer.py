"""One preallocated output buffer reused by launches of one specialization with other lengths, as
a script with varying sequence lengths does: the first launch writes all of it, the second only
its first 2048 elements; the rest keeps what the first wrote."""
from _common import DEVICE

import torch
import triton
import triton.language as tl


@triton.jit
def double_prefix(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * 2.0, mask=mask)


torch.manual_seed(0)
x = torch.rand(4096, device=DEVICE)
out = torch.empty(4096, device=DEVICE)
double_prefix[(16,)](x, out, 4096, BLOCK=256)
y = x + 1.0
double_prefix[(8,)](y, out, 2048, BLOCK=256)   # (2048 and 4096: both divisible by 16, one specialization)
torch.testing.assert_close(out[:2048], y[:2048] * 2.0)
torch.testing.assert_close(out[2048:], x[2048:] * 2.0)

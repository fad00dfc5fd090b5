"""A fused backward that reads dy and writes dx over it: one tensor passed as both."""
from _common import DEVICE

import torch
import triton
import triton.language as tl


@triton.jit
def bwd_kernel(dy_ptr, x_ptr, dx_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    dy = tl.load(dy_ptr + offs, mask=mask)
    x = tl.load(x_ptr + offs, mask=mask)
    tl.store(dx_ptr + offs, dy * 2.0 + x, mask=mask)


torch.manual_seed(0)
n = 4096
dy = torch.rand(n, device=DEVICE)
x = torch.rand(n, device=DEVICE)
ref = dy * 2.0 + x
bwd_kernel[(triton.cdiv(n, 1024),)](dy, x, dy, n, BLOCK=1024)
torch.testing.assert_close(dy, ref)

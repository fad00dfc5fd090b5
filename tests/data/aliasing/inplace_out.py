"""An in-place update (out=x) and a kernel launched with a view at an unaligned offset."""
from _common import DEVICE

import torch
import triton
import triton.language as tl


@triton.jit
def scale_kernel(x_ptr, out_ptr, n, alpha, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * alpha + 1.0, mask=mask)


torch.manual_seed(0)
x = torch.rand(3000, device=DEVICE)
ref = x * 0.5 + 1.0
scale_kernel[(triton.cdiv(3000, 256),)](x, x, 3000, 0.5, BLOCK=256)
torch.testing.assert_close(x, ref)
big = torch.rand(4097, device=DEVICE)
view = big[1:]  # 4 bytes in: not 16-byte aligned
ref2 = view * 2.0 + 1.0
scale_kernel[(triton.cdiv(4096, 256),)](view, view, 4096, 2.0, BLOCK=256)
torch.testing.assert_close(view, ref2)

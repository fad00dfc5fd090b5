"""Interleaved views of one buffer (x = even elements, y = odd ones) and a transposed view of
another, with the strides passed as arguments, as library kernels take them."""
from _common import DEVICE

import torch
import triton
import triton.language as tl


@triton.jit
def interleave_kernel(x_ptr, y_ptr, t_ptr, out_ptr, n, sx, sy, st0, st1, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs * sx, mask=mask)
    t = tl.load(t_ptr + (offs % 16) * st0 + (offs // 16) * st1, mask=mask)
    tl.store(y_ptr + offs * sy, x * 3.0 + t, mask=mask)
    tl.store(out_ptr + offs, x - t, mask=mask)


torch.manual_seed(0)
buf = torch.rand(2 * 512, device=DEVICE)
x, y = buf[0::2], buf[1::2]
t = torch.rand(32, 16, device=DEVICE).t()  # 16 x 32, strides (1, 16)
out = torch.empty(512, device=DEVICE)[4:]  # an offset view (16 bytes in)
n = 508
idx = torch.arange(n, device=DEVICE)
ref_y = x[:n] * 3.0 + t[idx % 16, idx // 16]
interleave_kernel[(1,)](x, y, t, out, n, x.stride(0), y.stride(0), t.stride(0), t.stride(1), BLOCK=512)
torch.testing.assert_close(y[:n], ref_y)

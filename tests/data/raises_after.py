"""A script whose check fails after its launch: the launch is still captured."""
import os

import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if DEVICE.type == "cpu":
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton
import triton.language as tl


@triton.jit
def double_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * 2, mask=mask)


x = torch.arange(1000, device=DEVICE, dtype=torch.float32)
out = torch.empty_like(x)
double_kernel[(triton.cdiv(1000, 256),)](x, out, 1000, BLOCK=256)
assert out.sum() < 0, "the script's own check fails"  # line 24

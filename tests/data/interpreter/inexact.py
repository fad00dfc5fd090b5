"""Kernels whose ops Triton's interpreter computes wrong, and one whose ops it computes exactly.

Run with TRITON_INTERPRET=1, it prints each kernel's largest difference from torch on the CPU
as JSON (the faults are the interpreter's: on a GPU every difference is 0 or rounding)."""
import json

import torch
import triton
import triton.language as tl


@triton.jit
def bf16_dot(a_ptr, b_ptr, c_ptr, N: tl.constexpr):
    r = tl.arange(0, N)
    idx = r[:, None] * N + r[None, :]
    tl.store(c_ptr + idx, tl.dot(tl.load(a_ptr + idx), tl.load(b_ptr + idx)))


@triton.jit
def bf16_add(x_ptr, y_ptr, out_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    tl.store(out_ptr + r, tl.load(x_ptr + r) + tl.load(y_ptr + r))


@triton.jit
def to_bf16(x_ptr, out_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    tl.store(out_ptr + r, tl.load(x_ptr + r).to(tl.bfloat16))


@triton.jit
def to_fp8(x_ptr, out_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    tl.store(out_ptr + r, tl.load(x_ptr + r).to(tl.float8e4nv))


@triton.jit
def int_to_bf16(x_ptr, out_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    tl.store(out_ptr + r, tl.load(x_ptr + r).to(tl.bfloat16))


@triton.jit
def exact_ops(a_ptr, b_ptr, c_ptr, x_ptr, out_ptr, N: tl.constexpr):
    """fp16 dot, bf16 -> fp32 and fp32 -> fp16 conversions, fp32 arithmetic: exact in the interpreter."""
    r = tl.arange(0, N)
    idx = r[:, None] * N + r[None, :]
    tl.store(c_ptr + idx, tl.dot(tl.load(a_ptr + idx), tl.load(b_ptr + idx)))
    tl.store(out_ptr + r, (tl.load(x_ptr + r).to(tl.float32) * 3.0).to(tl.float16))


torch.manual_seed(0)
N = 16
a, b = torch.randn(N, N).bfloat16(), torch.randn(N, N).bfloat16()
c = torch.empty(N, N)
bf16_dot[(1,)](a, b, c, N)
x, y = torch.randn(N).bfloat16(), torch.randn(N).bfloat16()
s = torch.empty(N, dtype=torch.bfloat16)
bf16_add[(1,)](x, y, s, N)
# each rounds up at its last bit (1 + 2**-8 + 2**-10 -> 1 + 2**-7), or up into the exponent (1.9375 -> 2.0)
halfway = torch.tensor([1 + 2**-8 + 2**-10, 1.9375, 0.9375, 3.875] * 4)
h = torch.empty(N, dtype=torch.bfloat16)
to_bf16[(1,)](halfway, h, N)
f8 = torch.empty(N, dtype=torch.float8_e4m3fn)
to_fp8[(1,)](halfway, f8, N)
ints = torch.arange(N, dtype=torch.int32) - 4
ib = torch.empty(N, dtype=torch.bfloat16)
int_to_bf16[(1,)](ints, ib, N)
a16, b16 = a.half(), b.half()
c16, e = torch.empty(N, N), torch.empty(N, dtype=torch.float16)
exact_ops[(1,)](a16, b16, c16, x, e, N)

print(json.dumps({
    "bf16_dot": (c - a.float() @ b.float()).abs().max().item(),
    "bf16_add": (s.float() - (x + y).float()).abs().max().item(),
    "to_bf16": (h.float() - halfway.bfloat16().float()).abs().max().item(),
    "to_fp8": (f8.float() - halfway.to(torch.float8_e4m3fn).float()).abs().max().item(),
    "int_to_bf16": (ib.float() - ints.bfloat16().float()).abs().max().item(),
    "exact_ops": max((c16 - a16.float() @ b16.float()).abs().max().item(),
                     (e.float() - (x.float() * 3).half().float()).abs().max().item()),
}))

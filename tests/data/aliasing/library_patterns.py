"""Patterns of real library kernels: an optional (None) bias, one kernel under several constexpr
sets, host syncs between launches, and an autotuned atomic reduction with reset_to_zero and a
lambda grid."""
from _common import DEVICE

import torch
import triton
import triton.language as tl


@triton.jit
def bias_act_kernel(x_ptr, b_ptr, out_ptr, n, HAS_BIAS: tl.constexpr, ACT: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    if HAS_BIAS:
        x += tl.load(b_ptr + offs, mask=mask)
    if ACT == "relu":
        x = tl.maximum(x, 0.0)
    tl.store(out_ptr + offs, x, mask=mask)


def _no_timer(kernel_call, quantiles):  # the interpreter has no benchmarker: run once, time nothing
    kernel_call()
    return [1.0, 1.0, 1.0]


@triton.autotune(configs=[triton.Config({"BLOCK": 128}), triton.Config({"BLOCK": 256})], key=["n"],
                 reset_to_zero=["total_ptr"], do_bench=_no_timer if DEVICE.type == "cpu" else None)
@triton.jit
def sum_kernel(x_ptr, total_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0)
    tl.atomic_add(total_ptr, tl.sum(x, axis=0))


torch.manual_seed(0)
n = 2000
x = torch.randn(n, device=DEVICE)
b = torch.randn(n, device=DEVICE)
out = torch.empty(n, device=DEVICE)
grid = (triton.cdiv(n, 512),)
bias_act_kernel[grid](x, None, out, n, HAS_BIAS=False, ACT="none", BLOCK=512)
torch.testing.assert_close(out, x)
float(out.sum())  # a host sync between launches
bias_act_kernel[grid](x, b, out, n, HAS_BIAS=True, ACT="relu", BLOCK=512)
torch.testing.assert_close(out, torch.relu(x + b))
ints = torch.randint(0, 100, (n,), device=DEVICE, dtype=torch.int32)
total = torch.zeros(1, device=DEVICE, dtype=torch.int32)
sum_kernel[lambda meta: (triton.cdiv(n, meta["BLOCK"]),)](ints, total, n)
assert int(total) == int(ints.sum()), (int(total), int(ints.sum()))

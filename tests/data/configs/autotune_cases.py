"""Autotuned kernels as libraries write them: a config pre_hook, restore_value on an in-place
update, early_config_prune, one kernel tuned for two sizes of its key, and a config with a bug
of its own (BLOCK=256 doubles its result) that the autotuner may well not choose."""
from _common import DEVICE

import torch
import triton
import triton.language as tl


def _no_timer(kernel_call, quantiles):  # the interpreter has no benchmarker: run once, time nothing
    kernel_call()
    return [1.0, 1.0, 1.0]


BENCH = _no_timer if DEVICE.type == "cpu" else None


def _clear_out(nargs):
    nargs["out_ptr"].zero_()


@triton.autotune(configs=[triton.Config({"BLOCK": 128}, pre_hook=_clear_out),
                          triton.Config({"BLOCK": 512}, num_warps=8, pre_hook=_clear_out)],
                 key=["n"], do_bench=BENCH)
@triton.jit
def accumulate_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.atomic_add(out_ptr + offs % 64, tl.load(x_ptr + offs, mask=mask, other=0), mask=mask)


@triton.autotune(configs=[triton.Config({"BLOCK": 64}), triton.Config({"BLOCK": 256}),
                          triton.Config({"BLOCK": 1024})],
                 key=["n"], restore_value=["x_ptr"], do_bench=BENCH,
                 prune_configs_by={"early_config_prune": lambda configs, nargs, **kw:
                                   [c for c in configs if c.kwargs["BLOCK"] <= nargs["n"]]})
@triton.jit
def inplace_kernel(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    if BLOCK == 256:
        x = x * 2.0  # the bug of one config
    tl.store(x_ptr + offs, x * 0.5 + 1.0, mask=mask)


torch.manual_seed(0)
for n in (600, 4096):  # two sizes of the key: two tunings
    x = torch.randint(0, 10, (n,), device=DEVICE, dtype=torch.int32)
    out = torch.full((64,), 7, device=DEVICE, dtype=torch.int32)
    accumulate_kernel[lambda meta: (triton.cdiv(n, meta["BLOCK"]),)](x, out, n)
    ref = torch.zeros(64, dtype=torch.int32, device=DEVICE).index_add_(0, torch.arange(n, device=DEVICE) % 64, x)
    assert torch.equal(out, ref)
y = torch.rand(800, device=DEVICE)
inplace_kernel[lambda meta: (triton.cdiv(800, meta["BLOCK"]),)](y, 800)

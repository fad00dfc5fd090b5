"""Config pre_hooks, the tuner's own hooks and post_hooks run around every trial launch (as
Triton's _bench runs them); configs that specialize alike; a kernel launched again from Triton's
in-memory cache with other data and other sizes."""
import torch
import triton
import triton.language as tl

CALLS = {"config_pre": 0, "post": 0}


def config_pre(nargs):
    CALLS["config_pre"] += 1
    nargs["out_ptr"].fill_(-1.0)   # the kernel writes every element: a trial that ran is visible


def post(nargs, exception):
    CALLS["post"] += 1


# 8 configs, 3 of them specialize like an earlier one (same kwargs and options)
configs = [triton.Config({"BLOCK": b}, num_warps=w, pre_hook=config_pre) for b in (64, 128) for w in (1, 2)]
configs += [triton.Config({"BLOCK": 256}, num_warps=4, pre_hook=config_pre)]
configs += [triton.Config({"BLOCK": 64}, num_warps=1, pre_hook=config_pre),
            triton.Config({"BLOCK": 128}, num_warps=2, pre_hook=config_pre),
            triton.Config({"BLOCK": 256}, num_warps=4, pre_hook=config_pre)]


@triton.autotune(configs=configs, key=["n"], post_hook=post)
@triton.jit
def double(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * 2, mask=mask)


@triton.jit
def negate(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(x_ptr + offs, -tl.load(x_ptr + offs, mask=mask), mask=mask)


x = torch.arange(512, dtype=torch.float32)
out = torch.empty(512)
double[lambda meta: (triton.cdiv(512, meta["BLOCK"]),)](x, out, 512)
print("calls", CALLS)
for n in (256, 512, 512):     # one specialization (n is a multiple of 16), three launches
    y = torch.arange(n, dtype=torch.float32) + n
    negate[(triton.cdiv(n, 64),)](y, n, BLOCK=64)

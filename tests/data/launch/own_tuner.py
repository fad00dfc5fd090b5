"""A tuner that overrides ``Autotuner.run`` entirely (as FlagGems' LibTuner does: its own cache,
its own policy), under a launch cache that keeps the compiled kernel and relaunches it directly
(as FlagGems' LibEntry does: ``kernel[grid](*args)`` on what ``JITFunction.run`` returned)."""
import sys

import torch
import triton
import triton.language as tl


class OwnTuner(triton.runtime.Autotuner):
    def run(self, *args, **kwargs):
        self.nargs = dict(zip(self.arg_names, args))
        key = tuple(self.nargs[k] for k in self.keys)
        if key not in self.cache:
            timings = {c: self._bench(*args, config=c, **kwargs) for c in self.prune_configs(kwargs)}
            self.cache[key] = min(timings, key=lambda c: timings[c][0])
            self.configs_timings = timings
        config = self.best_config = self.cache[key]
        ret = self.fn.run(*args, **kwargs, **config.all_kwargs())
        self.nargs = None
        return ret


class LaunchCache(triton.KernelInterface):
    def __init__(self, fn):
        self.fn = fn
        self.arg_names = fn.arg_names
        self.kernels = {}

    def run(self, *args, grid, warmup=False, **kwargs):
        key = tuple(a.dtype if hasattr(a, "dtype") else a for a in args)
        if key not in self.kernels:
            kernel = self.fn.run(*args, grid=grid, warmup=warmup, **kwargs)
            self.kernels[key] = (kernel, dict(self.fn.best_config.kwargs))
            return kernel
        kernel, meta = self.kernels[key]
        g = grid({**dict(zip(self.arg_names, args)), **meta})
        kernel[g](*args, *meta.values())
        return kernel


def own_autotune(configs, key):
    return lambda fn: OwnTuner(fn, fn.arg_names, configs, key, reset_to_zero=None, restore_value=None)


@LaunchCache
@own_autotune(configs=[triton.Config({"BLOCK": 64}), triton.Config({"BLOCK": 128}),
                       triton.Config({"BLOCK": 256}, num_warps=2)], key=["n"])
@triton.jit
def scale_kernel(x_ptr, y_ptr, n, factor, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=mask) * factor, mask=mask)


n = 1000
x = torch.arange(n, dtype=torch.float32)
for factor in (2.0, 3.0):       # the second call goes through the launch cache, straight to the kernel
    y = torch.zeros(n)
    scale_kernel[lambda meta: (triton.cdiv(n, meta["BLOCK"]),)](x, y, n, factor)
    assert "--no-check" in sys.argv or torch.equal(y, x * factor), (factor, y[:4])
print("ok")

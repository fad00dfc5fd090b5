"""Configs a ``tl.static_assert`` rules out (Triton's autotuner skips them), and a pruning that
asks the device how many SMs it has (as GemLite and FlagGems do)."""
import torch
import triton
import triton.language as tl
from triton.runtime import driver

SEEN = {}


def prune(configs, nargs, **kwargs):
    props = driver.active.utils.get_device_properties(0)
    SEEN["sms"] = props["multiprocessor_count"]
    return [c for c in configs if c.kwargs["BLOCK"] * 4 <= props["max_shared_mem"]]


@triton.autotune(configs=[triton.Config({"BLOCK": 32}), triton.Config({"BLOCK": 128}),
                          triton.Config({"BLOCK": 256})],
                 key=["n"], prune_configs_by={"early_config_prune": prune})
@triton.jit
def add_one(x_ptr, n, BLOCK: tl.constexpr):
    tl.static_assert(BLOCK >= 64)
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=mask) + 1, mask=mask)


x = torch.zeros(500)
add_one[lambda meta: (triton.cdiv(500, meta["BLOCK"]),)](x, 500)
print("sms", SEEN["sms"])
assert SEEN["sms"] > 0

"""Autotuned scale-and-add, out = alpha * x + y: one kernel, several launch configurations.

@triton.autotune times each config on the first call for a given key and reuses the
fastest, so a single kernel is compiled in several specializations (one per config).
"""
import os
import time

import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if DEVICE.type == "cpu":
    os.environ.setdefault("TRITON_INTERPRET", "1")  # no GPU: Triton's interpreter runs the kernel

import triton
import triton.language as tl


def wall_clock_bench(kernel_call, quantiles, reps=3):
    """Stand-in for the autotuner's benchmarker when there is no GPU.

    The default one times with GPU events through the active driver, which does not
    exist on CPU; the interpreter is slow enough that a few wall-clock runs suffice.
    """
    kernel_call()  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        kernel_call()
        times.append((time.perf_counter() - start) * 1e3)  # ms, like triton.testing.do_bench
    return torch.tensor(times).quantile(torch.tensor(quantiles, dtype=torch.float32)).tolist()


@triton.autotune(
    configs=[
        triton.Config({"BLOCK_SIZE": 256}, num_warps=2),
        triton.Config({"BLOCK_SIZE": 1024}, num_warps=4),
        triton.Config({"BLOCK_SIZE": 4096}, num_warps=8),
    ],
    key=["n_elements"],  # re-tune when the problem size changes
    do_bench=None if DEVICE.type == "cuda" else wall_clock_bench,  # None: Triton's default GPU benchmarker
)
@triton.jit
def scale_add_kernel(x_ptr, y_ptr, out_ptr, alpha, n_elements, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(axis=0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    y = tl.load(y_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, alpha * x + y, mask=mask)


def scale_add(alpha: float, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    n_elements = out.numel()
    # BLOCK_SIZE comes from whichever config the autotuner is trying, so the grid must read it from meta.
    grid = lambda meta: (triton.cdiv(n_elements, meta["BLOCK_SIZE"]),)
    scale_add_kernel[grid](x, y, out, alpha, n_elements)
    return out


def main():
    torch.manual_seed(0)
    n = 98432
    x = torch.rand(n, device=DEVICE)
    y = torch.rand(n, device=DEVICE)
    alpha = 0.5
    out = scale_add(alpha, x, y)
    ref = alpha * x + y
    torch.testing.assert_close(out, ref)
    best = scale_add_kernel.best_config
    print(f"autotuned_add: max abs err {(out - ref).abs().max().item()}, "
          f"best BLOCK_SIZE={best.kwargs['BLOCK_SIZE']} num_warps={best.num_warps} ({DEVICE.type})")


if __name__ == "__main__":
    main()

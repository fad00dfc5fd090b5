"""Launch the TMA matmul (tensor descriptors, sm_90) from every level: Python, TTIR, TTGIR,
LLIR, PTX, cubin. Descriptor arguments need nothing extra: the launch metadata Triton
needs for them (tensordesc_meta) travels in the metadata the workbench writes.

    python examples/levels/matmul_tma_levels.py [LEVELS_DIR]
"""
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if not torch.cuda.is_available() or torch.cuda.get_device_capability()[0] < 9:
    sys.exit("matmul_tma_levels: needs a CUDA GPU with TMA (sm_90 or newer)")

import triton  # noqa: E402
from triton.tools.tensor_descriptor import TensorDescriptor  # noqa: E402

import matmul_tma as example  # noqa: E402
import workbench  # noqa: E402

kernel = workbench.jit(example.matmul_tma_kernel)


def arguments(a, b):
    M, K = a.shape
    N = b.shape[1]
    c = torch.empty((M, N), device=a.device, dtype=torch.float16)
    descs = (TensorDescriptor.from_tensor(a, [128, 64]), TensorDescriptor.from_tensor(b, [64, 128]),
             TensorDescriptor.from_tensor(c, [128, 128]))
    return c, (*descs, M, N, K), dict(BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, num_warps=8, num_stages=3)


def launch(a, b, **level):
    c, args, kwargs = arguments(a, b)
    grid = (triton.cdiv(a.shape[0], 128), triton.cdiv(b.shape[1], 128))
    kernel[grid](*args, **kwargs, **level)
    return c


def main():
    torch.manual_seed(0)
    a = torch.randn(512, 256, device="cuda", dtype=torch.float16)
    b = torch.randn(256, 384, device="cuda", dtype=torch.float16)
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="matmul-tma-levels-"))
    if not any(folder.glob("*.ttgir")):
        _, args, kwargs = arguments(a, b)
        kernel.save_levels(folder, *args, **kwargs)
    ref = (a.float() @ b.float()).half()
    results = {"python": launch(a, b)}
    for level in ("ttir", "ttgir", "llir", "ptx", "cubin"):
        results[level] = launch(a, b, **{f"{level}_dir": folder})
    for level, c in results.items():
        torch.testing.assert_close(c, ref, atol=1e-2, rtol=1e-2)
        same = torch.equal(c, results["python"])
        print(f"{level:7s} max abs err {(c.float() - ref.float()).abs().max().item():.3g}  "
              f"{'identical to the Python launch' if same else 'differs from the Python launch'}")


if __name__ == "__main__":
    main()

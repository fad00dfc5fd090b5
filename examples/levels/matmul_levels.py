"""Launch the sm_90 matmul from every level: Python, TTIR, TTGIR, LLIR, PTX, cubin.

As triton-runner's examples do, but with nothing copied by hand: ``save_levels`` writes
every level for these arguments, and each launch names the folder of the level it starts
from (``ttgir_dir=...``); metadata and signature come from the kernel and the arguments.
Edit a level file in the folder and run again to launch your edit.

    python examples/levels/matmul_levels.py [LEVELS_DIR]
"""
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if not torch.cuda.is_available():
    sys.exit("matmul_levels: launching from IR levels needs a CUDA GPU")

import triton  # noqa: E402

import matmul as example  # noqa: E402
import workbench  # noqa: E402

kernel = workbench.jit(example.matmul_kernel)  # the same kernel, launchable from any level


def launch(a, b, **level):
    M, K = a.shape
    N = b.shape[1]
    c = torch.empty((M, N), device=a.device, dtype=torch.float16)
    grid = (triton.cdiv(M, 128) * triton.cdiv(N, 128),)
    kernel[grid](a, b, c, M, N, K, a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
                 BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, GROUP_M=8, num_warps=8, num_stages=3, **level)
    return c


def main():
    torch.manual_seed(0)
    a = torch.randn(512, 256, device="cuda", dtype=torch.float16)
    b = torch.randn(256, 384, device="cuda", dtype=torch.float16)
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="matmul-levels-"))
    if not any(folder.glob("*.ttgir")):
        c = torch.empty((512, 384), device="cuda", dtype=torch.float16)
        kernel.save_levels(folder, a, b, c, 512, 384, 256, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
                           c.stride(0), c.stride(1), BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, GROUP_M=8,
                           num_warps=8, num_stages=3)
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

"""A script that reads what Triton compiled from the kernel its launch returns (as
triton-runner's ``matmul_use_compile_str`` example and many notebooks do): ``.asm`` by level and
``.metadata``, then feeds the TTGIR text on."""
import torch
import triton
import triton.language as tl


@triton.jit
def add(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask), mask=mask)


x = torch.randn(1000)
y = torch.randn(1000)
out = torch.empty(1000)
compiled = add[(8,)](x, y, out, 1000, BLOCK=128)
print("ttgir target:", [line for line in compiled.asm["ttgir"].splitlines() if "ttg.target" in line][0].split("ttg.target")[1][:14])
print("ptx target:", [line for line in compiled.asm["ptx"].splitlines() if line.startswith(".target")][0])
print("cubin bytes:", compiled.asm["cubin"][:4])
print("levels:", sorted(k for k in compiled.asm if k in ("ttir", "ttgir", "llir", "ptx", "cubin")))
print("warps:", compiled.metadata.num_warps, "name:", compiled.metadata.name)

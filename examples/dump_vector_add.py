"""Vector add that dumps its output from inside the kernel with ``workbench.language.dump``.

Runs as a plain script (``dump`` is then a no-op). Under the workbench:
    workbench dump examples/dump_vector_add.py --kernel add_dump_kernel --level python \
        --value out --reference "(x + y)[:1024]"
dumps program 0's ``out`` (Triton's interpreter without a GPU, the compiled kernel with one).
The fp16 dump shows a non-fp32 value: ``half`` is ``x`` rounded to fp16.
"""
import os

import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if DEVICE.type == "cpu":
    os.environ.setdefault("TRITON_INTERPRET", "1")  # no GPU: Triton's interpreter runs the kernel

import triton
import triton.language as tl

from workbench.language import dump


@triton.jit
def add_dump_kernel(x_ptr, y_ptr, out_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(axis=0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    y = tl.load(y_ptr + offsets, mask=mask)
    out = x + y
    dump(out)
    half = x.to(tl.float16)
    dump(half)
    tl.store(out_ptr + offsets, out, mask=mask)


def main():
    torch.manual_seed(0)
    n = 4000  # not a multiple of BLOCK_SIZE: the last block is masked
    x = torch.rand(n, device=DEVICE)
    y = torch.rand(n, device=DEVICE)
    out = torch.empty_like(x)
    grid = lambda meta: (triton.cdiv(n, meta["BLOCK_SIZE"]),)  # noqa: E731
    add_dump_kernel[grid](x, y, out, n, BLOCK_SIZE=1024)
    torch.testing.assert_close(out, x + y)
    print(f"dump_vector_add: ok ({DEVICE.type})")


if __name__ == "__main__":
    main()

"""Small kernels with a planted bug each, for compute-sanitizer's tools: the program
``benchmarks/record_sanitizer.py`` runs under each tool (tests/data/sanitizer/ keeps what it saw).

    python sanitizer_cases.py --out DIR CASE [CASE ...]     # on the GPU: launch each case once
    python sanitizer_cases.py --out DIR --levels CASE ...   # no launch: compile for cuda:90 only

Cases: ``add_masked`` (vector add, clean), ``add_unmasked`` (the mask dropped from the loads: the
last program reads 512 bytes past the end of x and y), ``sum_clean`` (a 1024-element sum over 4
warps: partial sums cross warps through shared memory), ``sum_race`` (the same with the PTX's
first ``bar.sync`` taken out, as a PTX edit would: warp 0 reads the partial sums before the other
warps wrote them), ``scale_uninit`` (reads a ``torch.empty`` buffer nobody wrote). Each case
writes its kernel's levels (``DIR/CASE/<kernel>.ttir`` ... ``.cubin`` and ``.json``, the layout
``workbench export`` writes) and, on the GPU, its arguments' device addresses
(``DIR/CASE/buffers.json``, as ``run.py --sanitize`` writes them).

PYTORCH_NO_CUDA_MEMORY_CACHING=1: every tensor is its own cudaMalloc, so memcheck sees a read
past the end of one (inside PyTorch's cached blocks it would not).
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("PYTORCH_NO_CUDA_MEMORY_CACHING", "1")

import torch  # noqa: E402
import triton  # noqa: E402
import triton.language as tl  # noqa: E402

N_ADD, BLOCK_ADD = 896, 256     # 3584 bytes (7 x 512: no allocator rounding hides the overrun), grid 4
N_SUM = 1024


@triton.jit
def add_masked(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, x + y, mask=mask)


@triton.jit
def add_unmasked(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)  # no mask: the last program reads past the end of x
    y = tl.load(y_ptr + offs)
    tl.store(out_ptr + offs, x + y, mask=offs < n)


@triton.jit
def block_sum(x_ptr, out_ptr, BLOCK: tl.constexpr):
    x = tl.load(x_ptr + tl.arange(0, BLOCK))
    tl.store(out_ptr, tl.sum(x, axis=0))


@triton.jit
def block_sum_race(x_ptr, out_ptr, BLOCK: tl.constexpr):  # block_sum, compiled with the PTX edit
    x = tl.load(x_ptr + tl.arange(0, BLOCK))
    tl.store(out_ptr, tl.sum(x, axis=0))


@triton.jit
def scale(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * 2.0, mask=mask)


def drop_first_barrier(ptx: str) -> str:
    """The PTX with its first ``bar.sync`` made a comment, line for line (the .loc lines hold)."""
    lines = ptx.split("\n")
    for i, line in enumerate(lines):
        if line.strip().startswith("bar.sync"):
            lines[i] = "\t// " + line.strip() + "  (taken out: the planted race)"
            return "\n".join(lines)
    raise SystemExit("sanitizer_cases.py: the sum's PTX has no bar.sync to take out")


def _race_hook(backend, stages, options, language, capability):
    """Triton's stage hook: the PTX stage's output loses its first barrier (a PTX edit)."""
    make_ptx = stages["ptx"]
    stages["ptx"] = lambda src, metadata: drop_first_barrier(make_ptx(src, metadata))


# case -> (kernel, signature, constexprs, num_warps, planted PTX edit)
CASES = {
    "add_masked": (add_masked, {"x_ptr": "*fp32", "y_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32"},
                   {"BLOCK": BLOCK_ADD}, 4, False),
    "add_unmasked": (add_unmasked, {"x_ptr": "*fp32", "y_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32"},
                     {"BLOCK": BLOCK_ADD}, 4, False),
    "sum_clean": (block_sum, {"x_ptr": "*fp32", "out_ptr": "*fp32"}, {"BLOCK": N_SUM}, 4, False),
    "sum_race": (block_sum_race, {"x_ptr": "*fp32", "out_ptr": "*fp32"}, {"BLOCK": N_SUM}, 4, True),
    "scale_uninit": (scale, {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32"}, {"BLOCK": BLOCK_ADD}, 4, False),
}


def _arguments(case: str) -> tuple[tuple, list, dict]:
    """(grid, arguments, the tensors by argument name) on the GPU."""
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(0)
    if case.startswith("add"):
        x, y = (torch.rand(N_ADD, device=dev, generator=gen) for _ in range(2))
        out = torch.zeros(N_ADD, device=dev)
        return (triton.cdiv(N_ADD, BLOCK_ADD),), [x, y, out, N_ADD], {"x_ptr": x, "y_ptr": y, "out_ptr": out}
    if case.startswith("sum"):
        x, out = torch.rand(N_SUM, device=dev, generator=gen), torch.zeros(1, device=dev)
        return (1,), [x, out], {"x_ptr": x, "out_ptr": out}
    x = torch.empty(N_ADD, device=dev)  # never written: initcheck's uninitialised read
    out = torch.zeros(N_ADD, device=dev)
    return (triton.cdiv(N_ADD, BLOCK_ADD),), [x, out, N_ADD], {"x_ptr": x, "out_ptr": out}


def _span(t: torch.Tensor) -> int:
    """Bytes from a view's first element to the end of its last (run.py --sanitize's measure)."""
    if t.numel() == 0:
        return 0
    return (1 + sum((s - 1) * st for s, st in zip(t.shape, t.stride()))) * t.element_size()


def _write_levels(compiled, fn, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    name = compiled.metadata.name
    for level, suffix in (("ttir", ".ttir"), ("ttgir", ".ttgir"), ("llir", ".llir"), ("ptx", ".ptx")):
        (folder / f"{name}{suffix}").write_text(compiled.asm[level])
    (folder / f"{name}.cubin").write_bytes(compiled.asm["cubin"])
    lines, first = inspect.getsourcelines(fn.fn)
    meta = dict(compiled.metadata._asdict())
    meta["workbench"] = {"python": {"file": inspect.getsourcefile(fn.fn), "first_line": first,
                                    "last_line": first + len(lines) - 1}}
    (folder / f"{name}.json").write_text(json.dumps(meta, indent=1, default=str))


def _compile_only(case: str, folder: Path) -> None:
    """The levels of a case for cuda:90 without a GPU, specialized as its launch is (16-byte
    aligned pointers, sizes divisible by 16)."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    fn, signature, constexprs, warps, race = CASES[case]
    attrs = {(i,): [["tt.divisibility", 16]] for i, name in enumerate(signature)
             if signature[name].startswith("*") or name == "n"}
    triton.knobs.runtime.add_stages_inspection_hook = _race_hook if race else None
    src = ASTSource(fn, {**signature, **{k: "constexpr" for k in constexprs}}, constexprs, attrs)
    compiled = triton.compile(src, target=GPUTarget("cuda", 90, 32), options={"num_warps": warps})
    _write_levels(compiled, fn, folder)


def run(case: str, folder: Path) -> None:
    fn, _, constexprs, warps, race = CASES[case]
    triton.knobs.runtime.add_stages_inspection_hook = _race_hook if race else None
    grid, args, tensors = _arguments(case)
    folder.mkdir(parents=True, exist_ok=True)
    buffers = [{"name": n, "address": t.data_ptr(), "bytes": _span(t)} for n, t in tensors.items()]
    (folder / "buffers.json").write_text(json.dumps({"buffers": buffers}, indent=1))
    compiled = fn[grid](*args, **constexprs, num_warps=warps)
    try:
        torch.cuda.synchronize()
    except RuntimeError as e:  # memcheck stops a kernel at its first bad access: the context is gone
        print(f"sanitizer_cases.py: {case}: the launch failed: {str(e).splitlines()[0]}", flush=True)
        _write_levels(compiled, fn, folder)
        sys.exit(0)
    _write_levels(compiled, fn, folder)
    print(f"sanitizer_cases.py: {case}: launched once", flush=True)


def main(argv: list[str]) -> int:
    out = Path(argv[argv.index("--out") + 1])
    names = [a for i, a in enumerate(argv) if not a.startswith("--") and (i == 0 or argv[i - 1] != "--out")]
    for case in names:
        if case not in CASES:
            raise SystemExit(f"sanitizer_cases.py: no case {case!r} (cases: {', '.join(CASES)})")
        if "--levels" in argv:
            _compile_only(case, out / case)
        else:
            run(case, out / case)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Compare a replay's outputs with the original kernel's, tensor by tensor."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

# (atol, rtol) by dtype: torch.testing's defaults, the floor a recompiled kernel should meet
TOLERANCES = {"float64": (1e-7, 1e-7), "float32": (1e-5, 1.3e-6), "float16": (1e-5, 1e-3),
              "bfloat16": (1e-5, 1.6e-2)}
# one autotune config against another: another tile shape sums in another order
REORDER_TOLERANCES = {"float64": (1e-10, 1e-9), "float32": (1e-5, 1e-4), "float16": (1e-3, 4e-3),
                      "bfloat16": (1e-2, 3e-2)}
# a kernel that adds floats atomically rounds each partial sum to the output's dtype, and partial
# sums cancel: an element's error is some units in the last place of the largest partial sums,
# not of the element (a split-K GEMV in float16 on an H100: 0.0098 off where |out| <= 8)
ATOMIC_ULPS = 8


def atomic_tolerance(expected) -> tuple[float, float] | None:
    """(atol, rtol) for an output summed by float atomics: the reordering tolerances, with atol
    raised to ATOMIC_ULPS units in the last place of the output's largest value."""
    import torch
    dtype = str(expected.dtype).replace("torch.", "")
    loose = REORDER_TOLERANCES.get(dtype)
    if loose is None or not expected.numel():
        return loose
    finite = expected.detach()[torch.isfinite(expected.detach())]
    largest = float(finite.abs().max()) if finite.numel() else 0.0
    return max(loose[0], ATOMIC_ULPS * torch.finfo(expected.dtype).eps * largest), loose[1]


@dataclass
class OutputCheck:
    name: str
    dtype: str
    shape: list[int]
    ok: bool
    max_abs: float
    max_rel: float
    mismatches: int
    first_mismatch: list[int] | None
    nan: int
    inf: int
    atol: float
    rtol: float
    unwritten: int = 0  # elements still holding the poison put there before the launch

    @property
    def sentence(self) -> str:
        if self.ok:
            return f"{self.name}: ok (max abs {self.max_abs:.3g}, max rel {self.max_rel:.3g})"
        parts = [f"{self.mismatches} of {_numel(self.shape)} elements differ"]
        if self.unwritten:
            parts.append(f"{self.unwritten} never written")
        if self.first_mismatch is not None:
            parts.append(f"first at [{', '.join(map(str, self.first_mismatch))}]")
        parts.append(f"max abs {self.max_abs:.3g}, max rel {self.max_rel:.3g}")
        if self.nan or self.inf:
            parts.append(f"{self.nan} NaN, {self.inf} Inf")
        return f"{self.name}: FAIL: " + "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


POISON_BYTE = 0xFF  # every float dtype reads all-ones as NaN (a payload no kernel computes)
INT_POISON_BYTE = 0xA5  # 0xA5A5... : an integer no test data is likely to hold


def poison_value(dtype):
    """A one-element tensor of ``dtype`` holding the poison bit pattern (None for bool)."""
    import torch
    if dtype == torch.bool:
        return None
    p = torch.zeros(1, dtype=dtype)
    p.view(torch.uint8).fill_(POISON_BYTE if dtype.is_floating_point else INT_POISON_BYTE)
    return p


def poison(tensor) -> bool:
    """Fill ``tensor`` with the poison pattern, so an element the kernel never writes is caught."""
    p = poison_value(tensor.dtype)
    if p is None:
        return False
    tensor.copy_(p.to(tensor.device).reshape(()).expand_as(tensor))  # (a 0-d tensor too: an atomic counter)
    return True


def _bits(t):
    import torch
    ints = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
    return t.contiguous().view(ints[t.element_size()])


def check(name: str, expected, got, atol: float | None = None, rtol: float | None = None) -> OutputCheck:
    """``got`` against ``expected``, compared where the result lives (the GPU after a replay): every
    figure is reduced there into one small tensor that comes back in one transfer (each its own
    ``.item()`` made a dozen waits for the GPU a check), the first bad index in a second only when
    there is one."""
    import torch
    dtype = str(expected.dtype).replace("torch.", "")
    d_atol, d_rtol = TOLERANCES.get(dtype, (0.0, 0.0))
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    out = got.detach()
    exp = expected.detach().to(out.device)
    none = exp.numel() == 0
    zero = torch.zeros((), dtype=torch.float64, device=out.device)
    poison = poison_value(out.dtype)
    if poison is not None and not none:
        pb = _bits(poison.to(out.device))[0]
        unwritten_t = ((_bits(out) == pb) & (_bits(exp) != pb)).sum()
    else:
        unwritten_t = zero
    if exp.dtype.is_floating_point:
        e, o = exp.double(), out.double()
        diff = (e - o).abs()
        both_nan = torch.isnan(e) & torch.isnan(o)
        diff = torch.where(both_nan, torch.zeros_like(diff), diff)
        bad = (diff > atol + rtol * e.abs()) | (torch.isnan(diff))
        rel = diff / e.abs().clamp_min(torch.finfo(torch.float64).tiny)
        finite = ~torch.isnan(diff)
        lowest = torch.tensor(-math.inf, dtype=torch.float64, device=out.device)
        figures = [torch.where(finite, diff, lowest).amax() if not none else lowest,
                   torch.where(finite & (e != 0), rel, torch.zeros_like(rel)).amax() if not none else zero,
                   torch.isnan(o).sum() - both_nan.sum(), torch.isinf(o).sum()]
    else:
        bad = exp != out
        diff = (exp.long() - out.long()).abs() if not exp.dtype == torch.bool else bad.long()
        figures = [diff.amax() if not none else zero, zero, zero, zero]
    figures += [bad.sum(), unwritten_t]
    max_abs, max_rel, nan, inf, mismatches, unwritten = torch.stack([f.double() for f in figures]).tolist()
    if exp.dtype.is_floating_point and max_abs == -math.inf:
        max_abs = math.nan   # (no finite difference at all)
    nan, inf, mismatches, unwritten = int(nan), int(inf), int(mismatches), int(unwritten)
    first = None
    if mismatches:
        flat = int(bad.reshape(-1).nonzero()[0])
        first = [int(i) for i in torch.unravel_index(torch.tensor(flat), tuple(exp.shape))]
    if unwritten and exp.dtype.is_floating_point:
        nan -= unwritten  # the poison reads as NaN: count it as unwritten, not as a NaN the kernel made
    return OutputCheck(name, dtype, list(exp.shape), mismatches == 0, max_abs, max_rel, mismatches, first, nan, inf,
                       atol, rtol, unwritten)

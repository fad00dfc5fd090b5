"""Compare a replay's outputs with the original kernel's, tensor by tensor."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# (atol, rtol) by dtype: torch.testing's defaults, the floor a recompiled kernel should meet
TOLERANCES = {"float64": (1e-7, 1e-7), "float32": (1e-5, 1.3e-6), "float16": (1e-5, 1e-3),
              "bfloat16": (1e-5, 1.6e-2)}


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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check(name: str, expected, got, atol: float | None = None, rtol: float | None = None) -> OutputCheck:
    import torch
    dtype = str(expected.dtype).replace("torch.", "")
    d_atol, d_rtol = TOLERANCES.get(dtype, (0.0, 0.0))
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    exp = expected.detach().to("cpu")
    out = got.detach().to("cpu")
    if exp.dtype.is_floating_point:
        e, o = exp.double(), out.double()
        diff = (e - o).abs()
        both_nan = torch.isnan(e) & torch.isnan(o)
        diff = torch.where(both_nan, torch.zeros_like(diff), diff)
        bad = (diff > atol + rtol * e.abs()) | (torch.isnan(diff))
        rel = diff / e.abs().clamp_min(torch.finfo(torch.float64).tiny)
        finite = ~torch.isnan(diff)
        max_abs = float(diff[finite].max()) if finite.any() else float("nan")
        max_rel = float(rel[finite & (e != 0)].max()) if (finite & (e != 0)).any() else 0.0
        nan, inf = int(torch.isnan(o).sum()) - int(both_nan.sum()), int(torch.isinf(o).sum())
    else:
        bad = exp != out
        diff = (exp.long() - out.long()).abs() if not exp.dtype == torch.bool else bad.long()
        max_abs = float(diff.max()) if diff.numel() else 0.0
        max_rel, nan, inf = 0.0, 0, 0
    mismatches = int(bad.sum())
    first = None
    if mismatches:
        flat = int(bad.reshape(-1).nonzero()[0])
        first = [int(i) for i in torch.unravel_index(torch.tensor(flat), exp.shape)]
    return OutputCheck(name, dtype, list(exp.shape), mismatches == 0, max_abs, max_rel, mismatches, first, nan, inf,
                       atol, rtol)

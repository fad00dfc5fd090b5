"""verify.check's figures, reduced on the device into one transfer, against the same figures
computed one at a time in plain Python over the elements."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.runtime.verify import TOLERANCES, check, poison


def _by_hand(expected: torch.Tensor, got: torch.Tensor, atol: float, rtol: float) -> dict:
    exp, out = expected.reshape(-1).tolist(), got.reshape(-1).tolist()
    poisoned = torch.empty_like(got)
    poison(poisoned)
    pbits = poisoned.reshape(-1)[:1].view(torch.uint8).tolist() if got.numel() else None
    bits = lambda t, i: t.reshape(-1)[i:i + 1].view(torch.uint8).tolist()  # noqa: E731
    fl = expected.dtype.is_floating_point
    diffs, rels, bad, nan, inf, unwritten = [], [], [], 0, 0, 0
    for i, (e, o) in enumerate(zip(exp, out)):
        if fl:
            both = math.isnan(e) and math.isnan(o)
            d = 0.0 if both else abs(e - o)
            if not math.isnan(d):
                diffs.append(d)
                if e != 0:
                    rels.append(d / abs(e))
            bad.append(math.isnan(d) or d > atol + rtol * abs(e))
            nan += math.isnan(o) and not both
            inf += math.isinf(o)
        else:
            diffs.append(abs(int(e) - int(o)))
            bad.append(e != o)
        if pbits is not None and bits(got, i) == pbits and bits(expected, i) != pbits:
            unwritten += 1
    if fl and unwritten:
        nan -= unwritten
    first = next((i for i, b in enumerate(bad) if b), None)
    return {"max_abs": max(diffs) if diffs else (math.nan if fl else 0.0), "max_rel": max(rels) if rels else 0.0,
            "mismatches": sum(bad), "nan": nan if fl else 0, "inf": inf if fl else 0, "unwritten": unwritten,
            "first": None if first is None else [int(i) for i in torch.unravel_index(torch.tensor(first),
                                                                                    tuple(expected.shape))]}


def _cases():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 7, generator=g)
    near = x + 1e-7
    off = x.clone()
    off[2, 3] += 0.25
    off[4, 1] = float("inf")
    nans = x.clone()
    nans[0, 0] = float("nan")
    both = nans.clone()
    zeros = x.clone()
    zeros[1, :] = 0
    zgot = zeros.clone()
    zgot[1, 2] = 1e-3
    unwritten = x.clone()
    poison(unwritten[3])
    ints = torch.randint(-50, 50, (5, 5), generator=g, dtype=torch.int32)
    iots = ints.clone()
    iots[4, 4] += 3
    ipois = ints.clone()
    poison(ipois[0])
    half = x.half()
    return [("equal", x, x.clone()), ("within tolerance", x, near), ("off and inf", x, off),
            ("a NaN made", x, nans), ("NaN on both sides", nans, both), ("zeros in expected", zeros, zgot),
            ("a row never written", x, unwritten), ("int32", ints, iots), ("int32 unwritten", ints, ipois),
            ("bool", ints > 0, iots > 0), ("float16", half, (half.float() + 0.01).half()),
            ("empty", torch.empty(0, 3), torch.empty(0, 3)), ("all NaN", torch.full((3,), math.nan),
                                                             torch.zeros(3))]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0])
def test_every_figure_is_what_the_elements_say(case):
    _, expected, got = case
    atol, rtol = TOLERANCES.get(str(expected.dtype).replace("torch.", ""), (0.0, 0.0))
    want = _by_hand(expected, got, atol, rtol)
    result = check("out", expected, got)
    for field in ("mismatches", "nan", "inf", "unwritten"):
        assert getattr(result, field) == want[field], field
    assert result.first_mismatch == want["first"]
    for field in ("max_abs", "max_rel"):
        a, b = getattr(result, field), want[field]
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-300), field
    assert result.ok == (want["mismatches"] == 0)

"""A roofline point: arithmetic intensity (FLOPs per DRAM byte) and achieved throughput,
against the card's peaks for the dtype in use and its HBM bandwidth.

Peaks come from a table by device name (NVIDIA's datasheets, dense, boost clock); a card not
in the table has no roofline, and says so, rather than a guessed one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

# device name as ncu and torch print it -> (HBM GB/s, {dtype: dense TFLOP/s}); "fp32" is the
# CUDA cores', the others the tensor cores'
_HOPPER = {"fp16": 989.4, "bf16": 989.4, "tf32": 494.7, "fp8": 1978.9, "int8": 1978.9, "fp64": 66.9, "fp32": 66.9}
PEAKS: dict[str, tuple[float, dict[str, float]]] = {
    "NVIDIA H200": (4800.0, _HOPPER),
    "NVIDIA H100 80GB HBM3": (3350.0, _HOPPER),
    "NVIDIA H100 SXM5 80GB": (3350.0, _HOPPER),
    "NVIDIA H100 PCIe": (2000.0, {"fp16": 756.0, "bf16": 756.0, "tf32": 378.0, "fp8": 1513.0, "int8": 1513.0,
                                  "fp64": 51.2, "fp32": 51.2}),
    "NVIDIA A100-SXM4-80GB": (2039.0, {"fp16": 312.0, "bf16": 312.0, "tf32": 156.0, "int8": 624.0, "fp64": 19.5,
                                       "fp32": 19.5}),
    "NVIDIA A100-SXM4-40GB": (1555.0, {"fp16": 312.0, "bf16": 312.0, "tf32": 156.0, "int8": 624.0, "fp64": 19.5,
                                       "fp32": 19.5}),
}


@dataclass
class Peaks:
    device: str
    hbm_gbps: float
    tflops: dict[str, float]
    source: str  # where the numbers come from, said with them

    @property
    def known(self) -> bool:
        return bool(self.hbm_gbps)


def peaks_for(device: str) -> Peaks:
    entry = PEAKS.get(device.strip())
    if entry is None:
        return Peaks(device, 0.0, {}, f"no peaks known for {device!r} (the table has {', '.join(PEAKS)})")
    return Peaks(device, entry[0], dict(entry[1]), "from the table (datasheet, dense, boost clock)")


@dataclass
class Point:
    flops: float
    flops_source: str       # "--flops EXPR" or "counted by ncu"
    dtype: str | None
    dram_bytes: float
    seconds: float
    intensity: float | None   # FLOP per DRAM byte
    tflops: float | None      # achieved
    dram_gbps: float
    peak_tflops: float | None
    peak_gbps: float | None
    ridge: float | None       # the intensity where the roofs meet
    bound: str | None         # "memory" or "compute": the roof over the point
    pct_of_roof: float | None  # achieved as a share of the roof at its intensity
    peaks_source: str

    def to_json(self) -> dict:
        return asdict(self)


def point(flops: float, flops_source: str, dtype: str | None, dram_bytes: float, seconds: float,
          peaks: Peaks) -> Point:
    intensity = flops / dram_bytes if dram_bytes else None
    tflops = flops / seconds / 1e12 if seconds and flops else None
    gbps = dram_bytes / seconds / 1e9 if seconds else 0.0
    peak = peaks.tflops.get(dtype or "") if peaks.known else None
    bw = peaks.hbm_gbps if peaks.known else None
    ridge = peak * 1e12 / (bw * 1e9) if peak and bw else None
    bound = roof = None
    if ridge is not None and intensity is not None:
        bound = "memory" if intensity < ridge else "compute"
        roof = min(peak, intensity * bw * 1e9 / 1e12)
    return Point(flops, flops_source, dtype, dram_bytes, seconds, intensity, tflops, gbps, peak, bw, ridge, bound,
                 100.0 * tflops / roof if roof and tflops else None, peaks.source)


def chart(points: dict[str, dict], width: int = 44, height: int = 10) -> list[str]:
    """A log-log roofline in text: the roof (``_`` memory slope, ``-`` compute flat) and one
    letter per point (``points``: label -> :class:`Point` as JSON, the label's first letter)."""
    usable = {k: p for k, p in points.items() if p.get("intensity") and p.get("tflops") and p.get("peak_tflops")}
    if not usable:
        return []
    any_p = next(iter(usable.values()))
    peak, bw = any_p["peak_tflops"], any_p["peak_gbps"]
    xs = [p["intensity"] for p in usable.values()] + [any_p["ridge"]]
    x0, x1 = math.log10(min(xs)) - 1, math.log10(max(xs)) + 1
    y1 = math.log10(peak) + 0.05  # the compute roof on the first row, beside its label
    y0 = min(math.log10(p["tflops"]) for p in usable.values()) - 0.5
    grid = [[" "] * width for _ in range(height)]

    def row_of(y: float) -> int:
        return min(height - 1, max(0, round((y1 - y) / (y1 - y0) * (height - 1))))
    for c in range(width):
        x = 10 ** (x0 + (x1 - x0) * c / (width - 1))
        roof = min(peak, x * bw * 1e9 / 1e12)
        r = row_of(math.log10(roof))
        grid[r][c] = "-" if roof >= peak else "/"
    for label, p in usable.items():
        c = min(width - 1, max(0, round((math.log10(p["intensity"]) - x0) / (x1 - x0) * (width - 1))))
        grid[row_of(math.log10(p["tflops"]))][c] = label[0]
    lines = ["".join(r).rstrip() for r in grid]
    lines[0] = f"{lines[0]:<{width}}  {peak:g} TFLOP/s ({any_p['dtype']})"
    lines.append(f"{'':<{width}}  FLOP/byte: 10^{x0:.1f} .. 10^{x1:.1f}; HBM {bw:g} GB/s")
    return lines

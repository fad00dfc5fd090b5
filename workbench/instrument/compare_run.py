"""Two releases run side by side on the same captured inputs: one export, replayed under each.

The original is exported once at its Python level (``session.export``: the captured inputs, the
outputs the script's own launch made, and a ``run.py`` that needs torch and Triton only). Its
``run.py`` compiles the kernel with whichever Triton is first on the path, launches it on the
captured inputs, checks the outputs against the exported ones and times the launch with
``triton.testing.do_bench``. Run under release A and under release B, in turns, it tells whether B's
binary computes what A's did on the same inputs, and how their timings compare.
"""

from __future__ import annotations

import re
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_MEDIAN = re.compile(r"^run\.py: median ([0-9.]+) us per launch")
_CHECK = re.compile(r"^run\.py: (?P<label>.+?): (?P<what>ok|MISMATCH: .*)$")


@dataclass
class Replay:
    """What one ``run.py`` said under one release."""

    ok: bool | None                 # outputs as the export's (None: it did not get that far)
    median_us: float | None         # do_bench's median (None: the interpreter, or a failure)
    mismatches: list[str] = field(default_factory=list)
    error: str | None = None        # one line: why it did not run


def replay(run_py: Path, python: str, env: dict[str, str], timeout: float = 300.0) -> Replay:
    """``run.py`` once, with ``python`` and ``env`` (a release first on its path)."""
    try:
        proc = subprocess.run([python, str(run_py)], capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=run_py.parent)
    except subprocess.TimeoutExpired:
        return Replay(None, None, error=f"ran past {timeout:g} s")
    rows = proc.stdout.splitlines()
    median = next((float(m.group(1)) for row in rows if (m := _MEDIAN.match(row))), None)
    checks = [m for row in rows if (m := _CHECK.match(row))]
    mismatches = [f"{m.group('label')}: {m.group('what')[len('MISMATCH: '):]}" for m in checks
                  if m.group("what") != "ok"]
    if proc.returncode not in (0, 1) or not checks and proc.returncode != 0:
        last = next((row for row in reversed(proc.stderr.splitlines()) if row.strip()), f"status {proc.returncode}")
        return Replay(None, None, error=last.strip()[:300])
    return Replay(proc.returncode == 0 and not mismatches, median, mismatches)


def side_by_side(run_py: Path, sides: list[tuple[str, str, dict[str, str]]], repeats: int = 3,
                 timeout: float = 300.0) -> dict[str, Any]:
    """``run.py`` under each side (label, python, env), ``repeats`` times in turns (a neighbour's burst
    lands on one turn, not on one side). The outputs of each side against the export's, each side's
    median of medians, and whether B's differs from A's by more than the two sides' own spread."""
    runs: dict[str, list[Replay]] = {label: [] for label, _, _ in sides}
    for _ in range(max(1, repeats)):
        for label, python, env in sides:
            runs[label].append(replay(run_py, python, env, timeout))
    out: dict[str, Any] = {"sides": {}}
    for label, replays in runs.items():
        error = next((r.error for r in replays if r.error), None)
        medians = [r.median_us for r in replays if r.median_us is not None]
        out["sides"][label] = {
            "ok": None if error else all(r.ok for r in replays),
            "mismatches": sorted({m for r in replays for m in r.mismatches}),
            "error": error,
            "median_us": statistics.median(medians) if medians else None,
            "spread": (max(medians) - min(medians)) / statistics.median(medians) if len(medians) > 1 else None,
        }
    (a, sa), (b, sb) = list(out["sides"].items())[:2]
    out["outputs_differ"] = sa["ok"] is True and sb["ok"] is False
    out["timing"] = _verdict(a, sa, b, sb)
    return out


def _verdict(a: str, sa: dict[str, Any], b: str, sb: dict[str, Any]) -> dict[str, Any] | None:
    if sa["median_us"] is None or sb["median_us"] is None:
        return None
    ratio = sb["median_us"] / sa["median_us"]
    noise = max(sa["spread"] or 0.0, sb["spread"] or 0.0, 0.02)
    if abs(ratio - 1) <= noise:
        said = f"Triton {b} {ratio:.2f}x Triton {a}: within noise (±{noise:.0%})"
    else:
        said = f"Triton {b} {'slower' if ratio > 1 else 'faster'}: {ratio:.2f}x Triton {a} (noise ±{noise:.0%})"
    return {"ratio": ratio, "noise": noise, "within_noise": abs(ratio - 1) <= noise, "said": said}

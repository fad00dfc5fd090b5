"""On the GPU machine: `workbench profile` of the matmul example's original and of a pipelining
edit, against ncu run by hand (``--set full``) on the same replays, and what a profile costs.

The edit is TTGIR before the pipeliner: ``workbench passes`` writes the IR after
``tritongpu-assign-latencies``, where each pipelined load carries ``tt.latency = 2`` (num_stages
3); ``tt.latency = 1`` (num_stages 2) is saved as a version with ``workbench run --from``.

For each version the figures `workbench profile` read back (its section list, one launch of
``run.py --profile``) are compared with those of ``ncu --set full`` on the same export's
``run.py --profile``, read by the same parser: registers, shared memory, instructions, grid,
block and the FLOPs ncu counts must be equal; DRAM bytes, duration and occupancy within the
tolerances below (two profiles of a 5 us kernel differ by their clocks and caches).

    python benchmarks/profile_check.py [--keep DIR]

Then examples/matmul_scopes.py's proton scopes (cycles per warp and in all, per scope).

Prints the comparison, the cost (seconds and ncu passes, ours and --set full's), the change
from the original to the edit, the scopes, and a JSON report as the last line; exit 1 if a
figure disagrees or the scopes were not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.profile import ncu, profile, scopes  # noqa: E402

KERNEL = "matmul_kernel"
EXACT = ("registers", "shared_bytes", "instructions", "grid", "block")
CLOSE = {"duration_us": 0.25, "dram_read_bytes": 0.15, "achieved_occupancy_pct": 0.25}  # relative
LATENCY_FROM, LATENCY_TO = "tt.latency = 2 : i32", "tt.latency = 1 : i32"


def workbench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return proc


def stages_version(script: Path) -> str:
    """Save the num_stages-2 edit of the script's matmul as a version; its number."""
    proc = workbench("passes", str(script), "--kernel", KERNEL, "--stage", "ttgir")
    if proc.returncode != 0:
        raise SystemExit(f"workbench passes failed:\n{proc.stderr}")
    found = sorted(script.parent.glob(f".workbench/{script.stem}/{KERNEL}-*/passes/*-ttgir-tritongpu-assign-latencies.mlir"))
    if not found:
        raise SystemExit("no IR after tritongpu-assign-latencies was written")
    text = found[-1].read_text()
    if LATENCY_FROM not in text:
        raise SystemExit(f"{found[-1]}: no '{LATENCY_FROM}' to edit")
    edited = script.parent / "num_stages_2.mlir"
    edited.write_text(text.replace(LATENCY_FROM, LATENCY_TO))
    proc = workbench("run", str(script), "--kernel", KERNEL, "--from", str(edited), "--json")
    if proc.returncode not in (0, 1):
        raise SystemExit(f"workbench run --from failed:\n{proc.stderr}")
    return str(json.loads(proc.stdout)["runs"][-1]["version"])


def by_hand(folder: Path) -> tuple[dict, float, int | None]:
    """``ncu --set full`` on the export's replay, read with the same parser."""
    tool = ncu.find_ncu()
    out = folder / "by-hand"
    out.mkdir(exist_ok=True)
    t0 = time.monotonic()
    run = subprocess.run([tool, "--clock-control", "none", "--set", "full", "--import-source", "yes",
                          "-k", f"regex:^{KERNEL}$", "-c", "1", "-f", "-o", str(out / "full"),
                          sys.executable, "run.py", "--profile"], cwd=folder, capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if run.returncode != 0:
        raise SystemExit(f"ncu by hand failed in {folder}:\n{run.stdout}\n{run.stderr}")
    raw = subprocess.run([tool, "-i", str(out / "full.ncu-rep"), "--csv", "--page", "raw"], capture_output=True,
                         text=True, check=True).stdout
    (out / "raw.csv").write_text(raw)
    launch = ncu.parse_raw(raw)
    figures = profile.figures(launch)
    figures["counted_flops"] = profile.counted_flops(launch)[0]
    return figures, seconds, ncu.passes(run.stdout + run.stderr)


def compare(ours: dict, hand: dict) -> list[dict]:
    rows = []
    mine = dict(ours, counted_flops=ours["roofline"]["flops"])
    for key in EXACT + ("counted_flops",) + tuple(CLOSE):
        a, b = mine.get(key), hand.get(key)
        if key in CLOSE:
            ok = a is not None and b is not None and abs(a - b) <= CLOSE[key] * max(abs(b), 1e-9)
        else:
            ok = a == b
        rows.append({"figure": key, "workbench profile": a, "ncu --set full": b, "agree": ok})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", help="work in this folder (kept) instead of a temporary one")
    args = ap.parse_args()
    if ncu.find_ncu() is None:
        print(f"profile_check: error: {ncu.no_ncu_sentence()}", file=sys.stderr)
        return 2
    work = Path(args.keep or tempfile.mkdtemp(prefix="profile-check-"))
    work.mkdir(parents=True, exist_ok=True)
    script = work / "matmul.py"
    shutil.copyfile(ROOT / "examples" / "matmul.py", script)
    version = stages_version(script)
    t0 = time.monotonic()
    proc = workbench("profile", str(script), "--kernel", KERNEL, "--version", version, "--json")
    total = time.monotonic() - t0
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return 2
    result = json.loads(proc.stdout)
    report: dict = {"version": version, "workbench_profile_seconds": total, "versions": {}}
    ok = True
    for label, p in result["profiles"].items():
        hand, hand_s, hand_passes = by_hand(Path(p["folder"]))
        rows = compare(p, hand)
        ok &= all(r["agree"] for r in rows)
        print(f"\n{label} ({p['folder']})")
        for r in rows:
            print(f"  {r['figure']:<24} {str(r['workbench profile']):<22} {str(r['ncu --set full']):<22} "
                  f"{'ok' if r['agree'] else 'DIFFERS'}")
        print(f"  cost: ncu {p['ncu_seconds']:.1f} s, {p['ncu_passes']} passes (ours); "
              f"{hand_s:.1f} s, {hand_passes} passes (--set full)")
        hot = p["hot"] or {}
        print(f"  hot lines: {hot.get('matched')}/{hot.get('instructions')} instructions matched; python "
              f"{hot.get('top', {}).get('samples', {}).get('python')}")
        report["versions"][label] = {"rows": rows, "ncu_seconds": p["ncu_seconds"], "ncu_passes": p["ncu_passes"],
                                     "by_hand_seconds": hand_s, "by_hand_passes": hand_passes,
                                     "roofline": p["roofline"], "hot_top": hot.get("top"),
                                     "hot_matched": [hot.get("matched"), hot.get("instructions")]}
    print(f"\nworkbench profile (capture, 2 exports, 2 ncu runs): {total:.1f} s")
    print("\nthe change, as the table shows it:")
    for row in result["table"]:
        print("  " + "  ".join(f"{v:<22}" for v in row.values()))
    report["table"] = result["table"]
    # proton's intra-kernel scopes, on the example that opens some
    scoped = work / "matmul_scopes.py"
    shutil.copyfile(ROOT / "examples" / "matmul_scopes.py", scoped)
    proc = workbench("profile", str(scoped), "--kernel", KERNEL, "--json")
    timing = json.loads(proc.stdout)["profiles"]["original"]["scopes"] if proc.returncode == 0 else \
        {"scopes": [], "note": proc.stderr.strip()}
    print("\nproton scopes of examples/matmul_scopes.py:")
    for line in scopes.lines("original", timing):
        print(f"  {line}")
    report["scopes"] = timing
    ok &= not timing["note"]
    report["agree"] = ok
    print(json.dumps(report, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

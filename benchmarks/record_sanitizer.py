"""Record compute-sanitizer's real output for tests/data/sanitizer/ (GPU machine, one call).

    python3 benchmarks/record_sanitizer.py --out $OUT

Runs benchmarks/sanitizer_cases.py under each tool with the exact flags ``workbench sanitize``
uses (:func:`workbench.profile.sanitize.command`, PYTORCH_NO_CUDA_MEMORY_CACHING=1): memcheck
over the masked and the unmasked vector add, racecheck over the sum with and without its first
barrier, initcheck over the read of a ``torch.empty`` buffer, synccheck over the racy sum. Each
tool's log is ``$OUT/<tool>.log`` (what the test data keeps), its console ``$OUT/<tool>.output``,
and each case's levels and buffers ``$OUT/<case>/``. Then, end to end, ``workbench sanitize`` on
a copy of examples/vector_add.py: the original, and a TTGIR version with the loads' mask dropped
(``$OUT/e2e/``: the command's output; each export's logs under ``exports/``). ``$OUT/record.json`` says what ran, on what, and how long each step took.
To keep: copy ``$OUT/*.log`` and ``$OUT/<case>/`` over tests/data/sanitizer/ and say so in its README.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.profile import sanitize  # noqa: E402

# tool -> cases, clean ones first (memcheck stops a kernel at its first bad access; the context is gone after)
PLAN = {
    "memcheck": ["add_masked", "add_unmasked"],
    "racecheck": ["sum_clean", "sum_race"],
    "initcheck": ["scale_uninit"],
    "synccheck": ["sum_race"],
}
LIMIT = 60.0  # seconds per tool run
E2E_AFTER = 150.0  # the end-to-end part is left out when the recordings took longer (one call stays under 5 min)


def _version(tool: str) -> str:
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"
    return " ".join(out.split())


def _gpu() -> str:
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"


def record_cases(tool_path: str, out: Path, env: dict) -> dict:
    steps = {}
    for tool, cases in PLAN.items():
        log = out / f"{tool}.log"
        program = [sys.executable, str(ROOT / "benchmarks" / "sanitizer_cases.py"), "--out", str(out), *cases]
        t0 = time.monotonic()
        try:
            proc = subprocess.run(sanitize.command(tool_path, tool, log, program), capture_output=True, text=True,
                                  timeout=LIMIT, env=env, cwd=out)
            status, console = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as e:
            status, console = "timed out", f"{e.stdout or ''}{e.stderr or ''}"
        (out / f"{tool}.output").write_text(console if isinstance(console, str) else console.decode())
        steps[tool] = {"cases": cases, "status": status, "seconds": round(time.monotonic() - t0, 1),
                       "log_bytes": log.stat().st_size if log.is_file() else None}
        print(f"{tool}: {cases} -> {log} ({steps[tool]['seconds']} s, status {status})", flush=True)
    return steps


def workbench(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=LIMIT)


def end_to_end(out: Path, env: dict) -> dict:
    """`workbench sanitize` on vector_add: the original, then its TTGIR with the loads' mask dropped."""
    e2e = out / "e2e"
    e2e.mkdir()
    work = Path(tempfile.mkdtemp(prefix="wb-sanitize-"))
    script = work / "vector_add.py"
    shutil.copyfile(ROOT / "examples" / "vector_add.py", script)
    steps = {}

    def step(name: str, *args: str) -> subprocess.CompletedProcess:
        t0 = time.monotonic()
        proc = workbench(*args, cwd=work, env=env)
        (e2e / f"{name}.stdout").write_text(proc.stdout)
        (e2e / f"{name}.stderr").write_text(proc.stderr)
        steps[name] = {"args": list(args), "status": proc.returncode, "seconds": round(time.monotonic() - t0, 1)}
        print(f"e2e {name}: workbench {' '.join(args)} -> status {proc.returncode} ({steps[name]['seconds']} s)",
              flush=True)
        return proc

    step("capture", "run", str(script), "--kernel", "add_kernel", "--json")
    found = sorted(work.glob(".workbench/vector_add/add_kernel-*/original/add_kernel.ttgir"))
    if not found:
        steps["error"] = "no original TTGIR in the workspace"
        return steps
    text = found[0].read_text()
    edited = re.sub(r"(tt\.load %[\w#]+), %[\w#]+( :)", r"\1\2", text)
    (e2e / "unmasked.ttgir").write_text(edited)
    steps["mask_dropped"] = text != edited
    run = step("version", "run", str(script), "--kernel", "add_kernel", "--from", str(e2e / "unmasked.ttgir"),
               "--json")
    try:
        version = str(json.loads(run.stdout)["runs"][-1]["version"])
    except (ValueError, KeyError, IndexError):
        steps["error"] = "the TTGIR version was not saved"
        return steps
    step("sanitize", "sanitize", str(script), "--kernel", "add_kernel", "--version", version)  # the original too
    for folder in work.glob(".workbench/vector_add/exports/*"):
        if (folder / "sanitize").is_dir():
            shutil.copytree(folder / "sanitize", e2e / "exports" / folder.name)
    return steps


def main(argv: list[str]) -> int:
    if "--out" not in argv:
        raise SystemExit("usage: python3 benchmarks/record_sanitizer.py --out DIR")
    out = Path(argv[argv.index("--out") + 1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tool = sanitize.find_sanitizer()
    if tool is None:
        raise SystemExit(f"record_sanitizer.py: {sanitize.no_sanitizer_sentence()}")
    t0 = time.monotonic()
    env = os.environ | sanitize.REPLAY_ENV | {"TRITON_CACHE_DIR": tempfile.mkdtemp(prefix="triton-cache-"),
                                              "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    record = {"compute_sanitizer": _version(tool), "gpu": _gpu(), "python": sys.version.split()[0],
              "flags": sanitize.command(tool, "TOOL", Path("TOOL.log"), ["PROGRAM"])}
    try:
        import triton
        record["triton"] = triton.__version__
    except ImportError:
        record["triton"] = None
    record["cases"] = record_cases(tool, out, env)
    try:
        if time.monotonic() - t0 > E2E_AFTER:
            record["e2e"] = {"skipped": f"the recordings took over {E2E_AFTER:.0f} s"}
        else:
            record["e2e"] = end_to_end(out, env)
    except (OSError, subprocess.TimeoutExpired) as e:
        record["e2e"] = {"error": repr(e)}
    record["seconds"] = round(time.monotonic() - t0, 1)
    (out / "record.json").write_text(json.dumps(record, indent=1, default=str))
    print(f"saved under {out}:")
    for path in sorted(out.rglob("*")):
        if path.is_file():
            print(f"  {path.relative_to(out)} ({path.stat().st_size} bytes)")
    print(f"in {record['seconds']} s; compute-sanitizer {record['compute_sanitizer']}; {record['gpu']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

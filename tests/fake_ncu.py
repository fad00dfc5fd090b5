"""A stand-in for Nsight Compute's ``ncu`` on a machine without a GPU, for the tests of what the
workbench does around it (its failures, a slow profile in the app).

It runs the program it is given, as ncu does, then behaves as ``FAKE_NCU`` says:
``ok`` writes a report, whose pages (``-i REPORT --csv --page raw|source``) are the real H200
pages of the matmul example in tests/data/ncu; ``perm``, ``nokernel`` and ``replayfail`` print
what the real ncu prints for no counter permission, no profiled launch, a failed replay.
``FAKE_NCU_SLEEP`` seconds are spent first (a slow profile).
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / "data" / "ncu"
MESSAGES = {
    "perm": ("==ERROR== ERR_NVGPUCTRPERM - The user does not have permission to access NVIDIA GPU Performance "
             "Counters on the target device 0. For instructions on enabling permissions and to get more information "
             "see https://developer.nvidia.com/ERR_NVGPUCTRPERM", 1),
    "nokernel": ("==WARNING== No kernels were profiled.", 0),
    "replayfail": ('==ERROR== Failed to profile "{kernel}" in process {pid}', 1),
}


def install(folder: Path, mode: str = "ok", sleep: float = 0.0) -> dict[str, str]:
    """An ``ncu`` in ``folder`` running this file; the environment that puts it first on PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / "ncu"
    tool.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} \"$@\"\n")
    tool.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}", "FAKE_NCU": mode,
            "FAKE_NCU_SLEEP": str(sleep), "WORKBENCH_NCU": ""}


def main(argv: list[str]) -> int:
    if "-i" in argv:
        page = argv[argv.index("--page") + 1]
        name = "source_sass" if page == "source" else page
        sys.stdout.write(gzip.decompress((DATA / f"matmul_{name}.csv.gz").read_bytes()).decode())
        return 0
    base = argv[argv.index("-o") + 1]
    kernel = argv[argv.index("-k") + 1].removeprefix("regex:^").removesuffix("$")
    program = argv[argv.index("-o") + 2:]
    time.sleep(float(os.environ.get("FAKE_NCU_SLEEP") or 0))
    print("==PROF== Connected to process 4242", flush=True)
    ran = subprocess.run(program)
    mode = os.environ.get("FAKE_NCU", "ok")
    if mode in MESSAGES:
        text, status = MESSAGES[mode]
        print(text.format(kernel=kernel, pid=4242), flush=True)
        return status
    if ran.returncode != 0:
        print(f"==ERROR== The application returned an error code ({ran.returncode}).", flush=True)
        return 1
    print(f'==PROF== Profiling "{kernel}": 0%....50%....100% - 9 passes', flush=True)
    Path(base + ".ncu-rep").write_bytes(b"fake report\n")
    print(f"==PROF== Report: {base}.ncu-rep", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A stand-in for NVIDIA's ``compute-sanitizer`` on a machine without a GPU, for the tests of
what the workbench does around it. It takes the real tool's arguments and behaves as
``FAKE_SANITIZER`` says: ``run`` runs the program (as the real tool does) and writes an empty
log with a clean summary; ``log`` writes the file ``FAKE_SANITIZER_LOG`` names as its log without
running anything (and, with ``FAKE_SANITIZER_BUFFERS``, that file as the buffers the replay's
``--sanitize FILE`` would have written); ``sleep`` waits ``FAKE_SANITIZER_SLEEP`` seconds first (a slow kernel).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


# a read 128 bytes past the end of x_ptr, at one of vector_add's loads (the instruction at +0x180
# of add_kernel's SASS: `x = tl.load(x_ptr + offsets, mask=mask)`, line 20)
OUT_OF_BOUNDS = ("========= COMPUTE-SANITIZER\n"
                 "========= Invalid __global__ read of size 16 bytes\n"
                 "=========     at add_kernel+0x180 in vector_add.py:20\n"
                 "=========     by thread (0,0,0) in block (96,0,0)\n"
                 "=========     Access to 0x7f0000060280 is out of bounds\n"
                 "=========\n"
                 "========= ERROR SUMMARY: 1 error\n")
# vector_add's buffers as its replay would say them: 98432 floats each
BUFFERS = {"buffers": [{"name": "x_ptr", "address": 0x7f0000000000, "bytes": 98432 * 4},
                       {"name": "y_ptr", "address": 0x7f0000100000, "bytes": 98432 * 4},
                       {"name": "out_ptr", "address": 0x7f0000200000, "bytes": 98432 * 4}]}


def install(folder: Path, mode: str = "run", log: str = "", sleep: float = 0.0, buffers: str = "") -> dict[str, str]:
    """A ``compute-sanitizer`` in ``folder`` running this file; the environment that puts it first on PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / "compute-sanitizer"
    tool.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} \"$@\"\n")
    tool.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}", "FAKE_SANITIZER": mode,
            "FAKE_SANITIZER_LOG": log, "FAKE_SANITIZER_SLEEP": str(sleep), "FAKE_SANITIZER_BUFFERS": buffers,
            "WORKBENCH_SANITIZER": ""}


def main(argv: list[str]) -> int:
    log = Path(argv[argv.index("--log-file") + 1])
    program = argv[argv.index("--log-file") + 2:]
    time.sleep(float(os.environ.get("FAKE_SANITIZER_SLEEP") or 0))
    if os.environ.get("FAKE_SANITIZER") == "log":
        shutil.copyfile(os.environ["FAKE_SANITIZER_LOG"], log)
        if os.environ.get("FAKE_SANITIZER_BUFFERS") and "--sanitize" in program:
            shutil.copyfile(os.environ["FAKE_SANITIZER_BUFFERS"], program[program.index("--sanitize") + 1])
        return 0
    ran = subprocess.run(program)
    text = "========= COMPUTE-SANITIZER\n"
    if ran.returncode != 0:
        text += "========= Error: Target application returned an error\n"
    log.write_text(text + "========= ERROR SUMMARY: 0 errors\n")
    return ran.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

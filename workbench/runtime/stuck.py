"""A script stuck in native code (a C call that holds the GIL: a long CPU matmul, a libc sleep)
runs no Python signal handler, so neither its time limit (SIGALRM) nor SIGTERM stops it. In the
CLI's own process (``workbench compile``/``dump``/``passes`` run the script there) a watchdog
process does: faulthandler's C-level dumps (no GIL needed) tell it the limit passed or a SIGTERM
came, and which line the script was on; if the process is still there after a grace, it says so
in one line and kills it. The runner's own limit is its client's (:mod:`workbench.runner.client`).
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import signal
import subprocess
import sys
from typing import Iterator

GRACE = 1.0   # seconds a stopped script gets to unwind in Python before it is killed

_WATCHDOG = r'''
import json, os, re, select, signal, sys, time
pid, limit_fd, term_fd, grace = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
context, buffers = {}, {limit_fd: b"", term_fd: b""}

def where(dump):
    frames = re.findall(r'File "(.*)", line (\d+)', dump)
    script = context.get("script")
    hits = [f"{f}:{n}" for f, n in frames if f == script] or [f"{f}:{n}" for f, n in frames[:1]]
    return hits[0] if hits else (script or "the script")

def kill(line):
    try:
        os.kill(pid, 0)
    except OSError:
        return
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    os.kill(pid, signal.SIGKILL)

def read_all(fd, quiet=0.2):
    while select.select([fd], [], [], quiet)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        buffers[fd] += chunk
    return True

open_fds = [limit_fd, term_fd]
while open_fds:
    for fd in select.select(open_fds, [], [])[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            open_fds.remove(fd)
            continue
        buffers[fd] += chunk
        text = buffers[fd].decode(errors="replace")
        while fd == limit_fd and "\n" in text and text.startswith("wb:"):
            line, _, text = text.partition("\n")
            context.update(json.loads(line[3:]))
            buffers[fd] = text.encode()
        if fd == limit_fd and text.startswith("Timeout ("):
            read_all(fd)
            dump = buffers[fd].decode(errors="replace")
            kill(f"{where(dump)}: error: the script ran past the {context['limit']:g} s limit "
                 f"({context['name']}) in code that cannot be interrupted: stopped")
            sys.exit(0)
        if fd == term_fd and text.strip():
            alive = read_all(fd, grace)
            if alive:
                kill(f"workbench: stopped by SIGTERM in code that cannot be interrupted "
                     f"({where(buffers[fd].decode(errors='replace'))})")
            sys.exit(0)
'''


class _Watchdog:
    def __init__(self) -> None:
        limit_r, self.limit_w = os.pipe()
        term_r, self.term_w = os.pipe()
        self.proc = subprocess.Popen([sys.executable, "-I", "-c", _WATCHDOG, str(os.getpid()), str(limit_r),
                                      str(term_r), str(GRACE)], pass_fds=(limit_r, term_r), stdin=subprocess.DEVNULL)
        os.close(limit_r)
        os.close(term_r)
        self.term_file = os.fdopen(self.term_w, "wb", buffering=0, closefd=False)
        self.limit_file = os.fdopen(self.limit_w, "wb", buffering=0, closefd=False)
        faulthandler.register(signal.SIGTERM, file=self.term_file, all_threads=False, chain=True)

    def close(self) -> None:
        faulthandler.unregister(signal.SIGTERM)
        faulthandler.cancel_dump_traceback_later()
        os.close(self.limit_w)
        os.close(self.term_w)
        self.proc.wait()


_current: _Watchdog | None = None


@contextlib.contextmanager
def watchdog() -> Iterator[None]:
    """For the block (a CLI command), a script stuck in native code is killed at its limit or on
    SIGTERM. Install the Python SIGTERM handler first: faulthandler's chains to it."""
    global _current
    if not hasattr(faulthandler, "register"):   # (not on Windows)
        yield
        return
    _current = _Watchdog()
    try:
        yield
    finally:
        dog, _current = _current, None
        dog.close()


@contextlib.contextmanager
def limited(script: str, seconds: float | None, limit_name: str) -> Iterator[None]:
    """The script's time limit, as a watchdog under :func:`watchdog` enforces it (else nothing):
    armed ``GRACE`` after ``seconds``, when the script's own SIGALRM should have stopped it."""
    dog = _current
    if dog is None or not seconds:
        yield
        return
    os.write(dog.limit_w, b"wb:" + json.dumps({"script": str(script), "limit": seconds,
                                                "name": limit_name}).encode() + b"\n")
    faulthandler.dump_traceback_later(seconds + GRACE, file=dog.limit_file)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()

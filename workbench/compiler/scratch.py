"""Temporary files of ours, in a folder of ours that is always removed.

Triton's cubin stage and nvdisasm read their input from a file. Triton leaves its copy of
the user's PTX in the temporary folder when ptxas fails, and a process killed mid-stage
leaves whatever it had written. So each such step runs in a folder named after this
process, removed when the step ends; a folder whose process died (SIGKILL) is removed by
the next process that makes one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

PREFIX = "triton-workbench-"
_OURS = re.compile(re.escape(PREFIX) + r"(\d+)-")
_swept = False


@contextlib.contextmanager
def folder() -> Iterator[Path]:
    """A fresh folder, removed with all it holds when the block ends."""
    sweep()
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def as_tempdir() -> Iterator[Path]:
    """A :func:`folder` that ``tempfile`` (and the tools run meanwhile) also use: for code
    that makes its own temporary files, such as Triton's cubin stage."""
    with folder() as path:
        saved, saved_env = tempfile.tempdir, os.environ.get("TMPDIR")
        tempfile.tempdir = os.environ["TMPDIR"] = str(path)
        try:
            yield path
        finally:
            tempfile.tempdir = saved
            if saved_env is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = saved_env


def workspace(stem: str) -> Path:
    """A scratch workspace (``workbench run`` beside the app): the caller removes it when it
    ends, and :func:`sweep` when a killed caller could not."""
    sweep()
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-workspace-{stem}-"))


def sweep() -> None:
    """Remove, once per process, the folders left by processes of ours that are gone."""
    global _swept
    if _swept:
        return
    _swept = True
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        m = _OURS.match(name)
        if m and not _alive(int(m.group(1))):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process
        return True
    return True

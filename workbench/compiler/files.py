"""Files in the workspace: names made from user input stay one path component, and every
write lands whole or not at all.

A kernel's ``__name__``, a script's stem, a spec id or a version number end up in paths;
any of them may hold ``/``, ``..`` or a control character (``fn.__name__ = "../../x"`` is
legal Python). :func:`safe_name` is the one place that turns such a name into a folder or
file name. :func:`atomic_write` writes beside the target and renames over it, so a reader
(or a crash) never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

# Characters no file name may hold here or on Windows (a workspace may be shared over a mount).
_FORBIDDEN = set('/\\:*?"<>|')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
TMP_SUFFIX = ".tmp"
_TMP_NAME = re.compile(r"^\..*\.(\d+)\.[^.]+" + re.escape(TMP_SUFFIX) + "$")
MAX_BYTES = 120  # room for a suffix and a temporary name's prefix within the usual 255-byte limit


def safe_name(name: str, max_bytes: int = MAX_BYTES) -> str:
    """``name`` as one readable path component: separators, control characters and leading
    dots become ``_``, reserved device names get a ``_``, a very long name is cut and ends in a
    digest of the whole (two long names stay apart). Letters of any script are kept."""
    text = str(name)
    out = "".join("_" if c in _FORBIDDEN or unicodedata.category(c).startswith("C") else c for c in text)
    stripped = out.lstrip(".")
    out = "_" * (len(out) - len(stripped)) + stripped
    trimmed = out.rstrip(". ")  # Windows drops trailing dots and spaces: two names would meet
    out = trimmed + "_" * (len(out) - len(trimmed))
    if not out:
        return "_"
    if out.split(".")[0].upper() in _RESERVED:
        out = "_" + out
    if len(out.encode("utf-8")) > max_bytes:
        tag = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        head = out.encode("utf-8")[:max_bytes - 9].decode("utf-8", "ignore")
        out = f"{head}-{tag}"
    return out


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    tmp = stage(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise
    return path


def stage(path: str | Path, data: str | bytes) -> Path:
    """``data`` in a temporary file beside ``path``, to be renamed over it (one step of a
    write of several files that must all be ready before any lands). Its name holds this
    process's id, so :func:`sweep` can tell a dead writer's leftovers."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode & 0o777  # an edited file keeps its mode
    except OSError:
        mode = 0o644  # not mkstemp's 0600: a group sharing the workspace still reads it
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.{os.getpid()}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
    except BaseException:
        discard(Path(tmp))
        raise
    return Path(tmp)


def discard(path: Path) -> None:
    """Remove a temporary file or folder of ours, if it is still there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass


def sweep(folder: Path) -> None:
    """Remove what writers that died (kill -9, power loss) left half written in ``folder``:
    temporary names whose process is gone."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        m = _TMP_NAME.match(entry.name)
        if m and int(m.group(1)) != os.getpid() and not pid_alive(int(m.group(1))):
            discard(entry)


def pid_alive(pid: int) -> bool:
    """Whether a process of this host is still running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def os_reason(e: OSError) -> str:
    """An OSError in words, without Python's ``[Errno 21]`` prefix."""
    return e.strerror or str(e)

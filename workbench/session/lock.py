"""One writer per workspace: a lock file that names its holder.

The runner's session takes the lock when it opens a workspace and drops it when it closes.
It is ``fcntl.flock`` on an open file, so the kernel drops it when the holder dies, however
it dies (kill -9 included): a lock file left behind by a dead process is free to take, and
the record in it (pid, host, command, start time) is only there to name a live holder to
whoever finds the workspace busy. The file is never deleted (deleting a flock file races
with the next opener), only emptied on release. A process forked from the holder (a
script's ``os.fork()``) closes its copy of the descriptor at once: the holder alone holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import socket
import sys
import time
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from workbench.model.diagnostics import Diagnostic, WorkbenchError
from workbench.compiler.files import pid_alive

LOCK_NAME = ".lock"


@dataclass
class Holder:
    pid: int
    host: str
    command: str
    since: float  # time.time() when it took the lock

    def describe(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.since))
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        ended = " (that process has ended; a process it forked still holds the lock)" \
            if not where and not pid_alive(self.pid) else ""
        return f"`{self.command}` (pid {self.pid}{where}, since {when}){ended}"


class WorkspaceBusy(WorkbenchError):
    """The workspace has a writer already; ``holder`` says who (None: it is just starting)."""

    kind = "busy"

    def __init__(self, root: Path, holder: Holder | None) -> None:
        self.root, self.holder = root, holder
        self.who = holder.describe() if holder else "another process (it is starting up)"
        super().__init__([Diagnostic(str(root), None, None, f"workspace is in use by {self.who}: it has one "
                                                            f"writer at a time")])


class WorkspaceLock:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self._fd: int | None = None
        _LOCKS.add(self)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, command: str | None = None) -> Holder:
        """Take the lock or raise :class:`WorkspaceBusy` naming the holder; what the system
        refuses is an OSError naming the file (the front end says what to do), and leaves the
        lock free."""
        if self._fd is not None:
            return self.holder()
        if self.path.is_dir() and not self.path.is_symlink():
            raise WorkbenchError.at(str(self.path), "is a folder where the workspace's lock file goes: remove it")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise OSError(e.errno, e.strerror, e.filename or str(self.path)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise WorkspaceBusy(self.root, holder) from None
        except BaseException:
            os.close(fd)
            raise
        me = Holder(os.getpid(), socket.gethostname(), command or _command(), time.time())
        try:
            os.ftruncate(fd, 0)  # whatever a dead holder left
            os.pwrite(fd, json.dumps(asdict(me)).encode(), 0)
        except BaseException as e:  # a disk full: closing drops the flock, or this process keeps it
            os.close(fd)
            if isinstance(e, OSError):
                raise OSError(e.errno, e.strerror, str(self.path)) from None
            raise
        self._fd = fd
        return me

    def holder(self) -> Holder | None:
        """Who holds the lock now, as its file says."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            return _read(fd)
        finally:
            os.close(fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor drops the flock


@contextlib.contextmanager
def writing(root: str | Path, elsewhere: str) -> Iterator[WorkspaceLock]:
    """Be the workspace's one writer for the block (``workbench compile`` and ``passes`` writing
    original/ or passes/ while the app may have it open); busy: one line naming the holder, then
    ``elsewhere``, what the user does instead."""
    lock = WorkspaceLock(root)
    try:
        lock.acquire()
    except WorkspaceBusy as busy:
        raise WorkbenchError.at(str(lock.root), f"workspace is in use by {busy.who}: {elsewhere}") from None
    try:
        yield lock
    finally:
        lock.release()


_LOCKS: weakref.WeakSet[WorkspaceLock] = weakref.WeakSet()


def _not_in_a_fork() -> None:
    """In a forked child: the inherited descriptor would keep the lock after its holder let
    it go (the next writer told the workspace is in use); closed here, the holder's stays."""
    for lock in list(_LOCKS):
        fd, lock._fd = lock._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


os.register_at_fork(after_in_child=_not_in_a_fork)


def _read(fd: int) -> Holder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
        return Holder(int(data["pid"]), str(data["host"]), str(data["command"]), float(data["since"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None  # empty (the holder is between flock and its write) or not ours


def _command() -> str:
    """What the user typed: the ``workbench`` command sets WORKBENCH_COMMAND, and its runner
    inherits it; anything else is named by its own command line."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    return os.environ.get("WORKBENCH_COMMAND") or shlex.join([Path(argv[0]).name, *argv[1:]] if argv else ["python"])

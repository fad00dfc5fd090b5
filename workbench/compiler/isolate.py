"""Run compiler code that may abort the process, and keep what it prints.

LLVM reports a malformed module with ``report_fatal_error``, which exits the process, and
MLIR prints its diagnostics on file descriptor 2 rather than raising them. So stages that
read user-written IR run in a forked child whose descriptors 1 and 2 go to a file: if the
child dies, the parent still has the message and the line.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import select
import signal
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator


@contextlib.contextmanager
def captured_output() -> Iterator[io.StringIO]:
    """Capture descriptors 1 and 2 (C++ writes there) and Python's stdout/stderr.

    The text is available in the yielded buffer once the block exits.
    """
    buf = io.StringIO()
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(tmp.fileno(), 1)
            os.dup2(tmp.fileno(), 2)
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                yield buf
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            tmp.seek(0)
            native = tmp.read().decode("utf-8", "replace")
            if native:
                buf.write(native)


@dataclass
class ChildDied(Exception):
    """The isolated call ended the process (LLVM fatal error, a crash)."""

    output: str
    status: str

    def __str__(self) -> str:
        return f"compiler process {self.status}: {self.output.strip()[-2000:]}"


@dataclass
class ChildRaised(Exception):
    """The isolated call raised; the exception could not always be sent back whole."""

    exc: BaseException | None
    formatted: str
    output: str


def run_isolated(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, str]:
    """``fn(*args, **kwargs)`` in a forked child: (its result, what it printed).

    Raises :class:`ChildDied` if the child ends without a result and
    :class:`ChildRaised` if ``fn`` raised.
    """
    if not hasattr(os, "fork"):  # pragma: no cover - not a platform Triton runs on
        with captured_output() as out:
            result = fn(*args, **kwargs)
        return result, out.getvalue()
    return Isolated(fn, *args, **kwargs).result()


class Isolated:
    """``fn(*args, **kwargs)`` started in a forked child, which runs while this process goes on
    (the child works on a copy-on-write snapshot of its memory); :meth:`result` collects it."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._read_fd, write_fd = os.pipe()   # (closed when the child ends: its end, written or not)
        self._out_file = tempfile.TemporaryFile(mode="w+b")
        self._result_file = tempfile.TemporaryFile(mode="w+b")   # a file, not the pipe: the child never
        sys.stdout.flush()                                        # waits for this process to read it
        sys.stderr.flush()
        with warnings.catch_warnings():   # (3.12 warns of fork in a threaded process: the child only
            warnings.simplefilter("ignore", DeprecationWarning)   # runs ``fn`` and never returns here)
            self.pid = os.fork()
        if self.pid == 0:
            self._child(write_fd, fn, args, kwargs)
        os.close(write_fd)
        self._done = False

    def _child(self, write_fd: int, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        code = 0
        try:
            import faulthandler
            faulthandler.disable()  # LLVM's fatal errors abort(); that is the expected way out here
            os.close(self._read_fd)
            os.dup2(self._out_file.fileno(), 1)
            os.dup2(self._out_file.fileno(), 2)
            sys.stdout = sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", buffering=0), write_through=True)
            try:
                payload = ("ok", fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
                formatted = traceback.format_exc()
                try:
                    pickle.dumps(exc)
                    payload = ("raised", (exc, formatted))
                except Exception:
                    payload = ("raised", (None, formatted))
            self._result_file.write(pickle.dumps(payload))
            self._result_file.flush()
            os.write(write_fd, b"1")   # all of it written
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            os._exit(code)

    def result(self, timeout: float | None = None) -> tuple[Any, str]:
        """(``fn``'s result, what the child printed); a child still running after ``timeout``
        seconds is killed (:class:`ChildDied`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        late, written = False, b""
        with os.fdopen(self._read_fd, "rb", buffering=0) as r:
            wait = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if select.select([r], [], [], wait)[0]:
                written = r.read(1)   # b"1": the result is whole; b"": the child ended without one
            else:
                late = True
                os.kill(self.pid, signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        self._done = True
        self._result_file.seek(0)
        data = self._result_file.read() if written else b""
        self._result_file.close()
        self._out_file.seek(0)
        output = self._out_file.read().decode("utf-8", "replace")
        self._out_file.close()
        if late or not data:
            if late:
                how = f"still running after {timeout:g} s: stopped"
            elif os.WIFSIGNALED(status):
                how = f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
            else:
                how = f"exited with status {os.WEXITSTATUS(status)}"
            raise ChildDied(output, how)
        kind, value = pickle.loads(data)
        if kind == "ok":
            return value, output
        exc, formatted = value
        raise ChildRaised(exc, formatted, output)

    def stop(self) -> None:
        """The child killed and reaped, if it was not collected (the work it did is not wanted)."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)
        with contextlib.suppress(OSError):
            os.close(self._read_fd)
        self._out_file.close()
        self._result_file.close()

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
import signal
import sys
import tempfile
import traceback
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
    read_fd, write_fd = os.pipe()
    out_file = tempfile.TemporaryFile(mode="w+b")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            import faulthandler
            faulthandler.disable()  # LLVM's fatal errors abort(); that is the expected way out here
            os.close(read_fd)
            os.dup2(out_file.fileno(), 1)
            os.dup2(out_file.fileno(), 2)
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
            data = pickle.dumps(payload)
            with os.fdopen(write_fd, "wb") as w:
                w.write(data)
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as r:
        data = r.read()
    _, status = os.waitpid(pid, 0)
    out_file.seek(0)
    output = out_file.read().decode("utf-8", "replace")
    out_file.close()
    if not data:
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            how = f"killed by {signal.Signals(sig).name}"
        else:
            how = f"exited with status {os.WEXITSTATUS(status)}"
        raise ChildDied(output, how)
    kind, value = pickle.loads(data)
    if kind == "ok":
        return value, output
    exc, formatted = value
    raise ChildRaised(exc, formatted, output)

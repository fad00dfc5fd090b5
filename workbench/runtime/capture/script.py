"""Run a user's unmodified script as ``__main__`` under a capture: within a time limit, with
``os._exit`` stopping the script rather than the process it runs in, and whatever it raised said
as one Diagnostic at the script's line."""

from __future__ import annotations

import contextlib
import os
import runpy
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Iterator

from workbench.compiler import compat, compat_interpreter
from workbench.model.diagnostics import Diagnostic, LevelNeedsGPU
from workbench.runtime.capture.hooks import recording
from workbench.runtime.capture.model import Capture


DEFAULT_SNAPSHOT_LIMIT = 1 << 30  # bytes of input/output copies kept per capture


class ScriptTimeout(BaseException):
    """Raised in the script at its time limit: not an Exception, so the script's own
    ``except Exception`` does not swallow it."""


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`ScriptTimeout` in the block after ``seconds`` (and each second after, should
    the script catch it). A signal, so it needs the main thread; elsewhere there is no limit here
    (the runner's client still has its own)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise ScriptTimeout

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _OsExit(SystemExit):
    """``os._exit`` called by the script (in this process): it stops the script, not the process
    the script runs in (the CLI's, or the runner's)."""


@contextlib.contextmanager
def _os_exit_stops_the_script() -> Iterator[None]:
    real, me = os._exit, os.getpid()

    def _exit(code: int) -> None:
        if os.getpid() != me:   # a child the script forked ends as it asked
            real(code)
        raise _OsExit(code)
    os._exit = _exit
    try:
        yield
    finally:
        os._exit = real


def run_script(script: str | Path, argv: list[str] | None = None, target: str | None = None,
               mode: str = "auto", snapshot_limit: int = 0, time_limit: float | None = None,
               limit_name: str = "--script-timeout") -> Capture:
    """Run ``script`` as ``__main__`` and return what it launched.

    ``mode``: ``auto`` (launch on the GPU if there is one, else compile only), ``gpu``,
    ``compile-only`` or ``interpret`` (no GPU: Triton's interpreter runs each launch).
    ``time_limit``: seconds the script may run before it is stopped (an error at the line it was
    on; ``limit_name`` says how the user sets the limit); its launches so far are kept.
    """
    script = Path(script).resolve()
    gpu_target = compat.current_gpu_target() if mode in ("auto", "gpu") else None
    if mode == "auto":
        mode = "gpu" if gpu_target is not None else "compile-only"
    if mode == "gpu" and gpu_target is None:
        raise RuntimeError("no GPU: use mode 'compile-only' or 'interpret'")
    if target is None:
        target = compat.target_str(gpu_target) if gpu_target is not None else "cuda:90"
    elif mode == "gpu" and compat.parse_target(target).arch != gpu_target.arch:
        mode = "gpu"  # launches run on the card; the compile for `target` happens afterwards
    capture = Capture(script=str(script), mode=mode,
                      target=compat.target_str(compat.parse_target(target if mode != "gpu" else gpu_target)))
    compile_only = mode in ("compile-only", "interpret")
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(script), *(argv or [])]
    sys.path.insert(0, str(script.parent))
    try:
        with recording(capture, compile_only=compile_only, interpret=mode == "interpret",
                       snapshot_limit=snapshot_limit) as rec, contextlib.redirect_stdout(sys.stderr):
            try:
                with _time_limit(time_limit), _os_exit_stops_the_script():
                    runpy.run_path(str(script), run_name="__main__")
            except ScriptTimeout as e:
                when = "after its launches" if capture.launches else "before launching its kernels"
                capture.error = Diagnostic(*_where(e, script), f"the script ran past the {time_limit:g} s limit "
                                           f"{when} ({limit_name}): stopped",
                                           "warning" if capture.launches else "error")
            except _OsExit as e:
                when = "after its launches" if capture.launches else "before launching any kernel"
                capture.error = Diagnostic(*_where(e, script), f"the script called os._exit({e.code}) {when}: "
                                           "stopped there", "warning" if e.code == 0 else "error")
            except SystemExit as e:
                if e.code not in (None, 0):
                    said = f"status {e.code}" if isinstance(e.code, int) else f"status 1: {e.code}"
                    capture.error = Diagnostic(*_where(e, script), f"the script exited with {said}")
            except BaseException as e:  # noqa: BLE001 - the user's script, reported as a value
                if isinstance(e, KeyboardInterrupt):
                    raise
                capture.error = _script_error(e, script, bool(capture.launches), mode)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    if mode == "interpret" and capture.specs and (problem := compat_interpreter.interpreter_problem()):
        capture.notes.append(problem)
    if mode == "compile-only" and capture.specs:
        capture.notes.append("no GPU: kernels were compiled, not launched; outputs the script computed "
                             "after its launches are not real")
        if capture.error is not None:
            capture.notes.append("the script stopped early, so later launches may be missing: --interpret runs "
                                 "the kernels in Triton's interpreter and lets the script's own checks pass")
    for kernel, size in rec.skipped_snapshots.items():
        capture.notes.append(f"inputs of {kernel} were not kept: {size / 2**20:.0f} MiB over the snapshot limit "
                             f"({snapshot_limit / 2**20:.0f} MiB)")
    for kernel, count in rec.skipped_later.items():
        capture.notes.append(f"{count} later launch{'es' if count > 1 else ''} of {kernel} not kept (the snapshot "
                             f"limit, {snapshot_limit / 2**20:.0f} MiB): the launches kept are the ones verified")
    if any(s.autotune and not s.autotune.get("timed") for s in capture.specs):
        capture.notes.append("no GPU: autotune configs were not timed; the first config is marked chosen")
    return capture


def _where(e: BaseException, script: Path) -> tuple[str, int | None, int | None]:
    """(file, line, column) to report ``e`` at: a syntax error's own place; else the script's
    innermost frame; else the innermost frame in a real file (never ``<frozen runpy>``)."""
    if isinstance(e, SyntaxError) and e.filename and not e.filename.startswith("<") and e.lineno:
        return e.filename, e.lineno, e.offset
    frames = traceback.extract_tb(e.__traceback__)
    mine = [f for f in frames if Path(f.filename).resolve() == script] or \
        [f for f in frames if not f.filename.startswith("<")][-1:]
    return (mine[-1].filename, mine[-1].lineno, None) if mine else (str(script), None, None)


def _script_error(e: BaseException, script: Path, after_launches: bool, mode: str) -> Diagnostic:
    if isinstance(e, LevelNeedsGPU):   # (says what it did: compiled, and needs a GPU to run)
        return Diagnostic(*_where(e, script), str(e))
    when = "after its launches" if after_launches else "before launching any kernel"
    text = e.msg if isinstance(e, SyntaxError) and e.msg else str(e).strip()
    msg = f"the script raised {type(e).__name__} {when}: {text.splitlines()[0] if text else ''}"
    if isinstance(e, ModuleNotFoundError) and (lacks := compat.missing_feature(e.name)):
        msg += f" ({lacks})"
    # Compile-only runs launch nothing, so a check the script makes afterwards is expected to fail.
    severity = "warning" if after_launches and mode == "compile-only" else "error"
    return Diagnostic(*_where(e, script), msg.strip(), severity)

"""Start the runner, send it requests, and bring it back when it dies.

A request waits for its answer under two limits: the request's own (compiles, running the
script) and the limit of what the runner is doing now: while a kernel is on the GPU (between
the runner's ``launch``/``bench`` progress events and the answer) the kernel limit, while
the script runs (an ``open`` with ``script_timeout``) the script's limit plus a grace, since
the runner stops a script at its limit by itself and the client is the backstop for code
that cannot be interrupted. Past a limit the runner's process group is killed and a fresh
runner started, which re-opens the script it had open, and the caller gets
:class:`RunnerCrashed` with the reason in words.

The runner dies with its front end (see ``server``); runners are forked from one long-lived
thread, since its parent-death signal follows the thread that forked it.

Imports nothing heavy: the TUI process uses this.
"""

from __future__ import annotations

import collections
import itertools
import math
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .protocol import RunnerCrashed, RunnerError, decode, encode, level_name, version_name

Event = Callable[[dict], None]

DEFAULT_KERNEL_TIMEOUT = 20.0
DEFAULT_REQUEST_TIMEOUT = 900.0
INTERRUPT_GRACE = 1.0  # seconds an interrupted runner has to answer before it is called stuck
SCRIPT_GRACE = 3.0  # past the script's limit, for the runner to stop it and say where (its dump comes at +1 s)
_DUMPED_FRAME = re.compile(r'\s*File "(?P<file>.*)", line (?P<line>\d+)')


@dataclass
class _Pending:
    id: int
    method: str
    on_event: Event | None
    deadline: float
    on_answer: Callable[["_Pending"], None] | None = None  # called once, by whoever hands the answer on
    done: threading.Event = field(default_factory=threading.Event)
    response: dict | None = None
    params: dict = field(default_factory=dict)
    limit: str | None = None  # "kernel" or "script": what the runner is doing under its own limit
    limit_at: float = 0.0
    started: float = field(default_factory=time.monotonic)
    activity: dict = field(default_factory=dict)
    proc: Any = None  # the runner it was sent to
    received: float = 0.0  # when its answer's line came (perf_counter): for the app's timeline

    def due(self) -> tuple[str, float]:
        """The limit it is under now and when it runs out: the kernel's or the script's while the
        runner is under one (unless the request's own ends first), else the request's."""
        if self.limit is not None and self.limit_at < self.deadline:
            return self.limit, self.limit_at
        return "request", self.deadline


class _Spawner:
    """Forks runners from one thread that lives as long as the process. A runner's parent-death
    signal fires when the *thread* that forked it ends, and the app starts (and the client
    restarts) runners from worker threads that end soon after."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def popen(self, *args, **kwargs) -> subprocess.Popen:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, daemon=True, name="runner-spawner")
                self._thread.start()
        box: dict = {}
        done = threading.Event()
        self._jobs.put((args, kwargs, box, done))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["proc"]

    def _serve(self) -> None:
        while True:
            args, kwargs, box, done = self._jobs.get()
            try:
                box["proc"] = subprocess.Popen(*args, **kwargs)
            except BaseException as e:  # noqa: BLE001 - raised in the caller's thread
                box["error"] = e
            finally:
                done.set()


_SPAWNER = _Spawner()


class RunnerClient:
    def __init__(self, command: list[str] | None = None, env: dict[str, str] | None = None,
                 kernel_timeout: float = DEFAULT_KERNEL_TIMEOUT, on_log: Callable[[str], None] | None = None,
                 on_restart: Callable[[str], None] | None = None, restart: bool = True) -> None:
        """``restart``: a runner that dies is started again (the app's); False for a front end
        that ends with the request it was waiting on (a CLI command)."""
        self.command = command or [sys.executable, "-m", "workbench.runner"]
        self.restart = restart
        self.env = env
        self.kernel_timeout = kernel_timeout
        self.on_log = on_log
        self.on_restart = on_restart
        self.log: collections.deque[str] = collections.deque(maxlen=2000)
        self._logged = 0   # lines logged ever (the log keeps the last 2000)
        self.restarts: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._limits = threading.Condition(self._lock)   # a request sent or a limit changed: looked at again
        self._limits_thread: threading.Thread | None = None
        self._pending: dict[int, _Pending] = {}
        self._proc: subprocess.Popen | None = None
        self._open_params: dict | None = None
        self._ready = threading.Event()
        self._restart_lock = threading.Lock()
        self._closing = False
        self._dying: subprocess.Popen | None = None  # answered with a fatal error: exits next
        self._killed_reason: str | None = None
        self._killed_diagnostics: list[dict] = []

    # -- process ---------------------------------------------------------------------------

    def start(self) -> "RunnerClient":
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._ready.clear()
        self._killed_reason, self._killed_diagnostics = None, []
        # a large read buffer: an answer (tens of KB) is read in one system call, not one per
        # 8 KB, each of which gives up the GIL and waits up to a switch interval (5 ms) to get it
        # back while the app's loop draws; measured: 27 KB lines 11 ms -> 5 ms beside a busy thread
        self._proc = _SPAWNER.popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env, start_new_session=True, bufsize=1 << 20)
        proc = self._proc
        threading.Thread(target=self._read_stdout, args=(proc,), daemon=True, name="runner-stdout").start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, args=(proc,), daemon=True,
                                               name="runner-stderr")
        self._stderr_reader.start()
        threading.Thread(target=self._watch, args=(proc,), daemon=True, name="runner-watch").start()
        return self

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self, timeout: float = 5.0) -> None:
        """Shut the runner down; a busy one (a request unanswered: the caller was interrupted)
        reads no shutdown, so it is killed at once."""
        self._closing = True
        with self._lock:
            self._limits.notify()   # (its thread ends)
        proc = self._proc
        if proc is None:
            return
        with self._lock:
            busy = any(p.proc is proc for p in self._pending.values())
        if busy:
            self._kill(proc)
            self._fail_pending("the runner was closed", proc, [])   # (its watcher says nothing once closing)
        elif proc.poll() is None:
            try:
                self._write({"id": next(self._ids), "method": "shutdown", "params": {}})
                proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self._kill(proc)
        self._proc = None
        self._stderr_reader.join(timeout)   # its last lines are passed on before the caller says more

    def __enter__(self) -> "RunnerClient":
        return self.start() if self._proc is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    def _kill(self, proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process stuck in the driver
            pass

    # -- requests --------------------------------------------------------------------------

    def call(self, method: str, timeout: float = DEFAULT_REQUEST_TIMEOUT, on_event: Event | None = None,
             **params) -> Any:
        """Send one request and wait for its answer (raises RunnerError / RunnerCrashed)."""
        return self.result_of(self.submit(method, timeout, on_event, **params))

    def submit(self, method: str, timeout: float = DEFAULT_REQUEST_TIMEOUT, on_event: Event | None = None,
               on_answer: Callable[[_Pending], None] | None = None, **params) -> _Pending:
        """Send one request, starting the runner first, or waiting for the one that replaces a dying
        one (this may take seconds: not for an event loop, see :meth:`send_now`)."""
        self._closing = False
        proc = self._proc
        if proc is not None and proc is self._dying:
            self._wait_for_restart(proc)
            proc = self._proc
        if proc is None:
            self.start()
        elif proc.poll() is not None:
            self._restart_now("the runner was not running", dead=proc)
        with self._restart_lock:  # a restart in progress queues its re-open first
            return self._send(method, params, self._opening(method, params, timeout), on_event, on_answer)

    def send_now(self, method: str, timeout: float = DEFAULT_REQUEST_TIMEOUT, on_event: Event | None = None,
                 on_answer: Callable[[_Pending], None] | None = None, **params) -> _Pending | None:
        """Send a request without waiting for anything, or None where sending would wait (no
        runner yet, a dead or dying one, a restart under way): the caller then uses :meth:`submit`.
        For an event loop: ``on_answer`` is called once with the answer, from the reader thread as
        soon as it is read (or from the thread that saw the runner die or closed it), and nothing
        waits on a thread (a thread's start or wake each waits for the loop to hand over the GIL)."""
        proc = self._proc
        if proc is None or proc is self._dying or proc.poll() is not None:
            return None
        with self._lock:   # (a few small lines in the pipe never fill it: the write cannot block)
            if len(self._pending) >= 16:
                return None
        if not self._restart_lock.acquire(blocking=False):
            return None
        try:
            self._closing = False
            return self._send(method, params, self._opening(method, params, timeout), on_event, on_answer)
        finally:
            self._restart_lock.release()

    def result_of(self, pending: _Pending) -> Any:
        """The answer to a sent request, waited for (raises RunnerError / RunnerCrashed); the
        client's limits thread stops a runner that runs past the request's limits meanwhile."""
        pending.done.wait()
        return self.answer_of(pending)

    def _opening(self, method: str, params: dict, timeout: float) -> float:
        """An ``open``'s limit has the script's in it; a script that does not open is not re-opened
        by a restart (one that does is: :meth:`_finish`)."""
        if method != "open":
            return timeout
        self._open_params = None
        return timeout + (params.get("script_timeout") or 0)

    def pending_count(self) -> int:
        """Requests sent and not answered yet."""
        with self._lock:
            return len(self._pending)

    def interrupt(self, grace: float = INTERRUPT_GRACE) -> str | None:
        """Stop the request under way as Ctrl-C would (the runner answers it: interrupted). A
        runner that has not answered after ``grace`` is in code that cannot be interrupted: where
        (``FILE:LINE``, the script's innermost frame), from the stack it dumps on SIGUSR1."""
        proc = self._proc
        with self._lock:
            pending = [p for p in self._pending.values() if p.proc is proc]
        if proc is None or proc.poll() is not None or not pending:
            return None
        os.kill(proc.pid, signal.SIGINT)
        if pending[0].done.wait(grace):
            return None
        seen = self._logged
        os.kill(proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not any(_DUMPED_FRAME.match(t) for t in self._logged_since(seen)):
            time.sleep(0.02)
        time.sleep(0.05)   # the rest of the dump
        frames = [m for text in self._logged_since(seen) if (m := _DUMPED_FRAME.match(text))]
        script = str(pending[0].params.get("script") or "")
        mine = [m for m in frames if script and os.path.realpath(m["file"]) == os.path.realpath(script)]
        return next((f"{m['file']}:{m['line']}" for m in mine + frames), script or "the script")

    def _logged_since(self, seen: int) -> list[str]:
        """The log's lines after the first ``seen`` ever logged."""
        lines = list(self.log)
        return lines[max(len(lines) - (self._logged - seen), 0):]

    def _wait_for_restart(self, proc: subprocess.Popen) -> None:
        """A runner that lost its CUDA context is exiting: wait for its successor."""
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            self._kill(proc)
        deadline = time.monotonic() + 30
        while self._proc is proc and time.monotonic() < deadline:
            time.sleep(0.01)

    def _send(self, method: str, params: dict, timeout: float, on_event: Event | None,
              on_answer: Callable[[_Pending], None] | None = None) -> _Pending:
        pending = _Pending(next(self._ids), method, on_event, time.monotonic() + timeout, on_answer, params=params,
                           proc=self._proc)
        with self._lock:
            self._pending[pending.id] = pending
            if self._limits_thread is None or not self._limits_thread.is_alive():
                self._limits_thread = threading.Thread(target=self._watch_limits, daemon=True, name="runner-limits")
                self._limits_thread.start()
            self._limits.notify()
        try:
            self._write({"id": pending.id, "method": method, "params": params})
        except OSError:
            pass  # the watcher reports the death
        return pending

    def _write(self, message: dict) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(encode(message))
        self._proc.stdin.flush()

    def _watch_limits(self) -> None:
        """One thread per client (not per request): asleep until the first limit of a request in
        flight runs out (a request sent, or a limit set by its progress, wakes it), then the runner
        is stopped (:meth:`_hung`); it ends when the client is closed."""
        with self._lock:
            while not self._closing:
                now = time.monotonic()
                due = [(p.due(), p) for p in self._pending.values()]
                over = next(((limit, p) for (limit, at), p in due if at <= now), None)
                if over is None:
                    first = min((at for (_, at), _ in due), default=math.inf)
                    self._limits.wait(first - now if first < math.inf else None)   # (none: a CLI command waits as long as its work)
                    continue
                self._lock.release()
                try:
                    self._hung(over[1], over[0])
                finally:
                    self._lock.acquire()

    @staticmethod
    def answer_of(pending: _Pending) -> Any:
        """An answered request's result (raises RunnerError / RunnerCrashed)."""
        response = pending.response or {}
        if "error" in response:
            err = response["error"]
            if err.get("crash") or err.get("fatal"):
                raise RunnerCrashed(err["message"], err.get("diagnostics"))
            raise RunnerError(err.get("message", "error"), err.get("diagnostics"), kind=err.get("kind", "error"),
                              traceback=err.get("traceback", ""))
        return response.get("result")

    def _hung(self, pending: _Pending, limit: str) -> None:
        """Past a limit (``kernel``, ``script``, ``request``): kill the runner, say why."""
        if limit == "script":
            reason, diagnostics = self._script_overran(pending)
        else:
            a = pending.activity
            what = a.get("kernel") or pending.method
            if a.get("version"):
                what += f", {version_name(a['version'])}"
            if a.get("level"):
                what += f" (from {level_name(a['level'])})"
            seconds = (pending.deadline - pending.started) if limit == "request" else self.kernel_timeout
            reason, diagnostics = f"{what} ran past the {seconds:.0f} s limit: {self._stopped()}", []
        proc = self._proc
        self._killed_reason, self._killed_diagnostics = reason, diagnostics
        if proc is not None:
            self._kill(proc)
        pending.done.wait(5)

    def _stopped(self) -> str:
        return "the runner was stopped and restarted" if self.restart else "stopped"

    def _script_overran(self, pending: _Pending) -> tuple[str, list[dict]]:
        """The script did not stop at its limit (C code holding the GIL): the reason, at the
        line the runner's faulthandler dump (on its stderr, in the log) found it on."""
        script = str(pending.params.get("script", ""))
        reason = (f"the script ran past the {pending.params['script_timeout']:g} s limit "
                  f"({pending.params.get('limit_name') or '--script-timeout'}) in code that cannot be "
                  f"interrupted: {self._stopped()}")
        lines = list(self.log)
        dumped = max((i for i, text in enumerate(lines) if text.startswith("Timeout (")), default=None)
        line = None
        for text in lines[dumped:] if dumped is not None else []:  # the innermost frame first
            m = _DUMPED_FRAME.match(text)
            if m and os.path.realpath(m["file"]) == os.path.realpath(script):
                line = int(m["line"])
                break
        return reason, [{"file": script, "line": line, "col": None, "message": reason, "severity": "error"}]

    # -- reader threads --------------------------------------------------------------------

    def _read_stdout(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            received = time.perf_counter()
            try:
                msg = decode(line)
            except ValueError:
                self._log(line.decode(errors="replace").rstrip())
                continue
            if msg.get("event") == "ready":
                self._ready.set()
                continue
            with self._lock:
                pending = self._pending.get(msg.get("id"))
            if pending is None:
                continue
            if "event" in msg:
                what = msg.get("what")
                info = msg.get("info", {})
                with self._lock:
                    if what in ("launch", "bench"):
                        pending.limit, pending.limit_at = "kernel", time.monotonic() + self.kernel_timeout
                        pending.activity = dict(pending.activity, **info)
                    elif what == "script" and pending.params.get("script_timeout"):
                        pending.limit = "script"
                        pending.limit_at = time.monotonic() + pending.params["script_timeout"] + SCRIPT_GRACE
                    elif what == "compile":
                        pending.limit = None
                        pending.activity = dict(pending.activity, **info)
                    self._limits.notify()
                if pending.on_event is not None:
                    try:
                        pending.on_event(msg)
                    except Exception:  # noqa: BLE001 - a callback's bug must not kill the reader
                        pass
                continue
            if msg.get("error", {}).get("fatal"):
                self._killed_reason = msg["error"]["message"]  # the runner exits next: this is why
                self._dying = proc
            self._finish(pending, msg, received)

    def _finish(self, pending: _Pending, response: dict, received: float = 0.0) -> None:
        """A request's answer (or its failure), handed on once: to ``on_answer`` and to a waiting
        thread; a second one (an answer read as its runner is declared dead) is nobody's."""
        with self._lock:
            if self._pending.pop(pending.id, None) is None:
                return
        pending.response, pending.received = response, received
        if pending.method == "open" and "result" in response:
            self._open_params = dict(pending.params)   # what a restart opens again
        if pending.on_answer is not None:
            try:
                pending.on_answer(pending)
            except Exception:  # noqa: BLE001 - a callback's bug must not kill the reader
                pass
        pending.done.set()

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._log(line.decode(errors="replace").rstrip("\n"))

    def _log(self, text: str) -> None:
        self.log.append(text)
        self._logged += 1
        if self.on_log is not None:
            try:
                self.on_log(text)
            except Exception:  # noqa: BLE001
                pass

    def _watch(self, proc: subprocess.Popen) -> None:
        code = proc.wait()
        if self._closing or proc is not self._proc:
            return
        reason = self._killed_reason or self._death_reason(code)
        self._fail_pending(reason, proc, self._killed_diagnostics if self._killed_reason else [])
        if self.restart:
            self._restart_now(reason, dead=proc)

    def _death_reason(self, code: int) -> str:
        again = " and was restarted" if self.restart else ""
        if code == 3:
            return f"the runner lost its CUDA context{again}"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the runner was killed by {name}{again}"
        tail = " | ".join(list(self.log)[-3:])
        return f"the runner exited with status {code}{again}" + (f" (last output: {tail})" if tail else "")

    def _fail_pending(self, reason: str, proc: subprocess.Popen, diagnostics: list[dict]) -> None:
        with self._lock:
            pending = [p for p in self._pending.values() if p.proc is proc]
        for p in pending:
            self._finish(p, {"id": p.id, "error": {"message": reason, "diagnostics": diagnostics, "crash": True,
                                                   "fatal": True}})

    def _restart_now(self, reason: str, dead: subprocess.Popen | None = None) -> None:
        """A fresh runner; the script that was open is opened again (queued before anything else)."""
        with self._restart_lock:
            if dead is not None and dead is not self._proc:
                return  # another thread restarted it already
            self._restart(reason)

    def _restart(self, reason: str) -> None:
        self.restarts.append(reason)
        self._log(f"[workbench] {reason}")
        if self.on_restart is not None:
            try:
                self.on_restart(reason)
            except Exception:  # noqa: BLE001
                pass
        self.start()
        if self._open_params is not None:
            self._send("open", dict(self._open_params), DEFAULT_REQUEST_TIMEOUT, None)

"""``python -m workbench.runner``: serve requests on stdin, answer on stdout.

The process owns torch, triton and the CUDA context. Anything the user's script or a
kernel prints goes to stderr (file descriptor 1 is pointed there), so the protocol's
channel carries protocol only. A CUDA fault poisons the context: the runner answers with
the reason and exits, and the client starts a fresh one.

The runner lives and dies with its front end, whatever it is doing: the kernel kills it when
its parent dies (Linux's parent-death signal: even while the script holds the GIL in C code),
and a thread exits it when its stdin hangs up or its parent changes (elsewhere, and for a
parent that died before the signal was set).
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import os
import re
import select
import signal
import sys
import threading
import traceback
from typing import Any, Callable

from .protocol import PROTOCOL_VERSION, decode, encode, level_name, version_name

CUDA_FAULT = re.compile(r"(CUDA error|Triton Error \[CUDA\]|CUDA_ERROR_\w+|cudaError\w*|an illegal memory access|"
                        r"illegal instruction|unspecified launch failure|misaligned address)", re.I)
EXIT_FAULT = 3
EXIT_ORPHANED = 4
PR_SET_PDEATHSIG = 1
# what the app's user does when the system refuses a workspace file (`workbench run` says --workspace)
ELSEWHERE = "copy the script into a folder you can write"
DUMP_AFTER_LIMIT = 1.0  # the script's stack goes to stderr this long past its limit, for the client's backstop


class Server:
    def __init__(self, send: Callable[[dict], None]) -> None:
        self.send = send
        self.session = None
        self.activity: dict[str, Any] = {}
        self.request_id: int | None = None
        self.script_timeout: float | None = None
        self.elsewhere = ELSEWHERE

    # -- dispatch --------------------------------------------------------------------------

    def handle(self, request: dict[str, Any]) -> bool:
        """Answer one request; False when the runner must stop."""
        from workbench.model.diagnostics import WorkbenchError, os_error
        self.request_id = rid = request.get("id")
        method = request.get("method", "")
        handler = getattr(self, f"do_{method}", None)
        self.activity = {}
        if handler is None:
            self.send({"id": rid, "error": {"message": f"unknown method {method!r}", "diagnostics": []}})
            return True
        params = dict(request.get("params", {}))
        # what the user does when the system refuses a file: said by each front end (its flags)
        self.elsewhere = params.pop("elsewhere", self.elsewhere)
        try:
            result = handler(**params)
        except WorkbenchError as e:
            self.send({"id": rid, "error": e.to_json() | {"kind": getattr(e, "kind", "error")}})
            return True
        except OSError as e:  # a file the system refused (read-only, full): its path, what to do
            self.send({"id": rid, "error": os_error(e, elsewhere=self.elsewhere).to_json() | {"kind": "error"}})
            return True
        except SystemExit:
            raise
        except KeyboardInterrupt:   # a Ctrl-C that reached the runner's process group mid-call
            params = request.get("params", {})
            doing = {"open": "opening the script", "run": "running the kernel", "apply": "compiling and running a "
                     "version"}.get(method, f"answering {method!r}")
            where = str(params.get("script") or params.get("path") or "workbench")
            self.send({"id": rid, "error": WorkbenchError.at(where, f"interrupted (Ctrl-C, SIGINT) while {doing}: "
                                                                    "nothing of this call was kept; run it again")
                       .to_json() | {"kind": "error"}})
            return True
        except BaseException as e:  # noqa: BLE001 - reported to the client, the runner stays up if it can
            text = f"{type(e).__name__}: {e}"
            fatal = bool(CUDA_FAULT.search(text))
            self.send({"id": rid, "error": {"message": self.reason(e) if fatal else text, "diagnostics": [],
                                            "fatal": fatal, "traceback": traceback.format_exc()}})
            return not fatal
        self.send({"id": rid, "result": result})
        return method != "shutdown"

    def progress(self, what: str, info: dict) -> None:
        if what in ("launch", "bench", "compile"):
            self.activity = dict(self.activity, **info, phase=what)
        if what == "script" and self.script_timeout:
            # a script stuck where the runner cannot stop it: its stack, for the client's message
            faulthandler.dump_traceback_later(self.script_timeout + DUMP_AFTER_LIMIT)
        elif what == "compile":
            faulthandler.cancel_dump_traceback_later()
        self.send({"id": self.request_id, "event": "progress", "what": what, "info": info})

    def reason(self, e: BaseException) -> str:
        """A CUDA fault in words: what happened, in which kernel, version and level."""
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        m = re.search(r"(an? [a-z ]+?(?:was encountered|failure|address|instruction))", text, re.I)
        what = m.group(1) if m else text
        what = re.sub(r"^an? ", "", what).replace(" was encountered", "")
        a = self.activity
        where = []
        if a.get("kernel"):
            where.append(f"in {a['kernel']}")
        if a.get("version"):
            where.append(version_name(a["version"]))
        if a.get("level"):
            where.append(f"started from {level_name(a['level'])}")
        return f"{what} {', '.join(where)}".strip() + " (the CUDA context is lost: the runner restarts)"

    # -- methods ---------------------------------------------------------------------------

    def do_hello(self) -> dict[str, Any]:
        from workbench.compiler import compat
        gpu = compat.current_gpu_target()
        info = {"protocol": PROTOCOL_VERSION, "pid": os.getpid(), "python": sys.version.split()[0],
                "triton": compat.triton.__version__, "gpu": None, "target": None}
        if gpu is not None:
            import torch
            info.update(gpu=torch.cuda.get_device_name(), target=compat.target_str(gpu), torch=torch.__version__)
        return info

    def do_open(self, script: str, argv: list[str] | None = None, target: str | None = None, mode: str = "auto",
                workspace: str | None = None, snapshot_limit: int | None = None, with_sass: bool = True,
                if_busy: str = "error", script_timeout: float | None = None,
                limit_name: str = "--script-timeout") -> dict:
        """Open a script; the session opened before gives its workspace up first. ``if_busy``:
        when another process writes the workspace, "error" (kind "busy", naming it) or
        "scratch" (work in a private temporary workspace). ``script_timeout``: seconds the
        script may run (``limit_name`` says how the user sets it)."""
        from workbench.runtime.capture.script import DEFAULT_SNAPSHOT_LIMIT
        from workbench.session.session import Session
        self.close_session()
        self.session = Session(script, argv, target, mode, workspace,
                               DEFAULT_SNAPSHOT_LIMIT if snapshot_limit is None else snapshot_limit,
                               with_sass, self.progress, if_busy, script_timeout=script_timeout,
                               limit_name=limit_name)
        with self.script_limit(script_timeout):
            return self.session.open()

    @contextlib.contextmanager
    def script_limit(self, seconds: float | None):
        """While a request runs the user's script: its ``script`` event arms a dump of the
        script's stack past ``seconds`` (for the client's backstop)."""
        self.script_timeout = seconds
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
            self.script_timeout = None

    def close_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()

    def _session(self):
        from workbench.model.diagnostics import WorkbenchError
        if self.session is None:
            raise WorkbenchError.at("<runner>", "no script is open")
        return self.session

    def do_run(self, kernel: str, version: str = "original", bench: dict | None = None, flops: str | None = None,
               atol: float | None = None, rtol: float | None = None, verdict_first: bool = False) -> dict:
        """``verdict_first`` (the app's `R`): with ``bench``, the verdict goes out as a progress event
        before the timing, as a save's does (``Session.run``)."""
        from workbench.runtime.bench import BenchOptions
        opts = BenchOptions(**bench) if bench is not None else None
        return self._session().run(kernel, str(version), opts, flops, atol, rtol, verdict_first=verdict_first).to_json()

    def do_apply(self, kernel: str, path: str, level: str | None = None, bench: dict | None = None,
                 flops: str | None = None, atol: float | None = None, rtol: float | None = None,
                 update_edit: bool = True, verdict_first: bool = False) -> dict:
        """``verdict_first`` (the app's save): the verdict goes out as a progress event before the
        SASS, the source map and any timing (``Session.apply``)."""
        from workbench.runtime.bench import BenchOptions
        opts = BenchOptions(**bench) if bench is not None else None
        return self._session().apply(kernel, path, level, update_edit, bench_options=opts, flops=flops, atol=atol,
                                     rtol=rtol, verdict_first=verdict_first)

    def do_try_config(self, kernel: str, config: str | dict, bench: dict | None = None, flops: str | None = None,
                      atol: float | None = None, rtol: float | None = None, grid: str | None = None,
                      grid_from: str = "--grid") -> dict:
        from workbench.runtime.bench import BenchOptions
        opts = BenchOptions(**bench) if bench is not None else None
        return self._session().try_config(kernel, config, opts, flops, atol, rtol, grid, grid_from=grid_from)

    def do_prefetch_configs(self, kernel: str, configs: list[dict], grid: str | None = None) -> dict:
        """A sweep's compiles started in worker processes; ``try_config`` then finds them done."""
        return self._session().prefetch_configs(kernel, configs, grid)

    def do_configs_of(self, text: str) -> dict:
        """The configs a text typed in the app names (one, or a sweep's product), and its grid."""
        from workbench.runtime.configs import parse_typed, split_grid
        text, grid = split_grid(text)
        configs, sweep = parse_typed(text)
        return {"configs": configs, "sweep": sweep, "grid": grid}

    def do_compile(self, kernel: str, path: str, level: str | None = None, update_edit: bool = True) -> dict:
        info, version = self._session().compile(kernel, path, level, update_edit)
        return {"version": info.to_json(), "result": version.result.summary()}

    def do_versions(self, kernel: str) -> list[dict]:
        s = self._session()
        return [v.to_json() for v in s.workspace.versions(s.state(kernel).spec.folder_name)]

    def do_restore(self, kernel: str, version: str, seen: dict[str, str] | None = None) -> list[str]:
        """``seen``: edit/'s files as the client saw them when asking (Workspace.restore): a file
        saved since, while this request waited, is kept."""
        s = self._session()
        return [str(p) for p in s.workspace.restore(s.state(kernel).spec.folder_name, version, seen)]

    def do_dump(self, **params) -> dict:
        from workbench.instrument import dump
        return dump.serve(self._session(), progress=self.progress, **params)

    def do_watch_add(self, kernel: str, level: str, value: str, pid: Any = (0, 0, 0), iterations: int = 16,
                     version: str | None = None) -> dict:
        from workbench.instrument import watch
        return watch.add(self._session(), kernel, level, value, pid, iterations, version)

    def do_watch_remove(self, kernel: str, id: str) -> list[dict]:  # noqa: A002 - the watch's id
        from workbench.instrument import watch
        return watch.remove(self._session(), kernel, id)

    def do_watch_list(self, kernel: str) -> list[dict]:
        from workbench.instrument import watch
        session = self._session()
        return watch.load(session, session.state(kernel))

    def do_watch_values(self, kernel: str, version: str = "original") -> list[dict]:
        """The watch list dumped for a version (and the original): what ``apply`` adds on a save."""
        from workbench.instrument import watch
        session = self._session()
        state = session.state(kernel)
        v = session.version(state, str(version))
        return watch.values(session, state, v)

    def do_passes(self, kernel: str, version: str | None = None) -> dict:
        return self._session().passes(kernel, None if version is None else str(version))

    def do_diverge(self, kernel: str, version: str) -> dict:
        from workbench.instrument import diverge
        return diverge.serve(self._session(), kernel, str(version), progress=self.progress)

    def do_export(self, kernel: str, version: str, out: str | None = None, inputs: str = "captured") -> dict:
        """A version as a folder that runs with torch and Triton only (default: the workspace's exports/)."""
        from workbench.session.export import default_folder, export
        s = self._session()
        folder = export(s, kernel, str(version), out or default_folder(s, kernel, str(version)), inputs)
        return {"folder": str(folder), "run": str(folder / "run.py")}

    def do_sanitize_keep(self, kernel: str, run: dict) -> dict:
        """A sanitize run's summary (the app ran the tool in a process of its own) kept in the
        workspace beside its version, for History after a reopen: the runner is its one writer."""
        return {"file": str(self._session().keep_sanitize_run(kernel, run))}

    # -- the CLI's commands: each in the engine module named, one runner per command -------------

    def do_compile_script(self, script_timeout: float | None = None, **params) -> dict:
        from workbench.session.compile_levels import compile_script
        with self.script_limit(script_timeout):
            return compile_script(script_timeout=script_timeout, progress=self.progress, **params)

    def do_compile_file(self, **params) -> dict:
        from workbench.session.compile_levels import compile_file
        return compile_file(**params)

    def do_passes_of_script(self, script_timeout: float | None = None, **params) -> dict:
        from workbench.session.record_passes import passes_of_script
        with self.script_limit(script_timeout):
            return passes_of_script(script_timeout=script_timeout, progress=self.progress, **params)

    def do_passes_of_file(self, **params) -> dict:
        from workbench.session.record_passes import passes_of_file
        return passes_of_file(**params)

    def do_dump_script(self, script_timeout: float | None = None, **params) -> dict:
        from workbench.instrument.dump import serve_script
        with self.script_limit(script_timeout):
            return serve_script(progress=self.progress, script_timeout=script_timeout, **params)

    def do_profile_export(self, folder: str, flops: str | None = None, ncu_timeout: float = 600.0) -> dict:
        """An exported version under ncu (which starts a process of its own)."""
        from pathlib import Path
        from workbench.profile.profile import profile_export
        return profile_export(Path(folder), flops, ncu_timeout)

    def do_close(self) -> dict:
        """The open script let go (its workspace lock with it); the runner stays."""
        self.close_session()
        return {}

    def do_shutdown(self) -> dict:
        self.close_session()
        return {"bye": True}

    # fault drills for the tests: a runner must survive its own death
    def do_crash(self, signal: int = 9) -> None:
        os.kill(os.getpid(), signal)


def die_with_parent() -> None:
    """Exit when the front end does, even mid-request (see the module's docstring)."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watch").start()


def _watch_parent(parent: int) -> None:
    poller = select.poll()
    poller.register(sys.stdin.fileno(), select.POLLHUP | select.POLLERR)  # not POLLIN: requests are main's
    while True:
        if poller.poll(250) or os.getppid() != parent:
            os._exit(EXIT_ORPHANED)  # nobody reads the answer: no teardown


def main() -> int:
    die_with_parent()
    # the protocol gets its own copy of stdout; fd 1 (prints, kernel printf) goes to stderr
    channel = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    # an interrupt is a KeyboardInterrupt, even where the front end was started with SIGINT
    # ignored (a shell's background job); the stack on SIGUSR1, even in code that holds the GIL:
    # where an interrupt found the request stuck
    signal.signal(signal.SIGINT, signal.default_int_handler)
    faulthandler.register(signal.SIGUSR1, all_threads=True)

    def send(message: dict) -> None:
        channel.write(encode(message))

    server = Server(send)
    send({"event": "ready", "pid": os.getpid()})
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            request = decode(line)
        except ValueError as e:
            send({"id": None, "error": {"message": f"not a JSON request: {e}", "diagnostics": []}})
            continue
        if request.get("method") == "open":
            gc.unfreeze()   # a script opened before (F2) is collectable again: its cycles freed below
        if not server.handle(request):
            sys.stderr.flush()
            if request.get("method") != "shutdown":
                os._exit(EXIT_FAULT)  # a lost CUDA context: no teardown that could hang on it
            return 0
        if request.get("method") == "open":
            # torch, triton and the script, now in memory, stay as long as the runner: left out of
            # the collector's full passes (each took 85-95 ms on a 2-core EPYC, 170 000 objects,
            # landing inside whichever save's apply ran then); the answer is out already
            gc.collect()
            gc.freeze()
    server.close_session()  # the front end went away without a shutdown
    return 0

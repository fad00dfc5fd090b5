"""The app's link to the runner process: the client (started on first use), blocking calls for
worker threads that give up when the app exits, requests sent from the event loop, the runner's
progress as status-line sentences, and the one path of a worker that failed.

The app process never imports torch or triton: the runner process (``python -m workbench.runner``)
does the GPU work, driven through :class:`workbench.runner.client.RunnerClient`. A controller's
method marked :func:`worker` runs on a thread; what it finds comes back as a message
(``tui/messages.py``), handled on the event loop; an exception it did not handle itself (our bug)
comes back as :class:`WorkerFailed`, shown in one line by :meth:`RunnerLink.failed`.
"""

from __future__ import annotations

import threading
from functools import wraps
from pathlib import Path

from workbench.tui.format import version_label
from workbench.tui.messages import Progress, RunnerLog, RunnerRestarted, WorkerFailed


class AppClosing(Exception):
    """The app exited while a runner request was in flight."""


def worker(group: str, exclusive: bool = False):
    """A controller's method run on a thread worker of the app (Textual's ``@work(thread=True)``
    is for DOM nodes): ``exclusive`` cancels the group's running one. An exception it lets out is
    posted as :class:`WorkerFailed` (an app closing meanwhile is nobody's)."""
    def wrap(method):
        @wraps(method)
        def start(self, *args, **kwargs):
            app = self.app

            def body() -> None:
                try:
                    method(self, *args, **kwargs)
                except AppClosing:
                    pass
                except Exception as e:  # noqa: BLE001 - one line on the status line and in the Log tab
                    app.post_message(WorkerFailed(method.__name__, e))
            return app.run_worker(body, name=method.__name__, group=group, exclusive=exclusive, thread=True,
                                  exit_on_error=False)
        return start
    return wrap


class RunnerLink:
    """The runner, as the app's controllers reach it (``app.link``)."""

    def __init__(self, app) -> None:
        self.app = app
        self.client = None
        self._client_lock = threading.Lock()

    def client_started(self):
        with self._client_lock:
            return self._client_locked()

    def _client_locked(self):
        if self.client is None:
            from workbench.runner.client import RunnerClient
            self.client = RunnerClient(kernel_timeout=self.app.kernel_timeout,
                                       on_log=lambda line: self.app.post_message(RunnerLog(line)),
                                       on_restart=lambda reason: self.app.post_message(RunnerRestarted(reason)))
            self.client.start()
        return self.client

    def call(self, method: str, sent=None, **params):
        """``client.call`` from a worker thread, given up (:class:`AppClosing`) when the app exits:
        the blocking call runs on a daemon thread, so a busy runner never holds the exit.
        ``sent``: the request as :meth:`send_now` sent it already; only its answer is waited for."""
        client = self.client_started()
        box: dict = {}
        done = threading.Event()

        def target() -> None:
            try:
                box["result"] = client.result_of(sent) if sent is not None else client.call(method, **params)
            except BaseException as e:  # noqa: BLE001 - handed to the worker
                box["error"] = e
            finally:
                done.set()

        threading.Thread(target=target, daemon=True, name=f"runner-call-{method}").start()
        while not done.wait(0.05):
            if self.app.closing_down:
                raise AppClosing(method)
        if "error" in box:
            raise box["error"]
        return box["result"]

    def send_now(self, method: str, **params):
        """A request sent from the event loop before a worker waits for its answer (see
        ``RunnerClient.send_now``), or None: the worker then sends it with :meth:`call`."""
        client = self.client
        return client.send_now(method, **params) if client is not None else None

    def progress(self, msg: dict) -> None:
        """Runner progress (a client thread): one status-line sentence."""
        what, info = msg.get("what"), msg.get("info", {})
        kernel = info.get("kernel", "")
        version = info.get("version")
        label = f"{kernel} {version_label(version)}" if version else kernel
        if what == "script":
            text = f"running {Path(info.get('script', '')).name} ({info.get('mode', '')})…"
        elif what == "compile":
            level = info.get("level")
            text = f"compiling {kernel}" + (f" from {self.app.family.title(level)}" if level else "") + "…"
        elif what == "launch":
            text = f"launching {label}, verifying against the original…"
        elif what == "bench":
            text = f"timing {label}…"
        else:
            text = f"{what} {label}…"
        self.app.post_message(Progress(text))

    def on_worker_failed(self, msg: WorkerFailed) -> None:
        """Every worker's unhandled failure: one line where the user looks, the app stays up."""
        line = f"{msg.what}: {type(msg.error).__name__}: {msg.error}"
        self.app.log_line(line, "red")
        self.app.status.show(f"error: {line} (see the Log tab)", kind="error")

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.close(timeout=2)

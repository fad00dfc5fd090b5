"""The app's link to the runner process: the client (started on first use), requests awaited on
the event loop, the runner's progress as status-line sentences, and the one path of a worker
that failed.

The app process never imports torch or triton: the runner process (``python -m workbench.runner``)
does the GPU work, driven through :class:`workbench.runner.client.RunnerClient`. A request is an
awaitable (:meth:`RunnerLink.request`) that the client's reader thread resolves on the event loop,
so no thread waits for an answer. A controller's coroutine marked :func:`worker` runs as an async
worker of the app (cancelled when the app exits); what it finds comes back as a message
(``tui/messages.py``); an exception it did not handle itself (our bug) comes back as
:class:`WorkerFailed`, shown in one line by :meth:`RunnerLink.on_worker_failed`.
"""

from __future__ import annotations

import asyncio
import threading
from functools import wraps
from pathlib import Path

from workbench.tui.format import version_label
from workbench.tui.messages import Progress, RunnerLog, RunnerRestarted, WorkerFailed


def worker(group: str, exclusive: bool = False):
    """A controller's coroutine run as an async worker of the app, on its event loop (Textual's
    ``@work`` is for DOM nodes): ``exclusive`` cancels the group's running one, and the app's exit
    cancels them all. An exception it lets out is posted as :class:`WorkerFailed`."""
    def wrap(method):
        @wraps(method)
        def start(self, *args, **kwargs):
            app = self.app

            async def body() -> None:
                try:
                    await method(self, *args, **kwargs)
                except Exception as e:  # noqa: BLE001 - one line on the status line and in the Log tab
                    app.post_message(WorkerFailed(method.__name__, e))
            return app.run_worker(body(), name=method.__name__, group=group, exclusive=exclusive, exit_on_error=False)
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
            if self.client is None:
                from workbench.runner.client import RunnerClient
                self.client = RunnerClient(kernel_timeout=self.app.kernel_timeout,
                                           on_log=lambda line: self.app.post_message(RunnerLog(line)),
                                           on_restart=lambda reason: self.app.post_message(RunnerRestarted(reason)))
                self.client.start()
            return self.client

    async def request(self, method: str, on_event=None, **params):
        """A runner request's answer (raises RunnerError / RunnerCrashed), awaited on the event loop."""
        return self.answer_of(await self.answered(method, on_event, **params))

    @staticmethod
    def answer_of(sent):
        """An answered request's result (raises RunnerError / RunnerCrashed)."""
        from workbench.runner.client import RunnerClient
        return RunnerClient.answer_of(sent)

    async def answered(self, method: str, on_event=None, **params):
        """A runner request, once answered (``response``; ``received``: when its answer was read).
        The client's reader thread resolves it on the event loop, and hands ``on_event`` each
        progress event there, in the order they came. A waiter cancelled meanwhile leaves its answer
        (and the events still to come) to nobody. Only where sending would wait (the runner not
        started yet, or being restarted: starting a process) is the request sent from a thread."""
        loop = asyncio.get_running_loop()
        answer = loop.create_future()

        def answered(pending) -> None:   # (the client's reader thread, or the one that saw it die)
            loop.call_soon_threadsafe(RunnerLink._resolve, answer, pending)

        def event(msg: dict) -> None:    # (the reader thread)
            loop.call_soon_threadsafe(self._event, answer, on_event, msg)

        params.update(on_event=event if on_event is not None else None, on_answer=answered)
        sent = self.client.send_now(method, **params) if self.client is not None else None
        if sent is None:
            await asyncio.to_thread(lambda: self.client_started().submit(method, **params))
        return await answer

    @staticmethod
    def _resolve(answer: asyncio.Future, pending) -> None:
        if not answer.done():   # (else its waiter was cancelled: the answer is nobody's)
            answer.set_result(pending)

    @staticmethod
    def _event(answer: asyncio.Future, on_event, msg: dict) -> None:
        if not answer.done():
            on_event(msg)

    def progress(self, msg: dict) -> None:
        """Runner progress: one status-line sentence."""
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

"""The app's link to the runner, through Pilot against the real runner: a request is an awaitable
the client's reader thread resolves on the event loop (no thread per call), an answer whose
waiter was cancelled is taken once and never given to another request, and quitting while a
request is in flight ends the app and its runner at once."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from pilot import FAST_BENCH, SIZE, opened, wait_for
from workbench.tui.app import WorkbenchApp


@pytest.mark.asyncio
async def test_requests_from_the_app_start_no_thread_per_call(script, monkeypatch):
    """Issue 27: every runner request started a Textual thread worker and, in it, a thread that
    made the blocking call while the worker polled for the app's exit. Now the waiting is on the
    event loop: three runs (`R`) and a watch list's request start no thread at all."""
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        await wait_for(pilot, lambda: "result_on_screen" in app.timeline, what="the original drawn")
        await pilot.pause(0.3)
        started: list[str] = []
        start = threading.Thread.start
        monkeypatch.setattr(threading.Thread, "start", lambda thread: (started.append(thread.name), start(thread))[1])
        app.pane("python").view.focus()
        for _ in range(3):
            app.timeline.pop("result_on_screen")
            await pilot.press("R")
            await wait_for(pilot, lambda: "result_on_screen" in app.timeline, what="the run again drawn")
        assert started == []
        watches = await app.link.request("watch_list", kernel=app.spec_id)
        assert watches == []
        assert app.last_good.version == "original" and app.status.message.startswith("add_kernel original: ok")
        assert started == []


@pytest.mark.asyncio
async def test_an_answer_whose_waiter_was_cancelled_is_taken_once_and_never_given_to_another(script):
    """A request whose waiter went away (a run superseded by the next `R`, the app moving on) is
    still answered by the runner: that answer is taken once, on the event loop, with no error there
    (a future resolved after its cancel), and the next request gets its own answer, not that one."""
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        await wait_for(pilot, lambda: "result_on_screen" in app.timeline, what="the original drawn")
        loop = asyncio.get_running_loop()
        problems: list[str] = []
        loop.set_exception_handler(lambda _loop, context: problems.append(str(context.get("exception")
                                                                               or context["message"])))
        abandoned = asyncio.ensure_future(app.link.request("run", kernel=app.spec_id, version="original"))
        await asyncio.sleep(0)   # sent
        abandoned.cancel()
        versions = await app.link.request("versions", kernel=app.spec_id)   # answered after the run's
        assert versions == [] and abandoned.cancelled()
        assert app.link.client.pending_count() == 0   # the run's answer came, and was taken
        # the app's own: `R` twice, the first run's waiter cancelled by the second (one group)
        done = []
        on_run_done = app.saves.on_run_done
        app.saves.on_run_done = lambda msg: (done.append(msg.result.version), on_run_done(msg))[1]
        app.pane("python").view.focus()
        app.timeline.pop("result_on_screen")
        app.saves.action_rerun()   # `R`, and its request sent ...
        await asyncio.sleep(0)
        app.saves.action_rerun()   # ... then `R` again before any answer (a GPU run answers in ms)
        await wait_for(pilot, lambda: "result_on_screen" in app.timeline, what="the run again drawn")
        await wait_for(pilot, lambda: app.link.client.pending_count() == 0, what="both runs answered")
        await pilot.pause(0.3)
        assert done == ["original"]
        assert problems == []


SLOW = """import time
time.sleep(300)   # the script still running when the app quits
"""


@pytest.mark.asyncio
async def test_quitting_while_a_request_is_in_flight_ends_the_app_and_its_runner_at_once(tmp_path):
    """ctrl+q while the runner runs the script (an ``open`` answered in minutes): the app ends at
    once and takes its runner with it; nothing waits for the answer."""
    script = tmp_path / "slow.py"
    script.write_text(SLOW)
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "running slow.py" in app.status.message, 120, "the script running")
        pid = app.link.client.pid
        quit_at = time.monotonic()
        await pilot.press("ctrl+q")
    quitting = time.monotonic() - quit_at
    assert quitting < 30, f"quitting took {quitting:.1f} s of the script's 300"
    assert not os.path.exists(f"/proc/{pid}")
    assert not [w for w in app.workers if not w.is_finished]

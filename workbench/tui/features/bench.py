"""The Bench tab: a version's timing after its verdict is on screen (bench on save, with a GPU:
a save's ``apply`` and a version's ``run`` time it in the same request, after the verdict), its
row in the table, and the verdict's words once the timing comes (``app.bench``)."""

from __future__ import annotations

from workbench.model.diagnostics import NO_GPU_TIMING
from workbench.model.results import AnswerError, RunResult
from workbench.tui import widgets as views
from workbench.tui.format import result_summary, version_label
from workbench.tui.messages import Timed, Timing
from workbench.tui.main_screen import after_rest


class BenchFeature:
    def __init__(self, app) -> None:
        self.app = app
        self.bench_on_save = app.config.bench_on_save

    def timing_event(self, msg: dict) -> None:
        """A timing's progress: the verdict is on screen already, so the status line keeps it and
        adds that the timing runs."""
        if msg.get("what") == "bench":
            self.app.post_message(Timing(str(msg.get("info", {}).get("version"))))

    def on_timing(self, msg: Timing) -> None:
        verdict, kind = self.app.saves.verdict
        if msg.version == self.app.last_version and self.app.status.message == verdict:   # nothing said since
            self.app.status.show(f"{verdict} · timing…", busy=True, kind=kind)

    @after_rest
    def on_timed(self, msg: Timed) -> None:
        if self.app.current is None or msg.result.get("spec_id") != self.app.spec_id:
            return   # another kernel is on screen now
        error = msg.error
        if error is None:
            try:
                result = RunResult.parse(msg.result, "timing answer")
            except AnswerError as e:
                error = str(e)
        if error is not None:
            self.app.log_line(f"timing {version_label(msg.result.get('version'))} failed: {error}", "red")
            verdict, kind = self.app.saves.verdict
            if self.app.status.message in (verdict, f"{verdict} · timing…"):   # the verdict stays; the spinner stops
                self.app.status.show(f"{verdict} · its timing failed (see the Log tab)", kind=kind)
            return
        self.app.query_one(views.BenchView).add_result(result)
        if result.version == self.app.last_version:
            said, kind = self.app.saves.verdict
            self.app.saves.verdict = (result_summary(result) + self.app.watches.watch_words,
                                      "ok" if result.status == "ok" else "error")
            if self.app.status.message in (said, f"{said} · timing…"):   # what was said since (profiling…) stays
                self.app.status.show(self.app.saves.verdict[0], kind=self.app.saves.verdict[1])

    def action_toggle_bench(self) -> None:
        self.bench_on_save = not self.bench_on_save
        self.app.notify(f"bench on save: {'on' if self.bench_on_save else 'off'}"
                    + ("" if self.app.gpu or self.app.opened is None else f" ({NO_GPU_TIMING})"))

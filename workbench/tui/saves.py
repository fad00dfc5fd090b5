"""The edit loop on screen: a save (from a pane, from outside, from $EDITOR) into edit/, its
compile and run in the runner, the verdict and the diagnostics on screen, restores and runs of a
version (``app.saves``). What compiles next and which version is current is the kernel's
:class:`~workbench.tui.editing.EditSession`'s to say (``app.edits``); this class shows it and
asks the runner."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.model.results import AnswerError, RunResult, Version
from workbench.tui import widgets as views
from workbench.tui.config import editor_command
from workbench.tui.editing import Decision, atomic_write, digest
from workbench.tui.format import EDITABLE, LEVELS, STATUS_WORDS, diagnostic_text, locate_unplaced, result_summary, \
    version_label
from workbench.tui.mapping import LevelMap
from workbench.tui.messages import LevelsReady, Restored, RunDone, RunFailed, Timed
from workbench.tui.main_screen import after_rest, draw_now
from workbench.tui.runner_link import worker
from workbench.tui.watcher import FilesChanged
from workbench.tui.widgets.kernel_picker import KernelPicker
from workbench.tui.widgets.level_pane import LevelPane

DEBOUNCE_S = 0.03             # editors save in bursts (write, rename, delete) well within this
SETTLE_S = 0.003              # after a close-after-write or a rename into place: the burst's last events


@dataclass
class Apply:
    """One save's ``apply`` request, or one version's ``run`` (no path): the file, when it was
    sent, and its verdict once that came as a progress event (the answer then brings the timing:
    the request carried bench options)."""
    path: Path | None
    level: str | None
    started: float
    verdict: RunResult | None = None


class Saves:
    def __init__(self, app) -> None:
        self.app = app
        self.verdict = ("", "")   # the status line's sentence for the last result, and its kind
        self._debounce = None

    def _bench(self) -> dict | None:
        """The bench options a run or a save asks for its timing with: bench on save on, and a GPU."""
        return dict(self.app.bench_options) if self.app.bench.bench_on_save and self.app.gpu else None

    def run_version(self, version: str) -> None:
        """A version run (`R`, a kernel shown, a restore): one request, which times it too (bench
        on save, a GPU) once its verdict is out, as a save's ``apply`` does."""
        self.run_worker(self.app.spec_id, version, self._bench(), Apply(None, None, time.perf_counter()))

    @worker(group="run", exclusive=True)
    async def run_worker(self, spec_id: str, version: str, bench: dict | None, req: Apply) -> None:
        try:
            answer = await self.app.link.request("run", kernel=spec_id, version=version, bench=bench,
                                                 verdict_first=bench is not None,
                                                 on_event=lambda msg: self._apply_event(msg, req))
            if req.verdict is None:
                result = RunResult.parse(answer)
        except Exception as e:  # noqa: BLE001 - a RunnerError, a crash, an answer of a wrong shape: all shown
            if req.verdict is not None:   # the verdict is on screen: what failed is its timing
                self.app.post_message(Timed({"spec_id": spec_id, "version": req.verdict.version},
                                            f"{type(e).__name__}: {e}"))
            else:
                self.app.post_message(RunFailed(e))
            return
        if req.verdict is not None:
            self.app.post_message(Timed(answer))
        else:
            self.app.post_message(RunDone(result, None, started=req.started))

    def action_rerun(self) -> None:
        if self.app.current is not None:
            self.run_version(self.app.last_version)

    @after_rest
    def on_level_pane_save(self, event: LevelPane.Save) -> None:
        """ctrl+s in a pane: write the file into edit/, then compile from it (a failed write
        leaves the text in the editor)."""
        level, text = event.level, event.text
        if self.app.current is None:
            self.app.notify("the script is not open yet: your text stays in the editor", severity="warning")
            return
        if level not in EDITABLE:
            self.app.notify(f"{self.app.family.title(level)} is view-only: edit PTX or a level above", severity="warning")
            return
        path = self.app.level_path(level)
        data = text.encode("utf-8")
        try:
            atomic_write(path, data)
        except OSError as e:
            self.app.notify(f"could not save {path}: {e.strerror or e}; your text stays in the editor",
                        severity="error", timeout=15)
            return
        d = digest(data)
        self.app.edits.shown[level] = d
        event.pane.view.load(text, level, self.app.family.lexer(level))
        event.pane.saved()
        self.app.drafting.forget_kept(level)
        self._decide(level, d)

    def _decide(self, level: str, d: str, outside: bool = False) -> None:
        """A level's file holds new content: compile it, or (the same text as a version) no new
        version; while the runner rewrites edit/, it waits for that to end."""
        path = self.app.level_path(level)
        decision = self.app.edits.save_arrived(level, d)
        if decision.action == "queued":   # a restore is rewriting edit/
            self.app.notify(f"{path.name} saved: it is taken up once the restore ends")
            return
        if decision.action == "compile":
            if outside:
                self.app.log_line(f"saved outside the app: {path.name}")
            self.start_apply(decision)
        elif decision.action == "restore":
            self.app.log_line(decision.sentence(self.app.family))
            self.app.notify(decision.sentence(self.app.family))
            self.restore(decision.version)
        elif not outside or self.app.main.column(level).error is not None:
            self.app.main.column(level).show_error(None)    # an error under the pane was for another text
            self.app.status.show(decision.sentence(self.app.family))
        self.app.main.title(level)

    def start_apply(self, decision: Decision) -> None:
        apply = decision.apply
        self.app.edits.runner_writing()
        self.app.timeline["save"] = time.perf_counter()
        self.app.timeline["seen"] = self.app.timeline.pop("burst", self.app.timeline["save"])  # the outside save's first event
        for level in LEVELS:   # an error under a pane is for an older text now
            self.app.main.column(level).show_error(None)
        self.app.status.show(f"compiling {self.app.kernel_name} from {self.app.family.title(apply.level)}…", busy=True)
        self.app.main.title(apply.level)
        req = Apply(apply.path, apply.level, time.perf_counter())
        # one request: with bench on save (and a GPU) it times the version too, once its verdict is out
        self.apply_file(self.app.spec_id, req, self._bench())

    def _apply_event(self, msg: dict, req: Apply) -> None:
        """An apply's or a run's progress: its verdict (before its timing) goes to the app as the
        result at once; a timing under way keeps the verdict on the status line."""
        what = msg.get("what")
        if what == "verdict":
            self.app.timeline["received"] = time.perf_counter()
            try:
                req.verdict = RunResult.parse(msg.get("info"), "verdict")
            except AnswerError:
                return   # the answer is then the verdict (parsed, or said, as an answer)
            self.app.post_message(RunDone(req.verdict, req.verdict.versions, req.path, req.level, req.started))
        elif what == "levels":   # the SASS (nvdisasm) and the map, made once the verdict was out
            info = msg.get("info") if isinstance(msg.get("info"), dict) else {}
            srcmap = info.get("srcmap")
            self.app.post_message(LevelsReady(str(info.get("spec_id", "")), str(info.get("version", "")),
                                              [str(lv) for lv in info.get("levels") or []],
                                              srcmap if isinstance(srcmap, dict) else None))
        elif what == "bench" and req.verdict is not None:
            self.app.bench.timing_event(msg)
        else:
            self.app.link.progress(msg)

    @worker(group="apply")
    async def apply_file(self, spec_id: str, req: Apply, bench: dict | None) -> None:
        path, level = req.path, req.level
        try:
            sent = await self.app.link.answered("apply", kernel=spec_id, path=str(path), bench=bench,
                                                verdict_first=True, on_event=lambda msg: self._apply_event(msg, req))
            answer = self.app.link.answer_of(sent)
            if req.verdict is not None:   # the verdict and the levels are on screen: the timing, if asked
                if bench is not None:
                    self.app.post_message(Timed(answer))
                return
            self.app.timeline["received"] = sent.received
            result = RunResult.parse(answer, "apply answer")
        except Exception as e:  # noqa: BLE001 - RunnerError with diagnostics, a crash, or our bug: all shown
            if req.verdict is not None:   # the verdict is on screen: what failed is its timing
                self.app.post_message(Timed({"spec_id": spec_id, "version": req.verdict.version},
                                            f"{type(e).__name__}: {e}"))
                return
            try:  # after a crash too: the version it made before the runner died is in the list
                versions = [Version.parse(v) for v in await self.app.link.request("versions", kernel=spec_id,
                                                                                   timeout=60)]
            except Exception:  # noqa: BLE001
                versions = None
            self.app.post_message(RunFailed(e, path, level, versions))
            return
        # (apply answers with the version list: no second request)
        self.app.post_message(RunDone(result, result.versions, path, level, req.started))

    @after_rest
    def on_run_done(self, msg: RunDone) -> None:
        """A result: its verdict on the status line, drawn at once in a frame of its own; then the
        rest (the edit session, Outputs, Bench, the picker, History, the panes the runner rewrote),
        drawn in the next frame (on a 2-core EPYC they made the verdict's frame 25-35 ms)."""
        result = msg.result
        if self._stale_apply(msg.path):
            return
        summary, kind = result_summary(result), result.verdict_kind
        self.app.watches.watch_words = self.app.watches.show_result(result)   # said again when the version's timing comes
        self.verdict = (summary + self.app.watches.watch_words, kind)
        self.app.status.show(self.verdict[0], kind=kind)
        self.app.timeline["result"] = time.perf_counter()
        self.app.timeline["answer"] = msg.answered
        draw_now(self.app, self.app.status)
        self.app.timeline["result_on_screen"] = time.perf_counter()
        edits = self.app.edits
        if msg.path is not None:
            edits.runner_wrote()
            edits.finished(msg.versions, failed=False)
            edits.coming = {"sass"} if result.srcmap is None else set()   # a verdict first: its SASS follows
            new_map = LevelMap.from_json(result.srcmap)
            self.app.main.map = self.app.main.map.merged(new_map)
        if edits is not None:
            edits.ran(result)
        self.app.query_one(views.OutputsView).show_result(result)
        self.app.query_one(views.BenchView).add_result(result)
        self.app.query_one(KernelPicker).show_version(self.app.last_version, result.compile,
                                                      STATUS_WORDS.get(result.status, ""))
        if msg.versions is not None:
            self.app.history.show()
            self.app.passes.show(only_in_sight=True)
        if msg.path is None:
            self.app.watches.follow()
        self.app.log_line(summary, "green" if result.status == "ok" else "yellow")
        if msg.path is not None:
            self.app.timeline["apply_compile_ms"] = float(result.compile_ms or 0.0)
            self.after_runner_write(older=summary)
        self.app.call_after_refresh(self._all_on_screen)

    @after_rest
    def on_levels_ready(self, msg: LevelsReady) -> None:
        """A version's SASS and map, made after its verdict: shown if it is still the current one
        (until then its pane said the file is absent: never the previous version's)."""
        if self.app.edits is None or msg.spec_id != self.app.edits.spec_id or msg.version != self.app.last_version:
            return   # another kernel's, or a version no longer current
        self.app.edits.coming.clear()
        self.app.main.map = self.app.main.map.merged(LevelMap.from_json(msg.srcmap))
        self.app.main.load_levels([level for level in LEVELS if level in msg.levels or level == "sass"])

    def _all_on_screen(self) -> None:
        self.app.timeline["all_on_screen"] = time.perf_counter()

    @after_rest
    def on_run_failed(self, msg: RunFailed) -> None:
        from workbench.runner.protocol import RunnerError
        if self._stale_apply(msg.path):
            return
        e = msg.error
        crash = isinstance(e, RunnerError) and e.kind == "crash"
        made, edits = None, self.app.edits
        if msg.path is not None:
            edits.runner_wrote()
            made = edits.finished(msg.versions, failed=not crash)
        if msg.versions is not None:
            self.app.history.show()
        kept = (f"; the last good result stays ({version_label(edits.result.version)})"
                if edits is not None and edits.result else "")
        if crash:
            what = (f"{self.app.kernel_name} {version_label(made)} (from {self.app.family.title(msg.level)}) compiled, "
                    f"its run was stopped: " if made else "")
            self.app.status.show(f"{what}{e.message}{kept}", kind="error")
            self.app.log_line(f"crash: {what}{e.message}", "bold red")
        elif isinstance(e, RunnerError):
            for line in e.lines():
                self.app.log_line(line, "red")
            shown = self._show_diagnostics(e.diagnostics, msg.level, msg.path)
            if shown:
                level, d = shown
                self.app.status.show(f"compile error in {self.app.family.title(level)} at line {d.get('line')}: "
                                 f"{d.get('message', '')}{kept}", kind="error")
            else:
                self.app.status.show(f"error: {e.message}{kept}", kind="error")
        else:
            self.app.log_line(f"{type(e).__name__}: {e}", "red")
            self.app.status.show(f"error: {type(e).__name__}: {e}{kept}", kind="error")
        self.app.timeline["error_on_screen"] = time.perf_counter()
        if msg.path is not None:
            self.after_runner_write()

    def _stale_apply(self, path: Path | None) -> bool:
        """An apply's answer for a kernel no longer shown (another was opened meanwhile): not shown."""
        if path is None or (self.app.edits is not None and path.parent == self.app.edits.edit_dir):
            return False
        self.app.log_line(f"a result for {path.name}, no longer shown, was left out")
        self._flush_changes()      # saves to the kernel shown now waited for the runner
        return True

    def after_runner_write(self, older: str = "", restored: bool = False) -> None:
        """The runner is done with edit/: show what it holds, then compile the newest save it does
        not hold a version of yet (one made while the compile ran, or a keystroke's worth later);
        ``older`` is the result just shown, which that text makes an older one. After a restore
        (``restored``), a save made while it waited that holds another version's text restores that."""
        if self.app.edits is None:
            return
        self.app.main.load_levels()
        decision = self.app.edits.after_runner_write(restored)
        if decision is None:
            return
        if decision.action == "restore":
            self.app.log_line(decision.sentence(self.app.family))
            self.app.notify(decision.sentence(self.app.family))
            self.restore(decision.version)
            return
        self.app.log_line(f"newer text in {decision.apply.path.name}: compiling it")
        self.start_apply(decision)
        if older:
            self.app.status.show(f"{older} · for an older text: compiling the newest save of "
                             f"{self.app.family.title(decision.level)}…", busy=True)

    def _show_diagnostics(self, diagnostics: list[dict], level: str | None, path: Path | None):
        """The first diagnostic with a line, at that line of its level's pane (one the verifier
        gave no line is placed at the op it names)."""
        diagnostics = [self._placed(d, level) for d in diagnostics]
        for d in diagnostics:
            if not d.get("line"):
                continue
            file = Path(str(d.get("file") or ""))
            if path is not None and file.name == path.name and file.suffix == ".mlir":
                self.app.query_one(views.PassesView).show_error(file.name, d, diagnostic_text(d))   # a pass's IR: there
                return level, d
            lv = self.app.family.pane_of_suffix(file.suffix) or level
            if lv not in LEVELS:
                continue
            line, col_no = int(d["line"]), int(d.get("column") or d.get("col") or 1)
            column = self.app.main.column(lv)
            column.show_error(d, f"✗ {file.name}: {diagnostic_text(d)}")
            view = column.pane.view
            view.highlight_lines({line})
            view.goto_line(line, max(col_no - 1, 0))
            if column.pane.editing:
                column.pane.editor.move_cursor((line - 1, max(col_no - 1, 0)))
            if lv not in self.app.main.shown_levels:
                self.app.main.action_show_level(lv)
            return lv, d
        if level is not None:  # no line: still say where
            self.app.main.column(level).show_error({"message": "error"}, "✗ " + "; ".join(
                diagnostic_text(d) for d in diagnostics) if diagnostics else "✗ compile failed (see the Log tab)")
        return None

    def _placed(self, d: dict, level: str | None) -> dict:
        if d.get("line") or level not in LEVELS:
            return d
        found = locate_unplaced(self.app.main.pane(level).view.text, str(d.get("message", "")))
        if found is None:
            return d
        line, what = found
        return dict(d, line=line, file=d.get("file") or str(self.app.level_path(level)),
                    message=f"{d.get('message', '')} (no location from the verifier: at {what})")

    @after_rest
    def on_files_changed(self, msg: FilesChanged) -> None:
        if self.app.edits is None:
            return
        now = time.perf_counter()
        for path in msg.paths:
            self.app.edits.pending.setdefault(path, now)
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.app.set_timer(SETTLE_S if msg.complete else DEBOUNCE_S, self._flush_changes)

    def _flush_changes(self) -> None:
        if self.app.edits is None or self.app.closing_down:
            return
        pending = self.app.edits.take_pending()   # (none while the runner rewrites edit/: looked at once it is done)
        if not pending:
            return
        self.app.timeline["burst"] = min(pending.values())   # an outside save's first event (start_apply)
        paths = sorted(pending)
        changed = []
        for path in paths:
            level = self.app.family.pane_of_suffix(path.suffix)
            if level is None or path != self.app.level_path(level):
                continue
            before = self.app.edits.shown.get(level, "")
            self.app.main.load_levels([level])
            if self.app.edits.shown.get(level) not in (before, None):
                changed.append(level)   # (a deleted file: an editor's save in two steps, the create comes next)
        for level in sorted(changed, key=LEVELS.index):   # the highest level first: the levels below follow it
            if level in EDITABLE:
                self._decide(level, self.app.edits.shown[level], outside=True)
                if self.app.edits.runner_writes:
                    break
        self.app.timeline.pop("burst", None)

    def action_external_editor(self) -> None:
        if self.app.current is None:
            return
        level = self.app.main.focused_level()
        path = self.app.level_path(level)
        column = self.app.main.column(level)
        line = (column.error or {}).get("line") or column.pane.view.cursor_line  # the error's line, else the cursor's
        try:
            argv, named = editor_command()
        except ValueError as e:
            self.app.status.show(str(e), kind="error")
            self.app.log_line(str(e), "red")
            return
        failed: Exception | None = None
        try:
            with self.app.suspend():   # (it resumes only when its block ends without an exception)
                try:
                    subprocess.call(argv + [f"+{line}", str(path)])
                except Exception as e:  # noqa: BLE001 - found, but the system would not run it
                    failed = e
        except Exception as e:  # noqa: BLE001 - SuspendNotSupported (headless, web)
            failed = e
        if failed is not None:
            why = f"cannot run {named}: {getattr(failed, 'strerror', None) or failed}; set VISUAL or EDITOR to " \
                  f"your editor"
            self.app.status.show(why, kind="error")
            self.app.log_line(why, "red")
            return
        self.on_files_changed(FilesChanged([path]))   # the watcher sees it too; the flow makes it once

    def restore(self, version: str) -> None:
        """Ask the runner to restore a version, with edit/ as it is now: a save made before the
        runner gets to it is newer, and kept."""
        if self.app.current is None:
            return
        self.app.edits.runner_writing()
        self.app.status.show(f"restoring {version_label(version)}…", busy=True)
        self.restore_worker(version, self.app.edits.seen())

    @worker(group="restore")   # (never cancelled but by the exit: its answer ends the runner's write of edit/)
    async def restore_worker(self, version: str, seen: dict[str, str]) -> None:
        spec_id = self.app.spec_id
        try:
            paths = await self.app.link.request("restore", kernel=spec_id, version=version, seen=seen, timeout=120)
        except Exception as e:  # noqa: BLE001
            self.app.post_message(RunFailed(e))
            paths = []
        self.app.post_message(Restored(version, paths, spec_id))  # a restore makes no version: the list stays

    @after_rest
    def on_restored(self, msg: Restored) -> None:
        if self.app.edits is None or msg.spec_id != self.app.edits.spec_id:
            return   # another kernel's (the one shown asked for none)
        self.app.edits.runner_wrote()
        if not msg.paths:
            self.after_runner_write(restored=True)
            return
        self.app.edits.current = str(msg.version)
        for level in LEVELS:
            self.app.main.column(level).show_error(None)
        self.app.notify(f"restored {version_label(msg.version)} into {self.app.edit_dir}")
        self.app.log_line(f"restored {version_label(msg.version)}")
        self.after_runner_write(restored=True)
        if not self.app.edits.runner_writes:   # no save made meanwhile to compile or restore: this version runs
            self.run_version(msg.version)

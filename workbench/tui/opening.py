"""Opening a script and showing one of its kernels: the runner's open, what it found (the
kernels, the script's own error, notes), a kernel's levels into the panes with its edit session,
and the question a workspace with kept edits asks (``app.opening``)."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from textual.widgets import Static

from workbench.model.diagnostics import NO_GPU_TIMING
from workbench.model import results
from workbench.model.levels import family_of
from workbench.runner.protocol import diagnostic_line
from workbench.tui import widgets as views
from workbench.tui.editing import EditSession
from workbench.tui.format import LEVELS, version_label
from workbench.tui.main_screen import after_rest
from workbench.tui.mapping import LevelMap
from workbench.tui.messages import Hello, Opened, OpenFailed, Progress, RunnerLog, RunnerRestarted
from workbench.tui.runner_link import worker
from workbench.tui.widgets.kernel_picker import KernelPicker


def bundled_example() -> Path:
    import workbench
    return Path(workbench.__file__).resolve().parent.parent / "examples" / "matmul.py"


class Opening:
    def __init__(self, app) -> None:
        self.app = app
        self._asked_edits: set[str] = set()  # kernels whose kept edits the user was asked about

    @worker(group="open", exclusive=True)
    async def open_script(self) -> None:
        from workbench.runner.protocol import RunnerError
        try:
            if self.app.link.client is None:
                self.app.post_message(Progress("starting runner… (it imports torch and triton)"))
            self.app.post_message(Hello(await self.app.link.request("hello", timeout=300)))
            opened = await self.app.link.request("open", script=str(self.app.script), argv=self.app.script_args,
                                 target=self.app.config.target or None, snapshot_limit=self.app.config.snapshot_limit_mb << 20,
                                 script_timeout=self.app.config.script_timeout, limit_name="script_timeout in the config",
                                 on_event=self.app.link.progress)
            opened = results.Opened.parse(opened)
        except RunnerError as e:
            self.app.post_message(OpenFailed(e.message, e.lines()))
            return
        except results.AnswerError as e:
            self.app.post_message(OpenFailed(str(e), []))
            return
        except Exception as e:  # noqa: BLE001 - shown to the user, the app stays up
            self.app.post_message(OpenFailed(f"{type(e).__name__}: {e}", []))
            return
        self.app.post_message(Opened(opened))

    def on_progress(self, msg: Progress) -> None:
        self.app.status.show(msg.text, busy=True)

    def on_runner_log(self, msg: RunnerLog) -> None:
        self.app.log_line(msg.line, msg.style)

    @after_rest
    def on_runner_restarted(self, msg: RunnerRestarted) -> None:
        self.app.log_line(f"runner restarted: {msg.reason}", "bold red")
        self.app.notify(msg.reason, title="runner restarted", severity="error", timeout=10)

    def on_hello(self, msg: Hello) -> None:
        info = msg.info
        gpu = info.get("gpu") or "no GPU (Python level runs in Triton's interpreter)"
        self.app.query_one("#title-bar", Static).update(self.app.title_text(f"triton {info.get('triton')} · {gpu}"))
        self.app.log_line(f"runner pid {info.get('pid')}, python {info.get('python')}, triton {info.get('triton')}, "
                          f"gpu {info.get('gpu')}")

    @after_rest
    def on_open_failed(self, msg: OpenFailed) -> None:
        self._clear_screen(f"could not open {self.app.script.name}")
        self.app.status.show(f"could not open {self.app.script.name}: {msg.text}", kind="error")
        for line in msg.lines or [msg.text]:
            self.app.log_line(line, "red")
        self.app.notify(msg.text, title=f"could not open {self.app.script.name}", severity="error", timeout=15)

    @after_rest
    def on_opened(self, msg: Opened) -> None:
        self.app.timeline["opened"] = time.perf_counter()
        self.app.opened = data = msg.data
        self.app.family = family_of(data.target)  # hip:*: the PTX pane holds AMDGCN
        self.app.main.show_columns()  # the level bar, in the target's names
        self.app.kernels = list(data.kernels)
        self.app.configs.tunings, self.app.configs.config_results = list(data.tunings), {}
        self.app.sanitize.runs = {e.spec_id: list(e.sanitized) for e in self.app.kernels}   # (kept in the workspace)
        self.app.query_one("#title-bar", Static).update(self.app.title_text(
            f"{data.mode} · target {data.target}" + ("" if data.gpu else " · no GPU: IR levels compile only")))
        self.app.query_one(KernelPicker).show_kernels(self.app.script.name, self.app.kernels)
        self.app.query_one(views.BenchView).set_note("" if self.app.gpu else NO_GPU_TIMING)
        if data.script_error:
            d = data.script_error
            text = diagnostic_line(dict(d, file=Path(str(d.get("file"))).name))
            self.app.notify(text, title="the script raised", severity="warning", timeout=10)
            self.app.log_line(text, "red")
        for note in data.notes:
            self.app.log_line(f"note: {note}")
        for entry in self.app.kernels:
            if entry.error is not None:
                self.app.log_line(f"{entry.kernel}-{entry.spec_id}: {entry.error.get('message')}", "red")
        good = [i for i, e in enumerate(self.app.kernels) if e.error is None]
        if not good:
            self._clear_screen(f"no kernel of {self.app.script.name} compiled")
            self.app.query_one(KernelPicker).show_kernels(self.app.script.name, self.app.kernels)
            self.app.status.show("no kernel compiled: see the Log tab", kind="error")
            return
        self.load_kernel(good[0])

    def _clear_screen(self, why: str) -> None:
        """Nothing of a previous script stays on screen (a failed open shows no mix of two)."""
        self.app.kernels, self.app.current, self.app.edits = [], None, None
        self.app.watcher.stop()
        self.app.query_one("#title-bar", Static).update(self.app.title_text(why))
        self.app.query_one(KernelPicker).show_kernels(self.app.script.name, [])
        for level in LEVELS:
            column = self.app.main.column(level)
            column.path = None
            column.show_error(None)
            column.pane.load(f"({why}: see the status line and the Log tab)", level, missing=why)
            column.set_title()
        self.app.query_one(views.OutputsView).clear()
        self.app.query_one("#history-table").clear()
        self.app.query_one(views.BenchView).results.clear()

    def on_kernel_picker_picked(self, msg: KernelPicker.Picked) -> None:
        self.switch_kernel(msg.index)

    def switch_kernel(self, index: int) -> None:
        """Kernel ``index`` on screen (asking first where a pane holds a draft)."""
        entry = self.app.kernels[index] if 0 <= index < len(self.app.kernels) else None
        if entry is None or entry.error is not None:
            self.app.notify("this specialization did not compile: see the Log tab", severity="warning")
            return
        if entry is not self.app.current:
            self.app.drafting.unless(f"switch to {entry.kernel}", partial(self.load_kernel, index),
                               on_keep=self.app.main.highlight_current)

    def load_kernel(self, index: int) -> None:
        entry = self.app.kernels[index]
        self.app.drafting.discard()   # (the kernel shown until now's: asked about before)
        self.app.current = entry
        self.app.edits = EditSession(entry.edit, entry.folder / "original", entry.kernel, entry.versions,
                                     family=self.app.family, spec_id=entry.spec_id)
        self.app.query_one(KernelPicker).select_kernel(index)
        self.app.main.map = LevelMap.from_json(entry.srcmap)
        self.app.edits.shown_again()   # what edit/ holds is what runs: the panes show it
        self._results_of_new_kernel()
        self.app.main.load_levels()
        for level in LEVELS:
            self.app.main.column(level).show_error(None)
        self.app.drafting.restore_kept()
        self.app.call_after_refresh(self.app.main.panes_at_start, entry)
        self.app.history.show()
        try:
            self.app.watcher.watch(self.app.edit_dir)
        except Exception as e:  # noqa: BLE001 - no inotify: saves from the app still work
            self.app.log_line(f"not watching {self.app.edit_dir}: {e}", "red")
        self.app.saves.run_version(self.app.last_version)
        self.app.watches.load_watches(self.app.spec_id)
        self.app.passes.show(only_in_sight=True)
        self._ask_about_kept_edits()

    def _results_of_new_kernel(self) -> None:
        """Another kernel on screen: every results tab shows its state or its empty state, never
        the previous kernel's (History and Passes are drawn for it as they come in sight)."""
        for view in (views.OutputsView, views.BenchView, views.DumpsView, views.ProfileView, views.SanitizeView):
            self.app.query_one(view).clear()
        self.app.dumps.last_diverge = None
        if self.app.main.results_tab() == "configs":
            self.app.configs.show()
        else:
            self.app.query_one(views.ConfigsView).show(None)

    def _ask_about_kept_edits(self) -> None:
        """A workspace opened again may hold edits: say so, and offer to keep or reset them."""
        from workbench.tui.screens.choice_screen import ChoiceScreen
        edited = self.app.edits.edited_levels()
        if not edited or self.app.spec_id in self._asked_edits:
            return
        self._asked_edits.add(self.app.spec_id)
        listed = ", ".join(f"{self.app.family.title(lv)}: {note}" for lv, note in edited.items())
        self.app.log_line(f"{self.app.edit_dir} holds edits ({listed})")
        spec_id = self.app.spec_id

        def chosen(choice: str | None) -> None:
            if self.app.current is None or self.app.spec_id != spec_id:
                return
            if choice == "reset":
                self.app.saves.restore("original")
            else:
                self.app.saves.after_runner_write()   # a save not compiled yet compiles now
        self.app.push_screen(ChoiceScreen(f"{self.app.kernel_name}: edit/ holds edits, not the original ({listed}); "
                                      f"{version_label(self.app.last_version)} is what runs.",
                                      [("keep", "Keep the edits"),
                                       ("reset", "Reset edit/ to the original (every version stays in History)")]),
                         chosen)

    def action_open_other(self) -> None:
        from workbench.tui.screens.open_screen import OpenScriptScreen
        self.app.drafting.unless("open another script", lambda: self.app.push_screen(
            OpenScriptScreen(self.app.script, bundled_example().parent), self.switch_script))

    def switch_script(self, script: Path | None) -> None:
        """Open another script in the same runner (it re-captures; the old workspace stays on
        disk). Until it is open the previous one stays on screen; if it fails, the screen is cleared."""
        if script is None:
            return
        opening = any(w.group == "open" and not w.is_finished for w in self.app.workers)
        if Path(script).resolve() == self.app.script and (self.app.current is not None or opening):
            return   # open and shown, or being opened (one that failed is opened again)
        self.app.script = Path(script).resolve()
        self.app.opened = None
        if self.app.edits is not None:
            self.app.edits.result = None
        self.app.drafting.discard()
        self.app.query_one("#title-bar", Static).update(self.app.title_text(f"opening {self.app.script.name}…"))
        self.app.status.show(f"opening {self.app.script.name}…", busy=True)
        self.app.log_line(f"opening {self.app.script}")
        self.open_script()

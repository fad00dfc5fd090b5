"""The workbench app: a script's kernels, every level side by side, live recompile on save.

The app process never imports torch or triton: the runner process (``python -m workbench.runner``)
does the GPU work, driven through :class:`workbench.runner.client.RunnerClient` from thread
workers. Results come back as messages; the UI never waits on the runner.
"""

from __future__ import annotations

import gc
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from workbench.model.diagnostics import NO_GPU_TIMING
from workbench.model.levels import NVIDIA, family_of
from workbench.runner.protocol import diagnostic_line
from workbench.tui.commands import WorkbenchCommands
from workbench.tui.config import Config, editor_command, load_config
from workbench.tui.edit_flow import Decision, EditFlow, digest
from workbench.tui.follow import follow, lines_said, place
from workbench.tui.format import (EDITABLE, LEVELS, STATUS_WORDS, diagnostic_text, kernel_label, locate_unplaced,
                                  result_summary, version_label)
from workbench.tui.mapping import LevelMap
from workbench.tui.messages import (ConfigsDone, DivergeDone, DumpDone, Exported, Hello, Opened, OpenFailed,
                                    Progress, Restored, RunDone, RunFailed, RunnerLog, RunnerMessage,
                                    RunnerRestarted, TerminalGone, Timed, Timing, WatchesDone)
from workbench.tui.themes import load_themes, register_themes
from workbench.tui.watcher import EditWatcher, FilesChanged
from workbench.tui.widgets.code_view import CodeView
from workbench.tui.widgets.kernel_picker import KernelPicker
from workbench.tui.widgets.level_column import LevelColumn
from workbench.tui.widgets.level_pane import PANE_MIN_WIDTH, LevelPane
from workbench.tui.widgets.status_line import StatusLine
from workbench.tui import widgets as views   # the results tabs: imported as they mount, after the first frame

DEFAULT_SHOWN = ("python", "ttgir", "ptx")
PICKER_WIDTH = 36             # (app.tcss: KernelPicker)
DEBOUNCE_S = 0.03             # editors save in bursts (write, rename, delete) well within this
SETTLE_S = 0.003              # after a close-after-write or a rename into place: the burst's last events
BENCH = {"warmup_ms": 25.0, "rep_ms": 100.0, "graph": False}
RESULT_TABS = ("outputs", "dumps", "bench", "configs", "history", "profile", "passes", "log")
TAB_FIELDS = {"dumps": "#dump-value", "configs": "#configs-try"}   # a tab's field, focused as it is shown


def bundled_example() -> Path:
    import workbench
    return Path(workbench.__file__).resolve().parent.parent / "examples" / "matmul.py"


def atomic_write(path: Path, data: bytes) -> None:
    """Write beside, then rename over: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def after_rest(handler):
    """A handler that needs the widgets mounted after the first frame: until then, it comes back later."""
    def wrapper(self, msg):
        if not self.rest_ready:
            self.set_timer(0.05, partial(wrapper, self, msg))
            return None
        return handler(self, msg)
    wrapper.__name__, wrapper.__doc__ = handler.__name__, handler.__doc__
    return wrapper


class AppClosing(Exception):
    """The app exited while a runner request was in flight."""


class WorkbenchApp(App):
    """``workbench [SCRIPT]``."""

    CSS_PATH = Path(__file__).resolve().parent / "app.tcss"   # absolute: subclasses elsewhere find it
    TITLE = "triton-workbench"
    COMMANDS = App.COMMANDS | {WorkbenchCommands}

    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),   # (Textual's, listed in ?)
        Binding("1", "show_level('python')", "Python", show=False, id="app.level_python"),
        Binding("2", "show_level('ttir')", "TTIR", show=False, id="app.level_ttir"),
        Binding("3", "show_level('ttgir')", "TTGIR", show=False, id="app.level_ttgir"),
        Binding("4", "show_level('llir')", "LLIR", show=False, id="app.level_llir"),
        Binding("5", "show_level('ptx')", "PTX", show=False, id="app.level_ptx"),
        Binding("6", "show_level('sass')", "SASS", show=False, id="app.level_sass"),
        Binding("greater_than_sign", "cycle_level(1)", "Next level here", show=False, id="app.next_level"),
        Binding("less_than_sign", "cycle_level(-1)", "Previous level here", show=False, id="app.previous_level"),
        Binding("v", "toggle_columns", "2/3 panes", id="app.columns"),
        Binding("ctrl+right", "focus_pane(1)", "Next pane", show=False, id="app.next_pane"),
        Binding("ctrl+left", "focus_pane(-1)", "Previous pane", show=False, id="app.previous_pane"),
        Binding("f", "follow", "Follow mapping", id="app.follow"),
        Binding("number_sign", "toggle_locs", "Hide/show loc()", show=False, id="app.locs"),
        Binding("x", "dump_here", "Dump value", id="app.dump"),
        Binding("w", "watch_here", "Watch value", id="app.watch"),
        Binding("F", "first_divergence", "First divergence", show=False, id="app.diverge"),
        Binding("E", "external_editor", "$EDITOR", id="app.external_editor"),
        Binding("R", "rerun", "Run again", id="app.rerun"),
        Binding("b", "toggle_bench", "Bench on save", id="app.bench"),
        Binding("K", "focus_picker", "Kernels", show=False, id="app.picker"),
        Binding("S", "toggle_sidebar", "Sidebar", show=False, id="app.sidebar"),
        Binding("f2", "open_other", "Open script", id="app.open"),
        Binding("O", "results('outputs')", "Outputs", show=False, id="app.outputs"),
        Binding("D", "dumps_tab", "Dumps", show=False, id="app.dumps"),
        Binding("B", "results('bench')", "Bench", show=False, id="app.bench_tab"),
        Binding("H", "history_tab", "History", show=False, id="app.history"),
        Binding("L", "results('log')", "Log", show=False, id="app.log"),
        Binding("C", "configs_tab", "Configs", show=False, id="app.configs"),
        Binding("P", "profile", "Profile", show=False, id="app.profile"),
        Binding("M", "passes_tab", "Passes", show=False, id="app.passes"),
        Binding("p", "pass_of_line", "Pass that made this line", show=False, id="app.pass_of_line"),
    ]

    def __init__(self, script: str | Path | None = None, script_args: list[str] | None = None,
                 config: Config | None = None, bench: dict | None = None, kernel_timeout: float = 20.0) -> None:
        super().__init__()
        if self.no_color:
            # NO_COLOR means no colour: Textual's default keeps grey shades (a monochrome
            # filter); the marks (bold, reverse, underline, the gutter bar) still show where
            from textual.filter import Monochrome, NoColor
            self._filters = [f for f in self._filters if not isinstance(f, Monochrome)] + [NoColor()]
        self.script = Path(script or bundled_example()).resolve()
        self.script_args = list(script_args or [])
        self.config = config or load_config()
        self.themes = load_themes(self.config.themes_dir)
        register_themes(self, self.themes)
        # the theme set before the first frame: set in on_mount, it restyled every widget again
        self.theme = self.config.theme if self.config.theme in self.available_themes else "dark"
        self.bench_options = dict(bench or BENCH)
        self.tunings: list[dict] = []               # the script's autotune tunings, as the runner has them
        self.config_results: dict[str, dict] = {}   # spec id -> its config's run (the Configs tab)
        self.watch_words = ""                        # what the last save's watched values said
        self._sweep_stop = True                      # False while a sweep of the Configs tab runs
        self.bench_on_save = self.config.bench_on_save
        self.kernel_timeout = kernel_timeout
        self.client = None
        self.opened: dict | None = None
        self.family = NVIDIA   # the open script's target's: how its panes are titled, their files and lexers
        self.kernels: list[dict] = []
        self._profile_view: views.ProfileView | None = None   # mounted with the results, just after the first frame
        self.current: dict | None = None
        self.map = LevelMap()
        self.shown_levels: list[str] = list(DEFAULT_SHOWN)
        self.wanted_panes = 3     # `v` asks for 2 or 3; a narrow terminal may fit fewer
        self.hide_locs = False
        self.set_aside: list[str] = []   # levels that gave way (to `v` or a narrow terminal): back first
        self.sidebar: bool | None = None   # the picker shown (True), hidden (False), or by width (None)
        self._held_keys: list[events.Key] = []   # keys waiting for the one ahead, or for a dialog
        self._held_since = 0.0
        self._key_in_flight: events.Key | None = None
        self._key_timer = None
        self._dialog_waited = None    # a dialog that kept no focus: its keys are not held again
        self.flow: EditFlow | None = None   # the save flow of the kernel shown
        self._loaded: dict[str, tuple[Path, str | None]] = {}  # level -> (file, digest) its pane shows
        self.pending: dict[Path, float] = {}   # changed files not looked at yet -> their first event's time
        self._asked_edits: set[str] = set()  # kernels whose kept edits the user was asked about
        self.runner_writes = 0           # requests in flight that rewrite edit/ (apply, restore)
        self.last_good: dict | None = None
        self.verdict = ("", "")   # the status line's sentence for the last result, and its kind
        self.last_diverge: dict | None = None      # the last first-divergence answer (Dumps tab)
        self.versions: list[dict] = []
        self.watcher = EditWatcher(self.post_message)
        self._debounce = None
        self.timeline: dict[str, float] = {"init": time.perf_counter()}
        self.closing_down = False
        self.hung_up: list[str] | None = None   # the terminal went away: the drafts kept (TerminalGone)
        self.rest_ready = False
        self._early_log: list[tuple[str, str]] = []
        self._client_lock = threading.Lock()
        self._focus_next: str | None = None  # a level focused by a key, until its view has the focus
        self._history_stale = False          # versions changed while the History tab was not shown

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self._title_text(), id="title-bar", markup=False)
        with Horizontal(id="main"):
            yield KernelPicker(id="picker")
            with Vertical(id="work"):
                yield Static("", id="level-bar")
                with Horizontal(id="levels"):
                    for level in DEFAULT_SHOWN:
                        yield LevelColumn(level)
                yield Vertical(id="results-slot")
        yield StatusLine("starting runner…", id="status")

    async def _mount_rest(self) -> None:
        """What the first frame can do without (hidden levels, results, footer), mounted just after
        it: the first screen comes at once."""
        levels = self.query_one("#levels")
        for i, level in enumerate(LEVELS):
            if self.query(f"#col-{level}"):
                continue
            column = LevelColumn(level)
            column.display = False
            after = [lv for lv in LEVELS[i + 1:] if self.query(f"#col-{lv}")]
            await levels.mount(column, before=self.column(after[0]) if after else None)
        tabs = TabbedContent(id="results")
        await self.query_one("#results-slot").mount(tabs)
        for pane in (TabPane("Outputs", views.OutputsView(), id="outputs"),
                     TabPane("Dumps", views.DumpsView(), id="dumps"), TabPane("Bench", views.BenchView(), id="bench"),
                     TabPane("Configs", views.ConfigsView(), id="configs"),
                     TabPane("History", views.HistoryView(), id="history"),
                     TabPane("Profile", views.ProfileView(), id="profile"),
                     TabPane("Passes", views.PassesView(), id="passes"), TabPane("Log", views.LogView(), id="log")):
            if not self.is_running:
                return   # the app is ending before it is all mounted (a quick quit, a test)
            await tabs.add_pane(pane)
        if not self.is_running:
            return
        tabs.active = "outputs"
        self._profile_view = self.query_one(views.ProfileView)   # (asked for its profile at every pane's load)
        await self.mount(Footer())
        self.screen.refresh_bindings()   # (the footer lists keys on a change of them: else blank until a key)
        self.rest_ready = True
        for text, style in self._early_log:
            self.log_view.add(text, style)
        self._early_log.clear()
        self._show_columns()

    def log_line(self, text: str, style: str = "") -> None:
        if self.rest_ready:
            self.log_view.add(text, style)
        else:
            self._early_log.append((text, style))

    def _title_text(self, extra: str = "") -> str:
        return f" {self.script.name}  ·  {self.script.parent}" + (f"  ·  {extra}" if extra else "")

    # -- keys: each goes where the focus is when its turn comes ------------------------------

    KEY_HOLD_S = 1.0      # the longest keys wait for a dialog to focus its field
    KEY_FLIGHT_S = 0.2    # the longest a key waits for the one ahead of it to be handled

    async def _on_message(self, message: Message) -> None:
        if isinstance(message, (RunnerMessage, FilesChanged)) and not self.is_running:
            return   # from a thread, late: the app is shutting down and its widgets are going
        await super()._on_message(message)

    async def on_event(self, event) -> None:
        """Textual routes a key to the widget focused when the key *arrives*, before the keys
        ahead of it have run, and runs its bindings only once it has bubbled back up; so text
        typed right after ``/``, ``e`` or F2 (in one burst, or over a slow link) landed in the
        view or in a dialog not yet mounted, and a ctrl+u typed before text in a field ran after
        it. Here keys go one at a time: each waits for the one ahead of it to be handled (and for
        a dialog still mounting to focus its field); a view's keys, which act through bindings
        only, run their bindings at once."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._key_in_flight is not None or self._held_keys or self._dialog_unfocused():
                self._hold_key(event)
            else:
                await self._route_key(event)
            return
        await super().on_event(event)

    def _dialog_unfocused(self) -> bool:
        """A dialog on screen with no focus yet (it is mounting), unless it is one that kept none."""
        return self.focused is None and isinstance(self.screen, ModalScreen) and \
            self.screen is not self._dialog_waited

    def _dialog_mounting(self) -> bool:
        """A dialog not focused yet, waited for at most KEY_HOLD_S (once: one that never takes
        the focus gets its keys as Textual routes them)."""
        if not self._dialog_unfocused():
            return False
        if time.monotonic() - self._held_since < self.KEY_HOLD_S:
            return True
        self._dialog_waited = self.screen
        return False

    def _hold_key(self, event: events.Key) -> None:
        if not self._held_keys and self._key_in_flight is None:
            self._held_since = time.monotonic()
            self.call_after_refresh(self._release_keys)
        self._held_keys.append(event)

    async def _route_key(self, event: events.Key) -> None:
        if self.screen.maximized is not None and event.key == "escape" and self.escape_to_minimize:
            self.screen.minimize()
            return
        if await self._check_bindings(event.key, priority=True):
            return
        target = self.focused or self.screen
        self._key_in_flight = event
        self._key_timer = self.set_timer(self.KEY_FLIGHT_S, partial(self._key_done, event))
        if isinstance(target, CodeView):
            await self._check_bindings(event.key)
            # the next key waits for what this one's action left queued: a field focused with
            # ``focus()`` (C, D) gets it a message later, and the text typed after C or D in one
            # burst went to the view's bindings (levels switched, a watch added, the field empty)
            self.call_later(self._key_done, event)
            return
        target._forward_event(event)
        target.call_later(self._key_ran, event)   # after the target has handled it

    def _key_ran(self, event: events.Key) -> None:
        """The target handled the key: done, unless it bubbles on to the app's bindings."""
        if event._stop_propagation or not event.bubble:
            self.call_later(self._key_done, event)

    def _on_key(self, event: events.Key) -> None:
        # (Textual calls App._on_key after this one, for the focus chain's bindings: done after it)
        self.call_later(self._key_done, event)

    def _key_done(self, event: events.Key) -> None:
        if self._key_in_flight is not event:
            return
        self._key_in_flight = None
        self._key_timer.stop()
        if self._held_keys:
            self.call_later(self._release_keys)

    async def _release_keys(self) -> None:
        if self._key_in_flight is not None:
            return   # the key ahead is still being handled; its end releases the next
        if self._dialog_mounting():
            self.call_after_refresh(self._release_keys)
            return
        while self._held_keys and self._key_in_flight is None:
            await self._route_key(self._held_keys.pop(0))

    def on_mount(self) -> None:
        self.timeline["mount"] = time.perf_counter()
        gc.disable()   # until the first frame (as `workbench` does from its start: cli.main)
        if self.config.theme not in self.available_themes:
            self.config.problems.append(f"{self.config.path or 'config'}: no theme named {self.config.theme!r} "
                                        f"(known: {', '.join(sorted(self.themes.themes))})")
        if self.config.keys:
            self.set_keymap(self.config.keys)
        for problem in self.config.problems + self.themes.problems:
            self.notify(problem, title="config", severity="warning", timeout=10)
        self._layout_sidebar()
        self._fit_panes()
        self._show_columns()
        self.status.show(f"starting runner… (opening {self.script.name})", busy=True)
        self.query_one(KernelPicker).border_title = self.script.name
        self.query_one("#pane-python", LevelPane).view.focus()
        self.call_after_refresh(self._first_frame)

    def _first_frame(self) -> None:
        self.timeline["first_frame"] = time.perf_counter()
        gc.enable()
        # the runner (a Python process importing torch and triton) starts only now: on a small
        # machine it would take the CPU from the first frame
        self.open_script()
        self.call_later(self._mount_rest)
        from workbench.highlight import warm_lexers
        threading.Thread(target=warm_lexers, daemon=True, name="warm-lexers").start()

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def log_view(self) -> views.LogView:
        return self.query_one(views.LogView)

    def column(self, level: str) -> LevelColumn:
        return self.query_one(f"#col-{level}", LevelColumn)

    def pane(self, level: str) -> LevelPane:
        return self.column(level).pane

    def _show_columns(self) -> None:
        order = [lv for lv in LEVELS if lv in self.shown_levels]
        self.shown_levels = order
        for level in LEVELS:
            for column in self.query(f"#col-{level}"):
                column.display = level in order
                column.retitle(self.family.title(level))
        bar = []
        for i, level in enumerate(LEVELS, 1):
            style = "reverse bold" if level in order else "dim"
            bar.append(f"[@click=app.show_level('{level}')][{style}] {i} {self.family.title(level)} [/][/]")
        self.query_one("#level-bar", Static).update(" ".join(bar) + "   [dim]< > switch · v 2/3 panes · "
                                                    "e edit · f follow · ? help[/]", layout=False)   # (one line)

    # -- runner: open ------------------------------------------------------------------------

    def _client(self):
        with self._client_lock:
            return self._client_locked()

    def _client_locked(self):
        if self.client is None:
            from workbench.runner.client import RunnerClient
            self.client = RunnerClient(kernel_timeout=self.kernel_timeout,
                                       on_log=lambda line: self.post_message(RunnerLog(line)),
                                       on_restart=lambda reason: self.post_message(RunnerRestarted(reason)))
            self.client.start()
        return self.client

    def call(self, method: str, sent=None, **params):
        """``client.call`` from a worker thread, given up (:class:`AppClosing`) when the app exits:
        the blocking call runs on a daemon thread, so a busy runner never holds the exit.
        ``sent``: the request as :meth:`send_now` sent it already; only its answer is waited for."""
        client = self._client()
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
            if self.closing_down:
                raise AppClosing(method)
        if "error" in box:
            raise box["error"]
        return box["result"]

    def send_now(self, method: str, **params):
        """A request sent from the event loop before a worker waits for its answer (see
        ``RunnerClient.send_now``), or None: the worker then sends it with :meth:`call`."""
        client = self.client
        return client.send_now(method, **params) if client is not None else None

    def _on_event(self, msg: dict) -> None:
        """Runner progress (a client thread): one status-line sentence."""
        what, info = msg.get("what"), msg.get("info", {})
        kernel = info.get("kernel", "")
        version = info.get("version")
        label = f"{kernel} {version_label(version)}" if version else kernel
        if what == "script":
            text = f"running {Path(info.get('script', '')).name} ({info.get('mode', '')})…"
        elif what == "compile":
            level = info.get("level")
            text = f"compiling {kernel}" + (f" from {self.family.title(level)}" if level else "") + "…"
        elif what == "launch":
            text = f"launching {label}, verifying against the original…"
        elif what == "bench":
            text = f"timing {label}…"
        else:
            text = f"{what} {label}…"
        self.post_message(Progress(text))

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def open_script(self) -> None:
        from workbench.runner.protocol import RunnerError
        try:
            self._client()
            self.post_message(Progress("starting runner… (it imports torch and triton)"))
            self.post_message(Hello(self.call("hello", timeout=300)))
            opened = self.call("open", script=str(self.script), argv=self.script_args,
                                 target=self.config.target or None, snapshot_limit=self.config.snapshot_limit_mb << 20,
                                 script_timeout=self.config.script_timeout, limit_name="script_timeout in the config",
                                 on_event=self._on_event)
        except RunnerError as e:
            self.post_message(OpenFailed(e.message, e.lines()))
            return
        except Exception as e:  # noqa: BLE001 - shown to the user, the app stays up
            self.post_message(OpenFailed(f"{type(e).__name__}: {e}", []))
            return
        self.post_message(Opened(opened))

    def on_progress(self, msg: Progress) -> None:
        self.status.show(msg.text, busy=True)

    def on_runner_log(self, msg: RunnerLog) -> None:
        self.log_line(msg.line, msg.style)

    @after_rest
    def on_runner_restarted(self, msg: RunnerRestarted) -> None:
        self.log_line(f"runner restarted: {msg.reason}", "bold red")
        self.notify(msg.reason, title="runner restarted", severity="error", timeout=10)

    def on_hello(self, msg: Hello) -> None:
        info = msg.info
        gpu = info.get("gpu") or "no GPU (Python level runs in Triton's interpreter)"
        self.query_one("#title-bar", Static).update(self._title_text(f"triton {info.get('triton')} · {gpu}"))
        self.log_line(f"runner pid {info.get('pid')}, python {info.get('python')}, triton {info.get('triton')}, "
                          f"gpu {info.get('gpu')}")

    @after_rest
    def on_open_failed(self, msg: OpenFailed) -> None:
        self._clear_screen(f"could not open {self.script.name}")
        self.status.show(f"could not open {self.script.name}: {msg.text}", kind="error")
        for line in msg.lines or [msg.text]:
            self.log_line(line, "red")
        self.notify(msg.text, title=f"could not open {self.script.name}", severity="error", timeout=15)

    @after_rest
    def on_opened(self, msg: Opened) -> None:
        self.timeline["opened"] = time.perf_counter()
        self.opened = data = msg.data
        self.family = family_of(data.get("target"))  # hip:*: the PTX pane holds AMDGCN
        self._show_columns()  # the level bar, in the target's names
        self.kernels = data.get("kernels", [])
        self.tunings, self.config_results = list(data.get("tunings", [])), {}
        mode = data.get("mode", "")
        self.query_one("#title-bar", Static).update(self._title_text(
            f"{mode} · target {data.get('target')}" + ("" if data.get("gpu") else " · no GPU: IR levels compile only")))
        self.query_one(KernelPicker).show_kernels(self.script.name, self.kernels)
        self.query_one(views.BenchView).set_note("" if self.gpu else NO_GPU_TIMING)
        if data.get("script_error"):
            d = data["script_error"]
            text = diagnostic_line(dict(d, file=Path(str(d.get("file"))).name))
            self.notify(text, title="the script raised", severity="warning", timeout=10)
            self.log_line(text, "red")
        for note in data.get("notes", []):
            self.log_line(f"note: {note}")
        for entry in self.kernels:
            if "error" in entry:
                self.log_line(f"{kernel_label(entry)}: {entry['error'].get('message')}", "red")
        good = [i for i, e in enumerate(self.kernels) if "error" not in e]
        if not good:
            self._clear_screen(f"no kernel of {self.script.name} compiled")
            self.query_one(KernelPicker).show_kernels(self.script.name, self.kernels)
            self.status.show("no kernel compiled: see the Log tab", kind="error")
            return
        self.load_kernel(good[0])

    def _clear_screen(self, why: str) -> None:
        """Nothing of a previous script stays on screen (a failed open shows no mix of two)."""
        self.kernels, self.current, self.flow, self.last_good = [], None, None, None
        self.watcher.stop()
        self.pending.clear()
        self._loaded.clear()
        self.query_one("#title-bar", Static).update(self._title_text(why))
        self.query_one(KernelPicker).show_kernels(self.script.name, [])
        for level in LEVELS:
            column = self.column(level)
            column.path = None
            column.show_error(None)
            column.pane.load(f"({why}: see the status line and the Log tab)", level, missing=why)
            column.set_title()
        self.query_one(views.OutputsView).clear()
        self.query_one("#history-table").clear()
        self.query_one(views.BenchView).results.clear()

    # -- kernels and levels ------------------------------------------------------------------

    def on_kernel_picker_picked(self, msg: KernelPicker.Picked) -> None:
        self.switch_kernel(msg.index)

    def switch_kernel(self, index: int) -> None:
        """Kernel ``index`` on screen (asking first where a pane holds a draft)."""
        entry = self.kernels[index] if 0 <= index < len(self.kernels) else None
        if entry is None or "error" in entry:
            self.notify("this specialization did not compile: see the Log tab", severity="warning")
            return
        if entry is not self.current:
            self.unless_drafts(f"switch to {entry['spec']['kernel']}", partial(self.load_kernel, index),
                               on_keep=self._highlight_current)

    def _highlight_current(self) -> None:
        picker = self.query_one(KernelPicker)
        if self.current in self.kernels:
            picker.highlighted = self.kernels.index(self.current)

    def load_kernel(self, index: int) -> None:
        entry = self.kernels[index]
        self._discard_drafts()   # (the kernel shown until now's: asked about before)
        self.current = entry
        self.flow = EditFlow(Path(entry["edit"]), Path(entry["folder"]) / "original", entry["spec"]["kernel"],
                             entry.get("versions", []), family=self.family)
        self.query_one(KernelPicker).select_kernel(index)
        self.map = LevelMap.from_json(entry.get("srcmap"))
        self.last_good = None
        self.flow.shown_again()   # what edit/ holds is what runs: the panes show it
        self._results_of_new_kernel()
        self.load_levels()
        for level in LEVELS:
            self.column(level).show_error(None)
        self._restore_kept_drafts()
        self.call_after_refresh(self._panes_at_start, entry)
        self.versions = entry.get("versions", [])
        self._show_history()
        try:
            self.watcher.watch(self.edit_dir)
        except Exception as e:  # noqa: BLE001 - no inotify: saves from the app still work
            self.log_line(f"not watching {self.edit_dir}: {e}", "red")
        self.run_version(self.last_version)
        self.load_watches(self.spec_id)
        self._show_passes(only_in_sight=True)
        self._ask_about_kept_edits()

    def _results_of_new_kernel(self) -> None:
        """Another kernel on screen: every results tab shows its state or its empty state, never
        the previous kernel's (History and Passes are drawn for it as they come in sight)."""
        for view in (views.OutputsView, views.BenchView, views.DumpsView, views.ProfileView):
            self.query_one(view).clear()
        self.last_diverge = None
        if self.query_one("#results", TabbedContent).active == "configs":
            self._show_configs()
        else:
            self.query_one(views.ConfigsView).show(None)

    def _ask_about_kept_edits(self) -> None:
        """A workspace opened again may hold edits: say so, and offer to keep or reset them."""
        from workbench.tui.screens.choice_screen import ChoiceScreen
        edited = self.flow.edited_levels()
        if not edited or self.spec_id in self._asked_edits:
            return
        self._asked_edits.add(self.spec_id)
        listed = ", ".join(f"{self.family.title(lv)}: {note}" for lv, note in edited.items())
        self.log_line(f"{self.edit_dir} holds edits ({listed})")
        spec_id = self.spec_id

        def chosen(choice: str | None) -> None:
            if self.current is None or self.spec_id != spec_id:
                return
            if choice == "reset":
                self.restore("original")
            else:
                self._after_runner_write()   # a save not compiled yet compiles now
        self.push_screen(ChoiceScreen(f"{self.kernel_name}: edit/ holds edits, not the original ({listed}); "
                                      f"{version_label(self.last_version)} is what runs.",
                                      [("keep", "Keep the edits"),
                                       ("reset", "Reset edit/ to the original (every version stays in History)")]),
                         chosen)

    def _panes_at_start(self, entry: dict) -> None:
        """A kernel just loaded: every pane at its top, the Python pane at the kernel's ``def``
        (after a refresh: a pane scrolls only once it has its size)."""
        for level in LEVELS:
            view = self.pane(level).view
            line = int(entry["spec"].get("line") or 1) if level == "python" else 1
            view.show_from_top(line)

    @property
    def last_version(self) -> str:
        """The version whose result is the current one (what R runs, the watches dump, the status
        line and Outputs are about): the edit flow's, which alone keeps it."""
        return self.flow.current if self.flow is not None else "original"

    @property
    def edit_dir(self) -> Path:
        return Path(self.current["edit"])

    @property
    def kernel_name(self) -> str:
        return self.current["spec"]["kernel"]

    @property
    def spec_id(self) -> str:
        return self.current["spec"]["spec_id"]

    def level_path(self, level: str) -> Path:
        return self.edit_dir / f"{self.kernel_name}{self.family.suffix(level)}"

    def load_levels(self, levels=LEVELS) -> None:
        """Levels from edit/ into their panes, each titled with what it shows; a draft typed in
        a pane stays; a missing file shows why, and is not editable."""
        for level in levels:
            path = self.level_path(level)
            col = self.column(level)
            col.path = path
            try:
                data = path.read_bytes()
            except OSError as e:
                data, d, missing = None, None, f"no {self.family.title(level)} file ({path.name}: {e.strerror or e})"
            else:
                d, missing = digest(data), None
            if self._loaded.get(level) != (path, d):   # else the pane shows this very file already
                self._loaded[level] = (path, d)
                text = data.decode("utf-8", errors="replace") if data is not None else f"({missing})"
                col.pane.load(text, level, missing, lexer=self.family.lexer(level))
            self._title(level)
        self._remap()

    def _title(self, level: str) -> None:
        """A pane's title says what it shows: original, edited (vN), a draft, a save compiling."""
        column = self.column(level)
        if self.flow is None:
            column.set_title()
            return
        if column.pane.draft_text() is not None:
            self.flow.drafts[level] = column.pane.draft_text()
        else:
            self.flow.drafts.pop(level, None)
        column.set_title(self.flow.note(level, self._loaded.get(level, (None, None))[1]))
        self._heat(level)

    def _heat(self, level: str) -> None:
        """The pane's heat column: its text's version's profile, if that version was profiled."""
        result = self._profile_view.result if self._profile_view is not None else None
        who = self.flow.provenance(level, self._loaded.get(level, (None, None))[1]) if self.flow and result else None
        self.column(level).pane.view.set_heat(views.heat_for(result, who, level))

    def on_profile_view_done(self, msg: views.ProfileView.Done) -> None:
        for level in LEVELS:
            self._heat(level)

    def _remap(self) -> None:
        focused = self.focused
        if isinstance(focused, CodeView) and focused.level in LEVELS:
            self._highlight_related(focused.level, focused.cursor_line)

    def on_code_view_cursor_moved(self, event: CodeView.CursorMoved) -> None:
        if event.code_view.level in LEVELS:
            self._highlight_related(event.code_view.level, event.line)

    def _highlight_related(self, level: str, line: int) -> None:
        self._highlight_lines(self.map.related(level, line))
        if self.rest_ready:
            self.query_one(views.PassesView).highlight_sources(self.map.sources(level, line))

    def _highlight_lines(self, related: dict[str, list[int]]) -> None:
        for other in LEVELS:
            col = self.column(other)
            if col.error is None:
                col.pane.view.highlight_lines(related.get(other, []))

    def on_code_view_jumped(self, event: CodeView.Jumped) -> None:
        if not event.found or event.what in ("find", "copy"):
            self.status.show(event.detail)

    def action_toggle_locs(self) -> None:
        """``loc(...)`` annotations and ``#loc`` lines of TTIR/TTGIR, hidden or shown (display only:
        the mapping between levels still reads them)."""
        self.hide_locs = not self.hide_locs
        for level in LEVELS:
            self.pane(level).view.set_hide_locs(self.hide_locs)
        self.status.show(f"loc(...) annotations {'hidden' if self.hide_locs else 'shown'} (key #)")

    def focused_level(self) -> str:
        if self._focus_next is not None:
            return self._focus_next
        node = self.focused
        while node is not None:
            if isinstance(node, LevelColumn):
                return node.level
            node = node.parent
        return self.shown_levels[0]

    def _mapped_here(self) -> dict[str, list[int]]:
        """Every level's lines mapped from the focused pane's cursor line."""
        here = self.focused_level()
        return self.map.related(here, self.pane(here).view.cursor_line)

    def _switch_slot(self, slot: str, level: str) -> None:
        """``level`` shown in ``slot``'s place and focused, at its line mapped from the cursor's."""
        related = self._mapped_here()
        self.shown_levels[self.shown_levels.index(slot)] = level
        self._show_columns()
        self._focus_level(level)
        if related.get(level):
            place(self.pane(level).view, related[level][0], cursor=True)

    def action_show_level(self, level: str) -> None:
        if level in self.shown_levels:
            self._focus_level(level)
            return
        here = self.focused_level()
        self._switch_slot(here if here in self.shown_levels else self.shown_levels[-1], level)

    def action_cycle_level(self, step: int) -> None:
        here = self.focused_level()
        i = LEVELS.index(here)
        for k in range(1, len(LEVELS)):
            candidate = LEVELS[(i + step * k) % len(LEVELS)]
            if candidate not in self.shown_levels:
                self._switch_slot(here, candidate)
                return

    def action_toggle_columns(self) -> None:
        fits = self._panes_that_fit()
        if fits < 3:   # the width decides, not `v`: say so rather than squeeze panes in
            self.notify(f"{self.size.width} columns fit {fits} pane{'s' if fits > 1 else ''} of {PANE_MIN_WIDTH} "
                        f"or more{' (S hides the sidebar)' if self.query_one(KernelPicker).display else ''}",
                        timeout=3)
            return
        self.wanted_panes = 2 if self.wanted_panes >= 3 else 3
        self._fit_panes()

    def _panes_that_fit(self, width: int | None = None) -> int:
        picker = self.query_one(KernelPicker)
        room = (width or self.size.width) - (PICKER_WIDTH if picker.display else 0)
        return max(1, room // PANE_MIN_WIDTH)

    def _fit_panes(self, width: int | None = None) -> None:
        """As many panes as asked for (``v``) and as the width fits, the focused level kept; the
        levels that gave way come back first when there is room again."""
        target = min(self.wanted_panes, self._panes_that_fit(width))
        shown, here = self.shown_levels, self.focused_level()
        if len(shown) == target:
            return
        while len(shown) > target:
            drop = next(lv for lv in reversed(shown) if lv != here)
            shown.remove(drop)
            self.set_aside.append(drop)
        while len(shown) < target:
            back = [lv for lv in reversed(self.set_aside)] + list(DEFAULT_SHOWN + LEVELS)
            level = next(lv for lv in back if lv not in shown)
            shown.append(level)
            if level in self.set_aside:
                self.set_aside.remove(level)
        self._show_columns()

    def action_focus_pane(self, step: int) -> None:
        here = self.focused_level()
        i = self.shown_levels.index(here) if here in self.shown_levels else 0
        self._focus_level(self.shown_levels[(i + step) % len(self.shown_levels)])

    def _focus_level(self, level: str) -> None:
        """Focus a level's view now, so that the next key (pressed before the next frame) goes
        to it and moves on from it (``focus()`` would land a frame later). A view just shown
        may not take the focus yet: until it does, the level counts as the focused one."""
        view = self.pane(level).view
        self.screen.set_focus(view)
        if self.focused is view:
            self._focus_next = None
            return
        self._focus_next = level

        def land() -> None:
            if self._focus_next == level:
                self._focus_next = None
                self.screen.set_focus(view)
        self.call_after_refresh(land)

    def action_follow(self) -> None:
        """``f``: the focus to the next shown pane at its line mapped from the cursor's, every other
        shown pane scrolled to its own; with one pane shown (a narrow terminal), the next level."""
        here = self.focused_level()
        related, views_shown = self._mapped_here(), {lv: self.pane(lv).view for lv in self.shown_levels}
        if len(self.shown_levels) == 1:
            level = LEVELS[(LEVELS.index(here) + 1) % len(LEVELS)]
            self.action_show_level(level)
            said = f"f: {lines_said(level, related.get(level, []), self.family)} " \
                   f"(from {self.family.title(here)} line {views_shown[here].cursor_line})"
        else:
            level, said = follow(self.shown_levels, here, related, views_shown, self.family)
            self._focus_level(level)
        self.status.show(said)

    def action_open_other(self) -> None:
        from workbench.tui.screens.open_screen import OpenScriptScreen
        self.unless_drafts("open another script", lambda: self.push_screen(
            OpenScriptScreen(self.script, bundled_example().parent), self.switch_script))

    def switch_script(self, script: Path | None) -> None:
        """Open another script in the same runner (it re-captures; the old workspace stays on
        disk). Until it is open the previous one stays on screen; if it fails, the screen is cleared."""
        if script is None:
            return
        opening = any(w.group == "open" and not w.is_finished for w in self.workers)
        if Path(script).resolve() == self.script and (self.current is not None or opening):
            return   # open and shown, or being opened (one that failed is opened again)
        self.script = Path(script).resolve()
        self.opened, self.last_good = None, None
        self._discard_drafts()
        self.query_one("#title-bar", Static).update(self._title_text(f"opening {self.script.name}…"))
        self.status.show(f"opening {self.script.name}…", busy=True)
        self.log_line(f"opening {self.script}")
        self.open_script()

    # -- drafts ------------------------------------------------------------------------------

    def on_level_pane_draft_changed(self, msg: LevelPane.DraftChanged) -> None:
        self._title(msg.level)
        if msg.text is None:
            self._forget_kept_draft(msg.level)   # saved or discarded: no longer kept for a next session
        else:
            self.notify(f"{self.family.title(msg.level)}: your text is kept as a draft: e goes on editing, "
                        f"ctrl+s saves it, u discards it")

    def on_text_area_changed(self, event) -> None:
        pane = next((a for a in event.text_area.ancestors if isinstance(a, LevelPane)), None)
        if pane is not None and self.flow is not None:
            self._title(pane.view.level)

    def on_terminal_gone(self, _msg: TerminalGone) -> None:
        """Keep every draft in the kernel's folder (drafts/, beside edit/), then end: nobody is
        left to ask, and a process left behind would hold the workspace and a CPU."""
        kept = []
        if self.current is not None:
            for level in self.drafts():
                target = self._kept_draft_path(level)
                try:
                    target.parent.mkdir(exist_ok=True)
                    atomic_write(target, self.pane(level).draft_text().encode())
                    kept.append(str(target))
                except OSError:
                    pass
        self.hung_up = kept
        self.exit(return_code=129)

    def _kept_draft_path(self, level: str) -> Path:
        """Where a level's draft is kept when the terminal goes away (the kernel's drafts/)."""
        return Path(self.current["folder"]) / "drafts" / self.level_path(level).name

    def _restore_kept_drafts(self) -> None:
        """Drafts kept by a session whose terminal went away come back into their panes, as
        drafts (titled so, e goes on, ctrl+s saves, u discards); the file goes once one of those is done."""
        back = []
        for level in (lv for lv in LEVELS if lv in EDITABLE):
            path = self._kept_draft_path(level)
            try:
                text = path.read_bytes().decode("utf-8", errors="replace")
            except OSError:
                continue
            pane = self.pane(level)
            if text == pane.view.text or pane.missing:
                path.unlink(missing_ok=True)   # saved meanwhile (or nothing to be a draft of): nothing kept
                continue
            pane.hold_draft(text)
            self._title(level)
            back.append(self.family.title(level))
        if back:
            names = ", ".join(back)
            self.log_line(f"drafts kept when the last session's terminal went away are back: {names}")
            self.notify(f"{names}: your draft from the last session (its terminal went away) is back: e goes on "
                        f"editing, ctrl+s saves it, u discards it", title="drafts back", timeout=15)

    def _forget_kept_draft(self, level: str) -> None:
        if self.current is not None and level in EDITABLE:
            self._kept_draft_path(level).unlink(missing_ok=True)

    def drafts(self) -> list[str]:
        """The levels holding text typed and not saved."""
        if not self.rest_ready:
            return []
        return [lv for lv in LEVELS if self.pane(lv).draft_text() is not None]

    def _discard_drafts(self) -> None:
        for level in LEVELS:
            for column in self.query(f"#col-{level}"):
                pane = column.pane
                if pane.draft_text() is not None or pane.has_draft:
                    pane.has_draft = False
                    pane.editor.load_text(pane.view.text)
                    pane.stop_editing()
                    self._forget_kept_draft(level)

    def unless_drafts(self, what: str, then, on_keep=None) -> None:
        """Do ``then``, asking first if a pane holds a draft (it would be lost)."""
        from workbench.tui.screens.choice_screen import ChoiceScreen
        drafts = self.drafts()
        if not drafts:
            then()
            return
        for level in drafts:
            self._title(level)     # the flow's drafts, from the panes
        names = self.flow.drafts_sentence() if self.flow else ", ".join(self.family.title(lv) for lv in drafts)

        def chosen(choice: str | None) -> None:
            if choice == "discard":
                self._discard_drafts()
                then()
            elif on_keep is not None:
                on_keep()
        self.push_screen(ChoiceScreen(f"Unsaved text (a draft) in {names}: {what} and lose it?",
                                      [("keep", "Keep editing (ctrl+s in a pane saves its draft)"),
                                       ("discard", f"Discard the draft and {what}")]), chosen)

    def action_quit(self) -> None:
        self.unless_drafts("quit", self.exit)

    def action_focus_picker(self) -> None:
        self.sidebar = True if not self.query_one(KernelPicker).display else self.sidebar
        self._layout_sidebar()
        self.query_one(KernelPicker).focus()

    # -- small terminals: the sidebar gives way --------------------------------------------

    SIDEBAR_MIN_WIDTH = 120    # below this the picker hides (three panes of 13 columns help nobody)

    def on_resize(self, event) -> None:
        self._layout_sidebar(event.size.width)
        self._fit_panes(event.size.width)

    def _layout_sidebar(self, width: int | None = None) -> None:
        """The picker shows as the user said (``S``), or, until they say, when the terminal is wide."""
        show = self.sidebar if self.sidebar is not None else (width or self.size.width) >= self.SIDEBAR_MIN_WIDTH
        picker = self.query_one(KernelPicker)
        if picker.display != show:
            if not show and picker.has_focus:
                self.pane(self.shown_levels[0]).view.focus()
            picker.display = show

    def action_toggle_sidebar(self) -> None:
        self.sidebar = not self.query_one(KernelPicker).display
        self._layout_sidebar()
        self._fit_panes()
        self.notify(f"sidebar {'shown' if self.sidebar else 'hidden'} (key S)", timeout=2)

    def action_results(self, tab: str, field: bool = False) -> None:
        """A results tab; ``field``: its field (Dumps, Configs) focused, ready to type into (the tab's
        key does that; a tab shown by another action, x, w or F, leaves the focus in the code)."""
        tabs = self.query_one(TabbedContent)
        if self.focused is not None and tabs in self.focused.ancestors:
            # focus left in the tab going away would bring it back (TabbedContent follows focus)
            self.pane(self.shown_levels[0]).view.focus()
        tabs.active = tab
        if field and tab in TAB_FIELDS:
            self.query_one(TAB_FIELDS[tab]).focus()

    def action_history_tab(self) -> None:
        """The History tab with its table focused: r, o and m work at once."""
        self.action_results("history")
        self.query_one("#history-table").focus()

    def action_dumps_tab(self) -> None:
        """The Dumps tab, ready to type a value's name into."""
        self.action_results("dumps", field=True)

    def action_help(self) -> None:
        classes = [("app", type(self)), ("level", LevelPane), ("view", CodeView), ("history", views.HistoryView),
                   ("dumps", views.DumpsView), ("passes", views.PassesView)]
        from workbench.tui.screens.help_screen import HelpScreen, binding_rows
        self.push_screen(HelpScreen(binding_rows(classes, self.config.keys)))

    def action_toggle_bench(self) -> None:
        self.bench_on_save = not self.bench_on_save
        self.notify(f"bench on save: {'on' if self.bench_on_save else 'off'}"
                    + ("" if self.gpu or self.opened is None else f" ({NO_GPU_TIMING})"))

    # -- runs --------------------------------------------------------------------------------

    @property
    def gpu(self) -> bool:
        return bool(self.opened and self.opened.get("gpu"))

    def _bench(self) -> dict | None:
        """Timing options for a run or an apply: none. The verdict comes first; the timing follows
        in a request of its own (:meth:`time_version`), with a GPU only
        (:data:`workbench.model.diagnostics.NO_GPU_TIMING`)."""
        return None

    def _time_after(self, result: dict) -> None:
        """A verdict on screen: time that version now, when bench on save is on and there is a GPU."""
        if (self.bench_on_save and self.gpu and not result.get("timing")
                and result.get("status") in ("ok", "mismatch")):
            self.time_version(str(result.get("version", "original")))

    @work(thread=True, exclusive=True, group="bench", exit_on_error=False)
    def time_version(self, version: str) -> None:
        spec_id = self.spec_id
        try:
            result = self.call("run", kernel=spec_id, version=version, bench=dict(self.bench_options),
                               on_event=self._on_timing_event)
        except Exception as e:  # noqa: BLE001 - a timing that failed is said, the verdict stays
            self.post_message(Timed({"spec_id": spec_id, "version": version}, f"{type(e).__name__}: {e}"))
            return
        self.post_message(Timed(result))

    def _on_timing_event(self, msg: dict) -> None:
        """A timing run's progress (a client thread): its launch re-checks the outputs, but the verdict
        is on screen already, so the status line keeps it and adds that the timing runs."""
        if msg.get("what") == "bench":
            self.post_message(Timing(str(msg.get("info", {}).get("version"))))

    def on_timing(self, msg: Timing) -> None:
        verdict, kind = self.verdict
        if msg.version == self.last_version and self.status.message == verdict:   # nothing said since
            self.status.show(f"{verdict} · timing…", busy=True, kind=kind)

    @after_rest
    def on_timed(self, msg: Timed) -> None:
        result = msg.result
        if self.current is None or result.get("spec_id") != self.spec_id:
            return   # another kernel is on screen now
        if msg.error is not None:
            self.log_line(f"timing {version_label(result.get('version'))} failed: {msg.error}", "red")
            verdict, kind = self.verdict
            if self.status.message == f"{verdict} · timing…":   # the verdict stays; the spinner stops
                self.status.show(f"{verdict} · its timing failed (see the Log tab)", kind=kind)
            return
        self.query_one(views.BenchView).add_result(result)
        if str(result.get("version")) == self.last_version:
            said, kind = self.verdict
            self.verdict = (result_summary(result) + self.watch_words,
                            "ok" if result.get("status") == "ok" else "error")
            if self.status.message in (said, f"{said} · timing…"):   # what was said since (profiling…) stays
                self.status.show(self.verdict[0], kind=self.verdict[1])

    @work(thread=True, exclusive=True, group="run", exit_on_error=False)
    def run_version(self, version: str) -> None:
        spec_id, started = self.spec_id, time.perf_counter()
        try:
            result = self.call("run", kernel=spec_id, version=version, bench=self._bench(),
                               on_event=self._on_event)
        except Exception as e:  # noqa: BLE001 - a RunnerError, a crash or our bug: all shown by RunFailed
            self.post_message(RunFailed(e))
            return
        self.post_message(RunDone(result, None, started=started))

    def action_rerun(self) -> None:
        if self.current is not None:
            self.run_version(self.last_version)

    @after_rest
    def on_level_pane_save(self, event: LevelPane.Save) -> None:
        """ctrl+s in a pane: write the file into edit/, then compile from it (a failed write
        leaves the text in the editor)."""
        level, text = event.level, event.text
        if self.current is None:
            self.notify("the script is not open yet: your text stays in the editor", severity="warning")
            return
        if level not in EDITABLE:
            self.notify(f"{self.family.title(level)} is view-only: edit PTX or a level above", severity="warning")
            return
        path = self.level_path(level)
        data = text.encode("utf-8")
        try:
            atomic_write(path, data)
        except OSError as e:
            self.notify(f"could not save {path}: {e.strerror or e}; your text stays in the editor",
                        severity="error", timeout=15)
            return
        d = digest(data)
        self._loaded[level] = (path, d)
        event.pane.view.load(text, level, self.family.lexer(level))
        event.pane.saved()
        self._forget_kept_draft(level)
        self._decide(level, d)

    def _decide(self, level: str, d: str, outside: bool = False) -> None:
        """A level's file holds new content: compile it, or (the same text as a version) no new
        version; while the runner rewrites edit/, it waits for that to end."""
        path = self.level_path(level)
        if self.runner_writes and self.flow.running is None:   # a restore is rewriting edit/
            self.pending.setdefault(path, time.perf_counter())
            self.notify(f"{path.name} saved: it is taken up once the restore ends")
            return
        decision = self.flow.saved(level, d)
        if decision.action == "compile":
            if outside:
                self.log_line(f"saved outside the app: {path.name}")
            self.start_apply(decision)
        elif decision.action == "restore":
            self.log_line(decision.sentence(self.family))
            self.notify(decision.sentence(self.family))
            self.restore(decision.version)
        elif not outside or self.column(level).error is not None:
            self.column(level).show_error(None)    # an error under the pane was for another text
            self.status.show(decision.sentence(self.family))
        self._title(level)

    def start_apply(self, decision: Decision) -> None:
        apply = decision.apply
        self.runner_writes += 1
        self.timeline["save"] = time.perf_counter()
        self.timeline["seen"] = self.timeline.pop("burst", self.timeline["save"])  # the outside save's first event
        for level in LEVELS:   # an error under a pane is for an older text now
            self.column(level).show_error(None)
        self.status.show(f"compiling {self.kernel_name} from {self.family.title(apply.level)}…", busy=True)
        self._title(apply.level)
        params = dict(kernel=self.spec_id, path=str(apply.path), bench=self._bench(), on_event=self._on_event)
        started = time.perf_counter()
        # sent from here, and its answer posted by the client's reader thread: a worker thread's
        # start and wake each wait for the loop to hand over the GIL, and the runner and the
        # result would wait with them (10-30 ms of a save's round trip, measured in bench_app)
        sent = self.send_now("apply", on_answer=lambda p: self._applied(p, apply.path, apply.level, started),
                             **params)
        self.apply_file(apply.path, apply.level, started, params, sent)

    def _applied(self, sent, path: Path, level: str, started: float) -> None:
        """An apply's answer, in the client's reader thread: a result goes to the app at once
        (an error is the waiting worker's, which asks for the versions too)."""
        response = sent.response or {}
        if "result" in response and sent.claim():
            result = response["result"]
            self.timeline["received"] = sent.received
            self.post_message(RunDone(result, result.get("versions"), path, level, started))

    @work(thread=True, group="apply", exit_on_error=False)
    def apply_file(self, path: Path, level: str, started: float, params: dict, sent=None) -> None:
        spec_id = params["kernel"]
        try:
            result = self.call("apply", sent=sent, **params)
        except Exception as e:  # noqa: BLE001 - RunnerError with diagnostics, a crash, or our bug: all shown
            try:  # after a crash too: the version it made before the runner died is in the list
                versions = self.call("versions", kernel=spec_id, timeout=60)
            except Exception:  # noqa: BLE001
                versions = None
            self.post_message(RunFailed(e, path, level, versions))
            return
        if sent is not None and not sent.claim():
            return   # the reader thread posted it (_applied)
        versions = result.get("versions")  # apply answers with the version list: no second request
        self.post_message(RunDone(result, versions, path, level, started))

    @after_rest
    def on_run_done(self, msg: RunDone) -> None:
        result = msg.result
        if self._stale_apply(msg.path):
            return
        if msg.path is not None:
            self.runner_writes = max(self.runner_writes - 1, 0)
            self.flow.finished(msg.versions, failed=False)
            new_map = LevelMap.from_json(result.get("srcmap"))
            self.map = self.map.merged(new_map)
        self.last_good = result
        if self.flow is not None and result.get("spec_id") in (None, self.spec_id):
            self.flow.current = str(result.get("version", "original"))
        self.query_one(views.OutputsView).show_result(result)
        self.query_one(views.BenchView).add_result(result)
        self.query_one(KernelPicker).show_version(self.last_version, result.get("compile"),
                                                  STATUS_WORDS.get(result.get("status"), ""))
        if msg.versions is not None:
            self.versions = msg.versions
            self._show_history()
            self._show_passes(only_in_sight=True)
        status = result.get("status")
        kind = "ok" if status == "ok" else "error" if status in ("mismatch", "error") else ""
        self.watch_words = self._show_watches(result)   # said again when the version's timing comes
        if msg.path is None:
            self._watches_follow()
        self.verdict = (result_summary(result) + self.watch_words, kind)
        self.status.show(self.verdict[0], kind=kind)
        self.log_line(result_summary(result), "green" if status == "ok" else "yellow")
        self.timeline["result"] = time.perf_counter()
        self.timeline["answer"] = msg.answered
        if msg.path is not None:
            self.timeline["apply_compile_ms"] = float(result.get("compile_ms") or 0.0)
            self._after_runner_write(older=result_summary(result))
        self.call_after_refresh(self._result_on_screen, result)

    def _result_on_screen(self, result: dict) -> None:
        self.timeline["result_on_screen"] = time.perf_counter()
        if result.get("spec_id") in (None, self.spec_id):   # (not another kernel's, opened meanwhile)
            self._time_after(result)   # once the verdict is drawn: the timing's request does not delay it

    @after_rest
    def on_run_failed(self, msg: RunFailed) -> None:
        from workbench.runner.protocol import RunnerError
        if self._stale_apply(msg.path):
            return
        e = msg.error
        crash = isinstance(e, RunnerError) and e.kind == "crash"
        made = None
        if msg.path is not None:
            self.runner_writes = max(self.runner_writes - 1, 0)
            made = self.flow.finished(msg.versions, failed=not crash)
        if msg.versions is not None:
            self.versions = msg.versions
            self._show_history()
        kept = (f"; the last good result stays ({version_label(self.last_good['version'])})"
                if self.last_good else "")
        if crash:
            what = (f"{self.kernel_name} {version_label(made)} (from {self.family.title(msg.level)}) compiled, "
                    f"its run was stopped: " if made else "")
            self.status.show(f"{what}{e.message}{kept}", kind="error")
            self.log_line(f"crash: {what}{e.message}", "bold red")
        elif isinstance(e, RunnerError):
            for line in e.lines():
                self.log_line(line, "red")
            shown = self._show_diagnostics(e.diagnostics, msg.level, msg.path)
            if shown:
                level, d = shown
                self.status.show(f"compile error in {self.family.title(level)} at line {d.get('line')}: "
                                 f"{d.get('message', '')}{kept}", kind="error")
            else:
                self.status.show(f"error: {e.message}{kept}", kind="error")
        else:
            self.log_line(f"{type(e).__name__}: {e}", "red")
            self.status.show(f"error: {type(e).__name__}: {e}{kept}", kind="error")
        self.timeline["error_on_screen"] = time.perf_counter()
        if msg.path is not None:
            self._after_runner_write()

    def _stale_apply(self, path: Path | None) -> bool:
        """An apply's answer for a kernel no longer shown (another was opened meanwhile): not shown."""
        if path is None or (self.flow is not None and path.parent == self.flow.edit_dir):
            return False
        self.runner_writes = max(self.runner_writes - 1, 0)
        self.log_line(f"a result for {path.name}, no longer shown, was left out")
        self._flush_changes()      # saves to the kernel shown now waited for the runner
        return True

    def _after_runner_write(self, older: str = "", restored: bool = False) -> None:
        """The runner is done with edit/: show what it holds, then compile the newest save it does
        not hold a version of yet (one made while the compile ran, or a keystroke's worth later);
        ``older`` is the result just shown, which that text makes an older one. After a restore
        (``restored``), a save made while it waited that holds another version's text restores that."""
        if self.flow is None:
            return
        self.load_levels()
        if self.runner_writes:
            return
        saved = [self.family.pane_of_suffix(p.suffix) for p in self.pending] if restored else []
        self.pending.clear()      # the files are on screen now, and the flow looks at all of them
        decision = self.flow.next_save(saved)
        if decision is None:
            return
        if decision.action == "restore":
            self.log_line(decision.sentence(self.family))
            self.notify(decision.sentence(self.family))
            self.restore(decision.version)
            return
        self.log_line(f"newer text in {decision.apply.path.name}: compiling it")
        self.start_apply(decision)
        if older:
            self.status.show(f"{older} · for an older text: compiling the newest save of "
                             f"{self.family.title(decision.level)}…", busy=True)

    def _show_diagnostics(self, diagnostics: list[dict], level: str | None, path: Path | None):
        """The first diagnostic with a line, at that line of its level's pane (one the verifier
        gave no line is placed at the op it names)."""
        diagnostics = [self._placed(d, level) for d in diagnostics]
        for d in diagnostics:
            if not d.get("line"):
                continue
            file = Path(str(d.get("file") or ""))
            if path is not None and file.name == path.name and file.suffix == ".mlir":
                self.query_one(views.PassesView).show_error(file.name, d, diagnostic_text(d))   # a pass's IR: there
                return level, d
            lv = self.family.pane_of_suffix(file.suffix) or level
            if lv not in LEVELS:
                continue
            line, col_no = int(d["line"]), int(d.get("column") or d.get("col") or 1)
            column = self.column(lv)
            column.show_error(d, f"✗ {file.name}: {diagnostic_text(d)}")
            view = column.pane.view
            view.highlight_lines({line})
            view.goto_line(line, max(col_no - 1, 0))
            if column.pane.editing:
                column.pane.editor.move_cursor((line - 1, max(col_no - 1, 0)))
            if lv not in self.shown_levels:
                self.action_show_level(lv)
            return lv, d
        if level is not None:  # no line: still say where
            self.column(level).show_error({"message": "error"}, "✗ " + "; ".join(
                diagnostic_text(d) for d in diagnostics) if diagnostics else "✗ compile failed (see the Log tab)")
        return None

    def _placed(self, d: dict, level: str | None) -> dict:
        if d.get("line") or level not in LEVELS:
            return d
        found = locate_unplaced(self.pane(level).view.text, str(d.get("message", "")))
        if found is None:
            return d
        line, what = found
        return dict(d, line=line, file=d.get("file") or str(self.level_path(level)),
                    message=f"{d.get('message', '')} (no location from the verifier: at {what})")

    # -- outside edits ------------------------------------------------------------------------

    @after_rest
    def on_files_changed(self, msg: FilesChanged) -> None:
        now = time.perf_counter()
        for path in msg.paths:
            self.pending.setdefault(path, now)
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(SETTLE_S if msg.complete else DEBOUNCE_S, self._flush_changes)

    def _flush_changes(self) -> None:
        if not self.pending or self.current is None or self.closing_down:
            return
        if self.runner_writes:  # the runner is rewriting edit/: look once it is done
            return
        pending, self.pending = self.pending, {}
        self.timeline["burst"] = min(pending.values())   # an outside save's first event (start_apply)
        paths = sorted(pending)
        changed = []
        for path in paths:
            level = self.family.pane_of_suffix(path.suffix)
            if level is None or path != self.level_path(level):
                continue
            before = self._loaded.get(level)
            self.load_levels([level])
            if self._loaded.get(level) != before and self._loaded[level][1] is not None:
                changed.append(level)   # (a deleted file: an editor's save in two steps, the create comes next)
        for level in sorted(changed, key=LEVELS.index):   # the highest level first: the levels below follow it
            if level in EDITABLE:
                self._decide(level, self._loaded[level][1], outside=True)
                if self.runner_writes:
                    break
        self.timeline.pop("burst", None)

    def action_external_editor(self) -> None:
        if self.current is None:
            return
        level = self.focused_level()
        path = self.level_path(level)
        column = self.column(level)
        line = (column.error or {}).get("line") or column.pane.view.cursor_line  # the error's line, else the cursor's
        try:
            argv, named = editor_command()
        except ValueError as e:
            self.status.show(str(e), kind="error")
            self.log_line(str(e), "red")
            return
        failed: Exception | None = None
        try:
            with self.suspend():   # (it resumes only when its block ends without an exception)
                try:
                    subprocess.call(argv + [f"+{line}", str(path)])
                except Exception as e:  # noqa: BLE001 - found, but the system would not run it
                    failed = e
        except Exception as e:  # noqa: BLE001 - SuspendNotSupported (headless, web)
            failed = e
        if failed is not None:
            why = f"cannot run {named}: {getattr(failed, 'strerror', None) or failed}; set VISUAL or EDITOR to " \
                  f"your editor"
            self.status.show(why, kind="error")
            self.log_line(why, "red")
            return
        self.on_files_changed(FilesChanged([path]))   # the watcher sees it too; the flow makes it once

    # -- history -----------------------------------------------------------------------------

    def _show_history(self) -> None:
        """The version list and its diff, drawn when the History tab is in sight (a diff of a
        5 MB level takes seconds: a save never waits for it)."""
        self._history_stale = True
        if self.current is not None and self.rest_ready and self.query_one("#results", TabbedContent).active == "history":
            self._history_stale = False
            self.query_one(views.HistoryView).show_versions(self.kernel_name, Path(self.current["folder"]),
                                                            self.versions, self.current.get("result"))

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "history" and self._history_stale:
            self._show_history()
        if event.pane.id == "configs":
            self._show_configs()
        if event.pane.id == "passes":
            self._show_passes()

    # -- passes -------------------------------------------------------------------------------

    def action_passes_tab(self) -> None:
        self.action_results("passes")
        self.query_one("#passes-table").focus()

    def _show_passes(self, only_in_sight: bool = False) -> None:
        """The kernel on screen in the Passes tab, compared pass by pass with the current version
        (recorded by the runner the first time the tab shows it)."""
        if self.current is None or not self.rest_ready or \
                only_in_sight and self.query_one("#results", TabbedContent).active != "passes":
            return
        level = next((v["level"] for v in self.versions if str(v["number"]) == self.last_version), None)
        self.query_one(views.PassesView).show_kernel(self.spec_id, (self.last_version, level) if level else None)

    def action_pass_of_line(self) -> None:
        """From a TTGIR or LLIR line to the pass that introduced it, in the Passes tab."""
        focused = self.focused
        if not isinstance(focused, CodeView) or focused.level not in ("ttgir", "llir") or self.current is None:
            self.notify("put the cursor on a TTGIR or LLIR line first", severity="warning")
            return
        original = Path(self.current["folder"]) / "original" / self.level_path(focused.level).name
        try:
            same = original.read_text() == focused.text
        except OSError:
            same = False
        if not same:
            self.notify(f"{self.family.title(focused.level)} is not the original's text: the passes are the original's",
                        severity="warning")
            return
        line = focused.cursor_line
        self.action_passes_tab()
        self._show_passes()
        self.query_one(views.PassesView).jump_to_line(focused.level, line)

    def on_passes_view_jumped(self, msg: views.PassesView.Jumped) -> None:
        self.status.show(msg.sentence)

    def on_passes_view_mapped(self, msg: views.PassesView.Mapped) -> None:
        self._highlight_lines(self.map.lines_from(msg.sources))

    @after_rest
    def on_passes_view_save_pass(self, msg: views.PassesView.SavePass) -> None:
        """ctrl+s on a pass's IR: the file into edit/, compiled as a version started after that pass."""
        if self.current is None or self.flow is None:
            return
        if self.flow.running is not None or self.runner_writes:
            self.notify("a compile is running: save the pass's IR again when it ends", severity="warning")
            return
        path = self.edit_dir / msg.file_name
        data = msg.text.encode("utf-8")
        try:
            atomic_write(path, data)
        except OSError as e:
            self.notify(f"could not save {path}: {e.strerror or e}", severity="error", timeout=15)
            return
        self.log_line(f"{path} saved: compiling a version that starts after its pass")
        self.start_apply(self.flow.pass_saved(msg.level, path, digest(data)))

    # -- configs ------------------------------------------------------------------------------

    def action_configs_tab(self) -> None:
        """The Configs tab, ready to type a config into (Tab: the table)."""
        self.action_results("configs", field=True)

    def _tuning_index(self) -> int | None:
        """The tuning the kernel on screen is a config of (None: it is not autotuned)."""
        if self.current is None:
            return None
        sid = self.spec_id
        return next((i for i, t in enumerate(self.tunings)
                     if any(c["spec_id"] == sid for c in t["configs"].values())), None)

    def _show_configs(self) -> None:
        """The table of the kernel on screen; the configs not run yet are run (timed with a GPU),
        one answer at a time, as the tab is looked at."""
        from workbench.model.configs_report import config_tables
        index = self._tuning_index()
        view = self.query_one(views.ConfigsView)
        view.name_kernel(self.current["spec"] if self.current else None)
        if index is None:
            view.show(None)
            return
        tuning = self.tunings[index]
        view.show(config_tables([tuning], list(self.config_results.values()))[0])
        todo = [c["spec_id"] for c in tuning["configs"].values()
                if c["spec_id"] not in self.config_results and not c["spec_id"].startswith("config-")]
        if todo and not getattr(self, "_configs_running", False):
            self._configs_running = True
            self.run_configs(todo)

    @work(thread=True, exclusive=True, group="configs", exit_on_error=False)
    def run_configs(self, spec_ids: list[str]) -> None:
        bench = dict(self.bench_options) if self.gpu else None   # no interpreter time shown as a timing
        try:
            for sid in spec_ids:
                self.post_message(ConfigsDone([self.call("run", kernel=sid, bench=bench, on_event=self._on_event)]))
        except Exception as e:  # noqa: BLE001 - said on the status line, the table keeps what ran
            self.post_message(ConfigsDone([], error=f"{type(e).__name__}: {e}"))
        finally:
            self._configs_running = False

    @work(thread=True, group="configs", exit_on_error=False)
    def try_config(self, text: str) -> None:
        """One config typed in the Configs tab, or a sweep's every config in turn, each row in the
        table as it finishes, the count, elapsed time and ETA on the status line; Esc in the tab
        stops a sweep after the config it is at."""
        bench = dict(self.bench_options) if self.gpu else None
        try:
            self._sweep(text, bench)
        finally:
            self._sweep_stop = True   # (nothing left to stop)

    def _sweep(self, text: str, bench: dict | None) -> None:
        try:
            named = self.call("configs_of", text=text)
        except Exception as e:  # noqa: BLE001 - a config text the runner refused: one line
            self.post_message(ConfigsDone([], error=str(getattr(e, "message", e)).splitlines()[0]))
            return
        configs, grid, t0 = named["configs"], named.get("grid"), time.monotonic()
        if len(configs) > 1:   # their compiles in worker processes, while the configs run one by one
            self.call("prefetch_configs", kernel=self.spec_id, configs=configs, grid=grid)
        for i, config in enumerate(configs):
            if self._sweep_stop:
                self.post_message(ConfigsDone([], progress=f"sweep stopped after {i} of {len(configs)} configs "
                                                            f"({time.monotonic() - t0:.1f} s): the table keeps them"))
                return
            try:
                out = self.call("try_config", kernel=self.spec_id, config=config, bench=bench, grid=grid,
                                grid_from="the Configs field", on_event=self._on_event)
            except Exception as e:  # noqa: BLE001 - the runner refused it: one line, the sweep goes on
                self.post_message(ConfigsDone([], error=str(getattr(e, "message", e)).splitlines()[0]))
                continue
            progress = None
            if named["sweep"]:
                done, elapsed = i + 1, time.monotonic() - t0
                progress = (f"sweep {done} of {len(configs)} · {elapsed:.1f} s elapsed" +
                            (f" · about {elapsed / done * (len(configs) - done):.0f} s to go (Esc stops)"
                             if done < len(configs) else " · done"))
            self.post_message(ConfigsDone([out["result"]], (out["tuning_index"], out["tuning"]), progress=progress,
                                          kernel=out.get("kernel")))

    def on_configs_view_try(self, msg: views.ConfigsView.Try) -> None:
        self.status.show(f"trying {msg.text}…", busy=True)
        self._sweep_stop = False   # here, not in the worker: an Esc right after Enter must hold
        self.try_config(msg.text)

    def on_configs_view_stop(self, msg: views.ConfigsView.Stop) -> None:
        self.action_focus_pane(0)   # Esc leaves the field (and the tab) for the levels
        if not getattr(self, "_sweep_stop", True):
            self._sweep_stop = True
            self.status.show("stopping the sweep after the config it is at…", busy=True)

    def on_configs_view_picked(self, msg: views.ConfigsView.Picked) -> None:
        index = next((i for i, e in enumerate(self.kernels) if e["spec"]["spec_id"] == msg.spec_id), None)
        if index is None:
            self.notify("this config did not compile: it has no levels to show", severity="warning")
            return
        self.switch_kernel(index)

    @after_rest
    def on_configs_done(self, msg: ConfigsDone) -> None:
        if msg.error:
            self.status.show(msg.error, kind="error")
        if msg.tuning is not None:
            index, tuning = msg.tuning
            self.tunings[index:index + 1] = [tuning]
        if msg.kernel is not None and all(e["spec"]["spec_id"] != msg.kernel["spec"]["spec_id"] for e in self.kernels):
            self.kernels.append(msg.kernel)
            self.query_one(KernelPicker).add_kernel(msg.kernel)
        for result in msg.results:
            self.config_results[result["spec_id"]] = result
            if msg.tuning is not None:
                from workbench.model.configs_report import label
                tried = [c for c in msg.tuning[1]["configs"].values() if c["spec_id"] == result["spec_id"]]
                what = label(tried[-1]["kwargs"]) if tried else result["spec_id"]
                self.status.show(f"tried {what}: {result.get('status')}"
                                 + (f": {result['message']}" if result.get("message") else "")
                                 + (f" · {msg.progress}" if msg.progress else ""),
                                 kind="ok" if result.get("status") == "ok" else "error",
                                 busy=bool(msg.progress) and not msg.progress.endswith("done"))
        if msg.progress and not msg.results:
            self.status.show(msg.progress)
        if self.query_one("#results", TabbedContent).active == "configs":
            self._show_configs()

    def on_history_view_restore(self, msg: views.HistoryView.Restore) -> None:
        self.restore(msg.version)

    def restore(self, version: str) -> None:
        """Ask the runner to restore a version, with edit/ as it is now: a save made before the
        runner gets to it is newer, and kept."""
        if self.current is None:
            return
        self.runner_writes += 1
        self.status.show(f"restoring {version_label(version)}…", busy=True)
        seen = {}
        try:
            files = list(self.edit_dir.iterdir())
        except OSError:
            files = []   # (no edit/ now: the runner makes it again)
        for path in files:
            try:
                seen[path.name] = digest(path.read_bytes())
            except OSError:
                pass     # (a folder, or gone since)
        self.restore_worker(version, seen)

    @work(thread=True, exclusive=True, group="restore", exit_on_error=False)
    def restore_worker(self, version: str, seen: dict[str, str]) -> None:
        spec_id = self.spec_id
        try:
            paths = self.call("restore", kernel=spec_id, version=version, seen=seen, timeout=120)
        except Exception as e:  # noqa: BLE001
            self.post_message(RunFailed(e))
            paths = []
        self.post_message(Restored(version, paths))  # a restore makes no version: the list stays

    @after_rest
    def on_restored(self, msg: Restored) -> None:
        self.runner_writes = max(self.runner_writes - 1, 0)
        if not msg.paths or self.flow is None:
            self._after_runner_write(restored=True)
            return
        self.flow.current = str(msg.version)
        for level in LEVELS:
            self.column(level).show_error(None)
        self.notify(f"restored {version_label(msg.version)} into {self.edit_dir}")
        self.log_line(f"restored {version_label(msg.version)}")
        self._after_runner_write(restored=True)
        if not self.runner_writes:   # no save made meanwhile to compile or restore: this version runs
            self.run_version(msg.version)

    def action_restore_selected(self) -> None:
        key = self.query_one(views.HistoryView).selected()
        if key is not None:
            self.restore(key)

    def action_export_selected(self) -> None:
        """The version selected in History (the original when none is) as a reproducer folder."""
        if self.current is None:
            return
        version = self.query_one(views.HistoryView).selected() or "original"
        self.status.show(f"exporting {version_label(version)}…", busy=True)
        self.export_worker(self.spec_id, version)

    @work(thread=True, group="export", exit_on_error=False)
    def export_worker(self, spec_id: str, version: str) -> None:
        try:
            done = self.call("export", kernel=spec_id, version=version, timeout=120)
        except Exception as e:  # noqa: BLE001
            self.post_message(RunFailed(e))
            return
        self.post_message(Exported(version, done))

    def on_exported(self, msg: Exported) -> None:
        self.status.show(f"exported {self.kernel_name} {version_label(msg.version)} to {msg.done['folder']}: "
                         f"run it with python {msg.done['run']}", kind="ok")
        self.log_line(f"exported {version_label(msg.version)} to {msg.done['folder']}")

    def action_profile(self) -> None:
        """The version selected in History (else the last one) beside the original (or the
        version marked with ``m`` there), under ncu."""
        if self.current is None:
            return
        history = self.query_one(views.HistoryView)
        version = history.selected() or self.flow.current or "original"
        base = history.base if history.base != "previous" else "original"
        versions = list(dict.fromkeys([str(base), str(version)]))
        self.action_results("profile")
        self.query_one(views.ProfileView).start(self.spec_id, self.kernel_name, versions)

    # -- dumps -------------------------------------------------------------------------------

    def _value_under_cursor(self) -> tuple[CodeView, str] | None:
        """The focused pane and the Python variable or SSA value / register under its cursor."""
        focused = self.focused
        if not isinstance(focused, CodeView) or self.current is None:
            self.notify("put the cursor on a value in a level pane first", severity="warning")
            return None
        if focused.level == "python":
            text = focused.line_text(focused.cursor_line)
            name = next((m.group(0) for m in re.finditer(r"[A-Za-z_]\w*", text)
                         if m.start() <= focused.cursor_column < m.end()), None)
            name = name or next(iter(re.findall(r"^\s*([A-Za-z_]\w*)\s*=", text)), None)
        else:
            name = focused.name_at()
        if not name:
            self.notify("no value under the cursor", severity="warning")
            return None
        return focused, name

    def action_dump_here(self) -> None:
        found = self._value_under_cursor()
        if found is None:
            return
        focused, name = found
        dumps = self.query_one(views.DumpsView)
        dumps.set_request(name, focused.level)
        self.action_results("dumps")
        self.dump(name, focused.level, focused.cursor_line if focused.level == "python" else None)

    def _ttir_value_for(self, name: str) -> str:
        """A Python variable's TTIR value. Triton names values after the variable they are
        assigned to (``%x``, ``%x_3``); of those from the Python line under the cursor the
        last is the variable's value (``x = tl.load(x_ptr + offsets)`` names the pointer
        ``%x`` and the loaded value after it)."""
        py = self.pane("python").view
        py_line = py.cursor_line if py.level == "python" else None
        pattern = re.compile(r"\s*(%" + re.escape(name) + r"(?:_\d+)?)\s*=")
        ttir = self.pane("ttir").view
        found = [(n, m.group(1)) for n in range(1, ttir.line_count + 1)
                 if (m := pattern.match(ttir.line_text(n)))]
        on_line = [v for n, v in found if any(line == py_line for _, line in self.map.sources("ttir", n))]
        return (on_line or [v for _, v in found] or [f"%{name}"])[-1]

    def on_dumps_view_requested(self, msg: views.DumpsView.Requested) -> None:
        py = self.pane("python").view
        self.dump(msg.value, msg.level, py.cursor_line if msg.level == "python" else None)

    def dump(self, value: str, level: str, line: int | None = None) -> None:
        """Dump a value. A Python variable (``line``: the line it is read after): without a GPU
        the interpreter runs the kernel and gives it at the Python level; with one, its TTIR value."""
        if self.current is None:
            return
        if level == "python" and not value.startswith("%") and (self.gpu or line is None):
            value, level, line = self._ttir_value_for(value), "ttir", None
        where = f"Python line {line}, interpreter" if line is not None else level
        self.query_one(views.DumpsView).show(f"dumping {value} ({where})…")
        self.dump_worker(value, level, line)

    @work(thread=True, exclusive=True, group="dump", exit_on_error=False)
    def dump_worker(self, value: str, level: str, line: int | None = None) -> None:
        extra = {"line": line} if line is not None else {}
        try:
            result = self.call("dump", kernel=self.spec_id, level=level, values=[value], pid=[0, 0, 0],
                               timeout=300, on_event=self._on_event, **extra)
        except Exception as e:  # noqa: BLE001 - the dump request is new: whatever it says is shown
            message = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
            self.post_message(DumpDone(value, level, error=message))
            return
        self.post_message(DumpDone(value, level, result))

    @after_rest
    def on_dump_done(self, msg: DumpDone) -> None:
        view = self.query_one(views.DumpsView)
        if msg.error is not None:
            view.show(f"dump of {msg.value} ({msg.level}) failed: {msg.error}")
            self.status.show(f"dump failed: {msg.error}", kind="error")
        else:
            view.show_result(msg.value, msg.level, msg.result)
            status = str((msg.result or {}).get("status", ""))
            ran = any(r.get("values") is not None for r in (msg.result or {}).get("results", []))
            if ran:
                self.status.show(f"dumped {msg.value} ({status})", kind="ok")
            else:
                notes = "; ".join((msg.result or {}).get("notes", []))
                self.status.show(f"{msg.value}: {status or 'nothing dumped'}" + (f" · {notes}" if notes else ""))

    # -- watches -----------------------------------------------------------------------------

    def action_watch_here(self) -> None:
        """``w``: the value under the cursor joins the kernel's watch list (a Python variable as
        ``var@LINE`` when that line assigns it, else its first assignment; a TTIR/TTGIR line with no
        value from the cursor on as ``line:N``, the value that line defines)."""
        focused = self.focused
        if isinstance(focused, CodeView) and focused.level in ("ttir", "ttgir") and self.current is not None \
                and focused.name_at() is None:
            self.watch_add(self.spec_id, focused.level, f"line:{focused.cursor_line}")
            return
        found = self._value_under_cursor()
        if found is None:
            return
        focused, name = found
        if focused.level == "sass":
            self.notify("SASS values cannot be watched: watch the PTX or LLIR register", severity="warning")
            return
        if focused.level == "python" and re.match(rf"\s*(?:[\w\s,]*,\s*)?{re.escape(name)}\s*(?:,[\w\s,]*)?=[^=]",
                                                  focused.line_text(focused.cursor_line)):
            name = f"{name}@{focused.cursor_line}"
        self.watch_add(self.spec_id, focused.level, name)

    def on_dumps_view_watch_requested(self, msg: views.DumpsView.WatchRequested) -> None:
        if self.current is not None:
            self.watch_add(self.spec_id, msg.level, msg.value)

    def on_dumps_view_unwatch_requested(self, msg: views.DumpsView.UnwatchRequested) -> None:
        if self.current is not None:
            self.watch_remove(self.spec_id, msg.watch_id)

    @work(thread=True, group="watch", exit_on_error=False)
    def load_watches(self, spec_id: str) -> None:
        try:
            watches = self.call("watch_list", kernel=spec_id)
            self.post_message(WatchesDone(spec_id, watches))
            if watches:
                self._watch_values(spec_id)
        except Exception as e:  # noqa: BLE001 - a list that cannot be read is said, the app goes on
            self.post_message(WatchesDone(spec_id, None, error=getattr(e, "message", None) or str(e)))

    @work(thread=True, group="watch", exit_on_error=False)
    def watch_add(self, spec_id: str, level: str, value: str) -> None:
        try:
            added = self.call("watch_add", kernel=spec_id, level=level, value=value)
            self.post_message(WatchesDone(spec_id, self.call("watch_list", kernel=spec_id), added=added["id"]))
            self._watch_values(spec_id)
        except Exception as e:  # noqa: BLE001 - no such value, or an unknown level: said in one line
            self.post_message(WatchesDone(spec_id, None, error=getattr(e, "message", None) or str(e)))

    @work(thread=True, group="watch", exit_on_error=False)
    def refresh_watch_values(self, spec_id: str) -> None:
        try:
            self._watch_values(spec_id)
        except Exception as e:  # noqa: BLE001 - said in one line, the app goes on
            self.post_message(WatchesDone(spec_id, None, error=getattr(e, "message", None) or str(e)))

    def _watch_values(self, spec_id: str) -> None:
        """(A worker thread) the watch list dumped for the version shown, so its status, type and
        values are there before the next save (the original's side is kept for later saves)."""
        version = self.last_version
        entries = self.call("watch_values", kernel=spec_id, version=version, timeout=300)
        self.post_message(WatchesDone(spec_id, None, entries=entries))

    @work(thread=True, group="watch", exit_on_error=False)
    def watch_remove(self, spec_id: str, watch_id: str) -> None:
        try:
            self.post_message(WatchesDone(spec_id, self.call("watch_remove", kernel=spec_id, id=watch_id)))
        except Exception as e:  # noqa: BLE001
            self.post_message(WatchesDone(spec_id, None, error=getattr(e, "message", None) or str(e)))

    @after_rest
    def on_watches_done(self, msg: WatchesDone) -> None:
        if self.current is None or msg.spec_id != self.spec_id:
            return
        if msg.error is not None:
            self.status.show(f"watch: {msg.error}", kind="error")
            self.log_line(f"watch: {msg.error}", "red")
            return
        view = self.query_one(views.DumpsView)
        if msg.entries is not None:
            shown = all(str((e.get("version") or {}).get("label")) == self.last_version for e in msg.entries)
            if [e["id"] for e in msg.entries] != [w["id"] for w in view.watches]:
                return   # an older list
            if shown:
                view.set_entries(msg.entries)
            else:   # dumped for a version no longer current (a restore ran meanwhile): again, for this one
                self.refresh_watch_values(self.spec_id)
            return
        view.set_watches(msg.watches or [], select=msg.added)
        if msg.added is not None:
            self.action_results("dumps")
            label = next((w.get("label") for w in view.watches if w["id"] == msg.added), msg.added)
            self.status.show(f"watching {label}: dumped on every save, beside the original's", kind="ok")

    def _watches_follow(self) -> None:
        """A run (not a save) of a version the watched values shown are not of: dumped again for it."""
        view = self.query_one(views.DumpsView)
        if self.current is not None and any(str((e.get("version") or {}).get("label")) != self.last_version
                                            for e in view.entries.values()):
            self.load_watches(self.spec_id)

    def _show_watches(self, result: dict) -> str:
        """A save's watched values into the Dumps tab; the status line's words on them."""
        for note in result.get("watch_notes") or []:
            self.log_line(f"watch: {note}", "red")
        if "watches" not in result:
            return ""
        from workbench.tui.widgets.dumps_view import differs
        entries = result["watches"]
        self.query_one(views.DumpsView).set_entries(entries)
        n = sum(1 for e in entries if differs(e))
        missing = sum(1 for e in entries if not (e.get("version") or {}).get("found", True))
        words = []
        if n:
            words.append(f"{n} watched value{'s' if n > 1 else ''} differ{'' if n > 1 else 's'} from the original")
        if missing:
            words.append(f"{missing} watched value{'s' if missing > 1 else ''} not found in this version")
        return "".join(f" · {w}" for w in words)

    def action_first_divergence(self) -> None:
        """Where the shown version's values first leave the original's (its outputs mismatch)."""
        if self.current is None:
            return
        version = self.last_version
        if version == "original":
            self.notify("first divergence is for an edited version: save an edit first", severity="warning")
            return
        self.status.show(f"first divergence of {version_label(version)}: dumping the chain in it and the original…",
                         busy=True)
        self.diverge_worker(self.spec_id, version)

    @work(thread=True, exclusive=True, group="diverge", exit_on_error=False)
    def diverge_worker(self, spec_id: str, version: str) -> None:
        try:
            result = self.call("diverge", kernel=spec_id, version=version, timeout=600, on_event=self._on_event)
        except Exception as e:  # noqa: BLE001 - whatever the runner says is shown
            self.post_message(DivergeDone(spec_id, error=getattr(e, "message", None) or f"{type(e).__name__}: {e}"))
            return
        self.post_message(DivergeDone(spec_id, result))

    @after_rest
    def on_diverge_done(self, msg: DivergeDone) -> None:
        if self.current is None or msg.spec_id != self.spec_id:
            return
        if msg.error is not None:
            self.status.show(f"first divergence failed: {msg.error}", kind="error")
            return
        self.last_diverge = result = msg.result or {}
        self.query_one(views.DumpsView).show_divergence(result)
        self.action_results("dumps")
        first = result.get("first") or {}
        message = re.sub(r"^\S*/", "", str(result.get("message", "")))   # the version's file by its name
        self.status.show(message, kind="error" if first else "")
        for level, lines in ((first.get("lines") or {}).get("version") or {}).items():
            if level in LEVELS and lines:
                self.pane(level).view.goto_line(int(lines[0]))

    # -- command palette ---------------------------------------------------------------------

    def get_system_commands(self, screen):
        """Textual's, less its Quit: ours says ctrl+q and that a draft is asked about."""
        return (c for c in super().get_system_commands(screen) if c.title != "Quit")

    def palette_commands(self) -> list[tuple[str, str, object]]:
        def pane_action(name: str):
            def call():
                pane = self.pane(self.focused_level())
                getattr(pane, f"action_{name}")()
            return call

        cmds = [(f"Show {self.family.title(lv)}", f"show the {self.family.title(lv)} level (key {i})",
                 partial(self.action_show_level, lv)) for i, lv in enumerate(LEVELS, 1)]
        cmds += [
            ("Next level in this pane", "key >", partial(self.action_cycle_level, 1)),
            ("Previous level in this pane", "key <", partial(self.action_cycle_level, -1)),
            ("Open another script", "F2: bundled examples, scripts beside this one, or a path", self.action_open_other),
            ("Two or three panes", "key v", self.action_toggle_columns),
            ("Edit the focused level", "key e; ctrl+s saves and recompiles", pane_action("edit")),
            ("Save the focused level", "ctrl+s: recompile from it, run, verify", pane_action("save")),
            ("Search in the focused level", "key /", pane_action("search")),
            ("Open the focused level in $EDITOR", "key E (the app suspends)", self.action_external_editor),
            ("Follow the mapping to the next pane", "key f", self.action_follow),
            ("Dump the value under the cursor", "key x", self.action_dump_here),
            ("Watch the value under the cursor", "key w: dumped on every save beside the original's",
             self.action_watch_here),
            ("First divergence of the last version", "key F: where its values first leave the original's",
             self.action_first_divergence),
            ("Run the last version again", "key R", self.action_rerun),
            ("Run the original", "verify and time the original kernel", partial(self.run_version, "original")),
            ("Toggle bench on save", "key b", self.action_toggle_bench),
            ("History: diff a version against the original, the previous or a marked one",
             "key H; in it o: original or previous, m: diff against the selected version", self.action_history_tab),
            ("Restore the version selected in History", "key r in History", self.action_restore_selected),
            ("Export the version selected in History", "a folder whose run.py needs only torch and triton",
             self.action_export_selected),
            ("Profile under ncu", "key P: the version selected in History beside the original: counters, "
             "roofline, hot lines", self.action_profile),
            ("Restore the original into edit/", "every level back to the first compile",
             partial(self.restore, "original")),
            ("Kernels", "key K: the kernel picker", self.action_focus_picker),
            ("Pass that introduced this line", "key p on a TTGIR or LLIR line: the Passes tab", self.action_pass_of_line),
            ("Help: keys", "F1 or ?", self.action_help),
            ("Discard the draft of the focused level", "key u in a pane", pane_action("discard")),
            ("Quit", "ctrl+q (asks first if a pane holds a draft)", self.action_quit),
        ]
        cmds += [(f"Results: {tab.title()}", "keys O D B C H P M L", partial(self.action_results, tab, True))
                 for tab in RESULT_TABS]
        cmds += [(f"Theme: {name}", "colours of the app and the levels", partial(setattr, self, "theme", name))
                 for name in sorted(self.themes.themes)]
        return cmds

    # -- shutdown ----------------------------------------------------------------------------

    def on_unmount(self) -> None:
        gc.enable()   # (an app that ends before its first frame)
        self.closing_down = True          # workers waiting on the runner return now
        self.watcher.stop()
        client, self.client = self.client, None
        if client is not None:
            client.close(timeout=2)


def run_app(script: Path, script_args: list[str]) -> int:
    """The app on a terminal, until it quits or the terminal goes (``workbench [app] [SCRIPT]``
    reads its arguments in workbench/cli/app.py)."""
    app = WorkbenchApp(script, script_args)
    threading.Thread(target=watch_terminal, args=(app,), daemon=True, name="terminal-watch").start()
    for sig in (signal.SIGHUP, signal.SIGTERM):   # (their default ends the process: the drafts with it)
        signal.signal(sig, lambda *_: threading.Thread(target=terminal_gone, args=(app,), daemon=True).start())
    app.run()
    if app.hung_up is not None:
        print(f"workbench: the terminal went away (or a signal ended the app); drafts kept: "
              f"{', '.join(app.hung_up) or 'none'}", file=sys.stderr)
        return 129
    return app.return_code or 0


def watch_terminal(app: "WorkbenchApp", fd: int = 0) -> None:
    """End the app when its terminal hangs up. The hangup's SIGHUP goes to the terminal's session
    leader, and one that outlives it (``make app``: make waits for its child) leaves the app on a
    dead terminal, where Textual's input thread spins on the errors (seen: 20-60% of a CPU, and
    the workspace held). The app keeps its drafts and exits; if it cannot, the process ends."""
    poller = select.poll()
    poller.register(fd, select.POLLHUP | select.POLLERR)   # (not POLLIN: the keys are Textual's)
    while True:
        if any(ev & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, ev in poller.poll(500)):
            break
    terminal_gone(app)


_GONE = threading.Lock()


def terminal_gone(app: "WorkbenchApp") -> None:
    """The terminal hung up (seen by :func:`watch_terminal`), or SIGHUP or SIGTERM came: the app
    keeps its drafts and exits; if it cannot, the process ends 10 s later."""
    if not _GONE.acquire(blocking=False):
        return   # (both ways saw it)
    app.post_message(TerminalGone())
    time.sleep(10)
    os._exit(129)   # (the app did not end: its runner goes with it, by the parent-death signal)

"""The workbench app: a script's kernels, every level side by side, live recompile on save.

This is the shell: the themes, the keymap (every key is bound here, once), the command palette and
the screens. What the keys and messages do is its controllers': ``main`` (the panes and the
navigation, tui/main_screen.py), ``opening`` (a script and its kernels), ``saves`` and
``drafting`` (the edit loop on screen), one per results tab under tui/features/, ``link`` (the
runner), ``keys`` (each key where the focus is when its turn comes). A controller receives the
app's messages by Textual's naming convention (``on_run_done``) and the app's actions by name
(``action_follow``). The edit loop's state, Textual-free, is the kernel shown's
:class:`~workbench.tui.editing.EditSession` (``edits``).

The app process never imports torch or triton: the runner process does the GPU work
(tui/runner_link.py); results come back as messages; the UI never waits on the runner.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import sys
import threading
import time
from pathlib import Path

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message

from workbench.model import results
from workbench.model.levels import NVIDIA
from workbench.tui.commands import WorkbenchCommands, palette_commands
from workbench.tui.config import Config, load_config
from workbench.tui.drafts import Drafts
from workbench.tui.editing import EditSession
from workbench.tui.features.bench import BenchFeature
from workbench.tui.features.compare import CompareFeature
from workbench.tui.features.configs import ConfigsFeature
from workbench.tui.features.dumps import DumpsFeature
from workbench.tui.features.history import HistoryFeature
from workbench.tui.features.passes import PassesFeature
from workbench.tui.features.profile import ProfileFeature
from workbench.tui.features.sanitize import SanitizeFeature
from workbench.tui.features.watches import WatchesFeature
from workbench.tui.keys import KeyQueue
from workbench.tui.main_screen import MainScreen
from workbench.tui.messages import RunnerMessage, TerminalGone
from workbench.tui.opening import Opening, bundled_example
from workbench.tui.runner_link import RunnerLink
from workbench.tui.saves import Saves
from workbench.tui.themes import load_themes, register_themes, start_with_theme
from workbench.tui.watcher import EditWatcher, FilesChanged
from workbench.tui.widgets.code_view import CodeView
from workbench.tui.widgets.level_pane import LevelPane
from workbench.tui.widgets.status_line import StatusLine
from workbench.tui import widgets as views   # the results tabs: imported as they mount, after the first frame

__all__ = ["WorkbenchApp", "bundled_example", "run_app"]

BENCH = {"warmup_ms": 25.0, "rep_ms": 100.0, "graph": False}


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
        Binding("V", "compare", "Compare releases", show=False, id="app.compare"),
        Binding("Z", "sanitize", "Sanitize the version shown", show=False, id="app.sanitize"),
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
        start_with_theme(self, self.config.theme if self.config.theme in self.available_themes else "dark")
        self.bench_options = dict(bench or BENCH)
        self.kernel_timeout = kernel_timeout
        self.opened: results.Opened | None = None
        self.family = NVIDIA   # the open script's target's: how its panes are titled, their files and lexers
        self.kernels: list[results.KernelEntry] = []
        self.current: results.KernelEntry | None = None      # the kernel shown
        self.edits: EditSession | None = None   # its edit loop: versions, the current one, saves, drafts
        self.watcher = EditWatcher(self.post_message)
        self.timeline: dict[str, float] = {"init": time.perf_counter()}
        self.closing_down = False
        self.hung_up: list[str] | None = None   # the terminal went away: the drafts kept (TerminalGone)
        self.rest_ready = False
        self.early_log: list[tuple[str, str]] = []
        self.link, self.keys, self.main = RunnerLink(self), KeyQueue(self), MainScreen(self)
        self.opening, self.saves, self.drafting = Opening(self), Saves(self), Drafts(self)
        self.bench, self.history, self.passes = BenchFeature(self), HistoryFeature(self), PassesFeature(self)
        self.configs, self.profile = ConfigsFeature(self), ProfileFeature(self)
        self.dumps, self.watches, self.compare = DumpsFeature(self), WatchesFeature(self), CompareFeature(self)
        self.sanitize = SanitizeFeature(self)
        self.controllers = (self.link, self.main, self.opening, self.saves, self.drafting, self.bench, self.history,
                            self.passes, self.configs, self.profile, self.dumps, self.watches, self.compare,
                            self.sanitize)

    def compose(self) -> ComposeResult:
        yield from self.main.compose()

    # -- the controllers: the app's messages and actions -------------------------------------

    def _get_dispatch_methods(self, method_name: str, message: Message):
        """The app's handlers of a message, then its controllers' of the same name."""
        yield from super()._get_dispatch_methods(method_name, message)
        for controller in self.controllers:
            method = getattr(controller, method_name, None)
            if method is not None:
                yield type(controller), method

    async def _dispatch_action(self, namespace, action_name: str, params) -> bool:
        """An action the app does not define is the controller's that does (the keys stay bound
        here: one keymap, one help screen)."""
        if namespace is self and not hasattr(self, f"action_{action_name}"):
            namespace = next((c for c in self.controllers if hasattr(c, f"action_{action_name}")), self)
        return await super()._dispatch_action(namespace, action_name, params)

    async def _on_message(self, message: Message) -> None:
        if isinstance(message, (RunnerMessage, FilesChanged)) and not self.is_running:
            return   # from a thread, late: the app is shutting down and its widgets are going
        await super()._on_message(message)

    async def on_event(self, event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            await self.keys.arrived(event)   # (one at a time, each where the focus is when its turn comes)
            return
        await super().on_event(event)

    def _on_key(self, event: events.Key) -> None:
        # (Textual calls App._on_key after this one, for the focus chain's bindings: done after it)
        self.keys.handled(event)

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
        self.main.layout_sidebar()
        self.main.fit_panes()
        self.main.show_columns()
        self.status.show(f"starting runner… (opening {self.script.name})", busy=True)
        self.query_one("#picker").border_title = self.script.name
        # the focus now, and its pane's mark (▸) drawn now: the focus event comes after the first
        # frame, and the mark with it in a repaint (the first screen was then that repaint's)
        self.screen.set_focus(self.query_one("#pane-python", LevelPane).view)
        self.main.column("python").set_title()
        self.call_after_refresh(self._first_frame)

    def _first_frame(self) -> None:
        self.timeline["first_frame"] = time.perf_counter()
        # what is here now (the modules, Textual's styles, the widgets) lives as long as the app:
        # left out of the collector's full passes, which took 70-110 ms of a save's way to the
        # screen (2-core EPYC; 140 000 objects each time)
        gc.freeze()
        gc.enable()
        # the runner (a Python process importing torch and triton) starts only now: on a small
        # machine it would take the CPU from the first frame
        self.opening.open_script()
        self.call_later(self.main.mount_rest)
        from workbench.highlight import warm_lexers
        threading.Thread(target=warm_lexers, daemon=True, name="warm-lexers").start()

    # -- what the controllers share --------------------------------------------------------

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def log_view(self) -> views.LogView:
        return self.query_one(views.LogView)

    def log_line(self, text: str, style: str = "") -> None:
        if self.rest_ready:
            self.log_view.add(text, style)
        else:
            self.early_log.append((text, style))

    def title_text(self, extra: str = "") -> str:
        return f" {self.script.name}  ·  {self.script.parent}" + (f"  ·  {extra}" if extra else "")

    @property
    def gpu(self) -> bool:
        return bool(self.opened and self.opened.gpu)

    @property
    def kernel_name(self) -> str:
        return self.current.kernel

    @property
    def spec_id(self) -> str:
        return self.current.spec_id

    @property
    def edit_dir(self) -> Path:
        return self.current.edit

    def level_path(self, level: str) -> Path:
        return self.edit_dir / f"{self.kernel_name}{self.family.suffix(level)}"

    @property
    def last_version(self) -> str:
        """The version whose result is the current one (what R runs, the watches dump, the status
        line and Outputs are about): the edit session's, which alone keeps it."""
        return self.edits.current if self.edits is not None else "original"

    @property
    def last_good(self) -> dict | None:
        """The last result shown."""
        return self.edits.result if self.edits is not None else None

    @property
    def versions(self) -> list[dict]:
        return self.edits.versions if self.edits is not None else []

    @property
    def runner_writes(self) -> int:
        return self.edits.runner_writes if self.edits is not None else 0

    @property
    def map(self):
        return self.main.map

    @property
    def shown_levels(self) -> list[str]:
        return self.main.shown_levels

    def column(self, level: str):
        return self.main.column(level)

    def pane(self, level: str) -> LevelPane:
        return self.main.pane(level)

    # -- the shell's own actions -------------------------------------------------------------

    def action_help(self) -> None:
        classes = [("app", type(self)), ("level", LevelPane), ("view", CodeView), ("history", views.HistoryView),
                   ("dumps", views.DumpsView), ("passes", views.PassesView), ("compare", views.CompareView)]
        from workbench.tui.screens.help_screen import HelpScreen, binding_rows
        self.push_screen(HelpScreen(binding_rows(classes, self.config.keys)))

    def action_quit(self) -> None:
        self.drafting.unless("quit", self.exit)

    def get_system_commands(self, screen):
        """Textual's, less its Quit: ours says ctrl+q and that a draft is asked about."""
        return (c for c in super().get_system_commands(screen) if c.title != "Quit")

    def palette_commands(self) -> list[tuple[str, str, object]]:
        return palette_commands(self)

    def on_unmount(self) -> None:
        gc.enable()   # (an app that ends before its first frame)
        self.closing_down = True          # (a burst of saves flushed late is nobody's: its workers are cancelled)
        self.watcher.stop()
        self.link.close()


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

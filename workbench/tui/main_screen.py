"""The main screen: the kernel picker, the level panes side by side, the results tabs and the
status line; which levels are shown and focused, and how the panes follow one another (the source
map's related lines). The app's keys for the panes land here (``app.main``)."""

from __future__ import annotations

import gc
from functools import partial

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from workbench.tui import widgets as views   # the results tabs: imported as they mount, after the first frame
from workbench.tui.editing import digest
from workbench.tui.follow import follow, lines_said, place
from workbench.tui.format import LEVELS, version_label
from workbench.tui.mapping import LevelMap
from workbench.tui.widgets.code_view import CodeView
from workbench.tui.widgets.kernel_picker import KernelPicker
from workbench.tui.widgets.level_column import LevelColumn
from workbench.tui.widgets.level_pane import PANE_MIN_WIDTH, LevelPane
from workbench.tui.widgets.status_line import StatusLine

DEFAULT_SHOWN = ("python", "ttgir", "ptx")
PICKER_WIDTH = 36             # (app.tcss: KernelPicker)
TAB_FIELDS = {"dumps": "#dump-value", "configs": "#configs-try"}   # a tab's field, focused as it is shown


def after_rest(handler):
    """A controller's handler that needs the widgets mounted after the first frame: until then,
    it comes back later."""
    def wrapper(self, msg):
        if not self.app.rest_ready:
            self.app.set_timer(0.05, partial(wrapper, self, msg))
            return None
        return handler(self, msg)
    wrapper.__name__, wrapper.__doc__ = handler.__name__, handler.__doc__
    return wrapper


def draw_now(app, widget) -> None:
    """``widget``'s change drawn now, with whatever else waits to be, not at the next tick of the
    screen's refresh timer after the handler has done all it does (Textual marks a widget dirty
    on the screen only once the widget is idle: it is marked here, then the timer's callback runs,
    as Pilot's ``pause`` runs it)."""
    screen = app.screen
    dirty, update = getattr(screen, "_dirty_widgets", None), getattr(screen, "_on_timer_update", None)
    if app.is_running and widget.screen is screen and dirty is not None and update is not None:
        dirty.add(widget)   # (Textual's internals, as of 8.2: a Textual without them draws it at its next tick)
        update()


class MainScreen:
    """The panes and the navigation between them (the widgets are the app's default screen's)."""

    SIDEBAR_MIN_WIDTH = 120    # below this the picker hides (three panes of 13 columns help nobody)
    NARROW_TABS = 100   # below this many columns the results' tab labels lose their right padding

    def __init__(self, app) -> None:
        self.app = app
        self.map = LevelMap()
        self.shown_levels: list[str] = list(DEFAULT_SHOWN)
        self.wanted_panes = 3     # `v` asks for 2 or 3; a narrow terminal may fit fewer
        self.hide_locs = False
        self.set_aside: list[str] = []   # levels that gave way (to `v` or a narrow terminal): back first
        self.sidebar: bool | None = None   # the picker shown (True), hidden (False), or by width (None)
        self._focus_next: str | None = None  # a level focused by a key, until its view has the focus
        self.profile_view = None   # mounted with the results, just after the first frame

    def compose(self) -> ComposeResult:
        yield Static(self.app.title_text(), id="title-bar", markup=False)
        with Horizontal(id="main"):
            yield KernelPicker(id="picker")
            with Vertical(id="work"):
                yield Static("", id="level-bar")
                with Horizontal(id="levels"):
                    for level in DEFAULT_SHOWN:
                        yield LevelColumn(level)
                yield Vertical(id="results-slot")
        yield StatusLine("starting runner…", id="status")

    async def mount_rest(self) -> None:
        """What the first frame can do without (hidden levels, results, footer), mounted just after
        it: the first screen comes at once."""
        from textual.widgets import Footer, TabbedContent, TabPane   # (imported here: not needed for the first frame)
        levels = self.app.query_one("#levels")
        for i, level in enumerate(LEVELS):
            if self.app.query(f"#col-{level}"):
                continue
            column = LevelColumn(level)
            column.display = False
            after = [lv for lv in LEVELS[i + 1:] if self.app.query(f"#col-{lv}")]
            await levels.mount(column, before=self.column(after[0]) if after else None)
        tabs = TabbedContent(id="results")
        await self.app.query_one("#results-slot").mount(tabs)
        self.narrow_tabs()
        for pane in (TabPane("Outputs", views.OutputsView(), id="outputs"),
                     TabPane("Dumps", views.DumpsView(), id="dumps"), TabPane("Bench", views.BenchView(), id="bench"),
                     TabPane("Configs", views.ConfigsView(), id="configs"),
                     TabPane("History", views.HistoryView(), id="history"),
                     TabPane("Profile", views.ProfileView(), id="profile"),
                     TabPane("Passes", views.PassesView(), id="passes"),
                     TabPane("Compare", views.CompareView(), id="compare"),
                     TabPane("Sanitize", views.SanitizeView(), id="sanitize"), TabPane("Log", views.LogView(), id="log")):
            if not self.app.is_running:
                return   # the app is ending before it is all mounted (a quick quit, a test)
            await tabs.add_pane(pane)
        if not self.app.is_running:
            return
        tabs.active = "outputs"
        self.profile_view = self.app.query_one(views.ProfileView)   # (asked for its profile at every pane's load)
        await self.app.mount(Footer())
        self.app.screen.refresh_bindings()   # (the footer lists keys on a change of them: else blank until a key)
        for pane in self.app.query(LevelPane):
            pane.add_tools()
        self.app.rest_ready = True
        gc.freeze()   # the results tabs too live as long as the app (app._first_frame)
        for text, style in self.app.early_log:
            self.app.log_view.add(text, style)
        self.app.early_log.clear()
        self.show_columns()

    def show_columns(self) -> None:
        order = [lv for lv in LEVELS if lv in self.shown_levels]
        self.shown_levels = order
        for level in LEVELS:
            for column in self.app.query(f"#col-{level}"):
                column.display = level in order
                column.retitle(self.app.family.title(level))
        bar = []
        for i, level in enumerate(LEVELS, 1):
            style = "reverse bold" if level in order else "dim"
            bar.append(f"[@click=app.show_level('{level}')][{style}] {i} {self.app.family.title(level)} [/][/]")
        self.app.query_one("#level-bar", Static).update(" ".join(bar) + "   [dim]< > switch · v 2/3 panes · "
                                                    "e edit · f follow · ? help[/]", layout=False)   # (one line)

    def results_tab(self) -> str:
        """The results tab shown (the tabs are mounted just after the first frame)."""
        return self.app.query_one("#results").active

    def column(self, level: str) -> LevelColumn:
        return self.app.query_one(f"#col-{level}", LevelColumn)

    def pane(self, level: str) -> LevelPane:
        return self.column(level).pane

    def load_levels(self, levels=LEVELS) -> None:
        """Levels from edit/ into their panes, each titled with what it shows; a draft typed in
        a pane stays; a missing file shows why, and is not editable."""
        for level in levels:
            path = self.app.level_path(level)
            col = self.column(level)
            col.path = path
            try:
                data = path.read_bytes()
            except OSError as e:
                data, d, missing = None, None, f"no {self.app.family.title(level)} file ({path.name}: {e.strerror or e})"
                if level in self.app.edits.coming:   # (a save's SASS: disassembled once its verdict is out)
                    missing = f"the {self.app.family.title(level)} of {version_label(self.app.edits.current)} is being " \
                              "made: it follows the verdict"
            else:
                d, missing = digest(data), None
            if self.app.edits.shown.get(level, "") != d:   # else the pane shows this very file already
                self.app.edits.shown[level] = d
                text = data.decode("utf-8", errors="replace") if data is not None else f"({missing})"
                col.pane.load(text, level, missing, lexer=self.app.family.lexer(level))
            self.title(level)
        self.remap()

    def title(self, level: str) -> None:
        """A pane's title says what it shows: original, edited (vN), a draft, a save compiling."""
        column = self.column(level)
        if self.app.edits is None:
            column.set_title()
            return
        if column.pane.draft_text() is not None:
            self.app.edits.drafts[level] = column.pane.draft_text()
        else:
            self.app.edits.drafts.pop(level, None)
        column.set_title(self.app.edits.shown_note(level))
        self.heat(level)

    def heat(self, level: str) -> None:
        """The pane's heat column: its text's version's profile, if that version was profiled."""
        result = self.profile_view.result if self.profile_view is not None else None
        who = self.app.edits.shown_provenance(level) if self.app.edits and result else None
        self.column(level).pane.view.set_heat(views.heat_for(result, who, level))

    def remap(self) -> None:
        focused = self.app.focused
        if isinstance(focused, CodeView) and focused.level in LEVELS:
            self._highlight_related(focused.level, focused.cursor_line)

    def on_code_view_cursor_moved(self, event: CodeView.CursorMoved) -> None:
        if event.code_view.level in LEVELS:
            self._highlight_related(event.code_view.level, event.line)

    def _highlight_related(self, level: str, line: int) -> None:
        self.highlight_lines(self.map.related(level, line))
        if self.app.rest_ready:
            self.app.query_one(views.PassesView).highlight_sources(self.map.sources(level, line))

    def highlight_lines(self, related: dict[str, list[int]]) -> None:
        for other in LEVELS:
            col = self.column(other)
            if col.error is None:
                col.pane.view.highlight_lines(related.get(other, []))

    def on_code_view_jumped(self, event: CodeView.Jumped) -> None:
        if not event.found or event.what in ("find", "copy"):
            self.app.status.show(event.detail)

    def action_toggle_locs(self) -> None:
        """``loc(...)`` annotations and ``#loc`` lines of TTIR/TTGIR, hidden or shown (display only:
        the mapping between levels still reads them)."""
        self.hide_locs = not self.hide_locs
        for level in LEVELS:
            self.pane(level).view.set_hide_locs(self.hide_locs)
        self.app.status.show(f"loc(...) annotations {'hidden' if self.hide_locs else 'shown'} (key #)")

    def focused_level(self) -> str:
        if self._focus_next is not None:
            return self._focus_next
        node = self.app.focused
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
        self.show_columns()
        self.focus_level(level)
        if related.get(level):
            place(self.pane(level).view, related[level][0], cursor=True)

    def action_show_level(self, level: str) -> None:
        if level in self.shown_levels:
            self.focus_level(level)
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
            self.app.notify(f"{self.app.size.width} columns fit {fits} pane{'s' if fits > 1 else ''} of {PANE_MIN_WIDTH} "
                        f"or more{' (S hides the sidebar)' if self.app.query_one(KernelPicker).display else ''}",
                        timeout=3)
            return
        self.wanted_panes = 2 if self.wanted_panes >= 3 else 3
        self.fit_panes()

    def _panes_that_fit(self, width: int | None = None) -> int:
        picker = self.app.query_one(KernelPicker)
        room = (width or self.app.size.width) - (PICKER_WIDTH if picker.display else 0)
        return max(1, room // PANE_MIN_WIDTH)

    def fit_panes(self, width: int | None = None) -> None:
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
        self.show_columns()

    def action_focus_pane(self, step: int) -> None:
        here = self.focused_level()
        i = self.shown_levels.index(here) if here in self.shown_levels else 0
        self.focus_level(self.shown_levels[(i + step) % len(self.shown_levels)])

    def focus_level(self, level: str) -> None:
        """Focus a level's view now, so that the next key (pressed before the next frame) goes
        to it and moves on from it (``focus()`` would land a frame later). A view just shown
        may not take the focus yet: until it does, the level counts as the focused one."""
        view = self.pane(level).view
        self.app.screen.set_focus(view)
        if self.app.focused is view:
            self._focus_next = None
            return
        self._focus_next = level

        def land() -> None:
            if self._focus_next == level:
                self._focus_next = None
                self.app.screen.set_focus(view)
        self.app.call_after_refresh(land)

    def action_follow(self) -> None:
        """``f``: the focus to the next shown pane at its line mapped from the cursor's, every other
        shown pane scrolled to its own; with one pane shown (a narrow terminal), the next level."""
        here = self.focused_level()
        related, views_shown = self._mapped_here(), {lv: self.pane(lv).view for lv in self.shown_levels}
        if len(self.shown_levels) == 1:
            level = LEVELS[(LEVELS.index(here) + 1) % len(LEVELS)]
            self.action_show_level(level)
            said = f"f: {lines_said(level, related.get(level, []), self.app.family)} " \
                   f"(from {self.app.family.title(here)} line {views_shown[here].cursor_line})"
        else:
            level, said = follow(self.shown_levels, here, related, views_shown, self.app.family)
            self.focus_level(level)
        self.app.status.show(said)

    def action_focus_picker(self) -> None:
        self.sidebar = True if not self.app.query_one(KernelPicker).display else self.sidebar
        self.layout_sidebar()
        self.app.query_one(KernelPicker).focus()

    def on_resize(self, event) -> None:
        self.layout_sidebar(event.size.width)
        self.fit_panes(event.size.width)
        self.narrow_tabs(event.size.width)

    def narrow_tabs(self, width: int | None = None) -> None:
        """The results' tab labels close up on a narrow terminal (all ten fit in 80 columns). A
        class on the tabs alone: Textual's screen breakpoints re-styled every widget on screen at
        the first frame's resize (15-30 ms of the first screen on a 2-core EPYC)."""
        for tabs in self.app.query("#results"):
            tabs.set_class((width or self.app.size.width) < self.NARROW_TABS, "-narrow")

    def layout_sidebar(self, width: int | None = None) -> None:
        """The picker shows as the user said (``S``), or, until they say, when the terminal is wide."""
        show = self.sidebar if self.sidebar is not None else (width or self.app.size.width) >= self.SIDEBAR_MIN_WIDTH
        picker = self.app.query_one(KernelPicker)
        if picker.display != show:
            if not show and picker.has_focus:
                self.pane(self.shown_levels[0]).view.focus()
            picker.display = show

    def action_toggle_sidebar(self) -> None:
        self.sidebar = not self.app.query_one(KernelPicker).display
        self.layout_sidebar()
        self.fit_panes()
        self.app.notify(f"sidebar {'shown' if self.sidebar else 'hidden'} (key S)", timeout=2)

    def action_results(self, tab: str, field: bool = False) -> None:
        """A results tab; ``field``: its field (Dumps, Configs) focused, ready to type into (the tab's
        key does that; a tab shown by another action, x, w or F, leaves the focus in the code)."""
        tabs = self.app.query_one("#results")
        if self.app.focused is not None and tabs in self.app.focused.ancestors:
            # focus left in the tab going away would bring it back (TabbedContent follows focus)
            self.pane(self.shown_levels[0]).view.focus()
        tabs.active = tab
        if field and tab in TAB_FIELDS:
            self.app.query_one(TAB_FIELDS[tab]).focus()

    def on_tabbed_content_tab_activated(self, event) -> None:   # (TabbedContent.TabActivated)
        if event.pane.id == "history" and self.app.history.stale:
            self.app.history.show()
        if event.pane.id == "configs":
            self.app.configs.show()
        if event.pane.id == "passes":
            self.app.passes.show()
        if event.pane.id == "sanitize":
            self.app.sanitize.show()

    def panes_at_start(self, entry: dict) -> None:
        """A kernel just loaded: every pane at its top, the Python pane at the kernel's ``def``
        (after a refresh: a pane scrolls only once it has its size)."""
        for level in LEVELS:
            view = self.pane(level).view
            line = (entry.line or 1) if level == "python" else 1
            view.show_from_top(line)

    def highlight_current(self) -> None:
        picker = self.app.query_one(KernelPicker)
        if self.app.current in self.app.kernels:
            picker.highlighted = self.app.kernels.index(self.app.current)

    def on_profile_view_done(self, msg: views.ProfileView.Done) -> None:
        for level in LEVELS:
            self.heat(level)

    def on_text_area_changed(self, event) -> None:
        pane = next((a for a in event.text_area.ancestors if isinstance(a, LevelPane)), None)
        if pane is not None and self.app.edits is not None:
            self.title(pane.view.level)

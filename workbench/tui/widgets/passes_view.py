"""The Passes tab: the IR after every pass of the selected kernel's MLIR stages (the runner's
``passes``, recorded once and kept in ``passes/`` of its folder), the diff against the previous
changed pass or a pass marked with ``m``, an edit of a pass's IR saved as a version that starts
after it, which pass introduced a TTGIR/LLIR line, and, for a version edited at Python or TTIR,
which passes did something else for it.

The recording is asked for on a thread the first time the tab shows a kernel (it takes the
compile's time again) and kept per kernel; the IR is read from the pass files as a row is
highlighted, and the diff is made on a thread (difflib over two 2 MB LLVM-dialect modules takes
seconds)."""

from __future__ import annotations

import difflib
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from workbench.model import srcmap  # text only: which Python line each line of an IR came from
from workbench.tui.widgets.table import TableView
from workbench.tui.widgets.code_view import CodeView
from workbench.tui.widgets.history_view import diff_text
from workbench.tui.widgets.level_pane import LIST_MIN_WIDTH, PANE_MIN_WIDTH, LevelPane, width_beside_panes

HEADER_LINES = 2   # the pass file's header (which pass it follows, its metadata), above the IR
CHANGED, SAME, UNKNOWN = "●", "·", "?"
LIST_WIDTH = 84   # the list with every column in sight


def ir_of(text: str) -> list[str]:
    """A pass file's IR without its header, as lines for a diff."""
    return text.splitlines(keepends=True)[HEADER_LINES:]


def pass_diff(old: dict, old_text: str, new: dict, new_text: str) -> str:
    """Unified diff of the IR after pass ``old`` and after pass ``new`` (their table rows)."""
    a, b = (f"{r['number']:02d}-{r['pass']}" for r in (old, new))
    lines = list(difflib.unified_diff(ir_of(old_text), ir_of(new_text), a, b, n=2))
    return "".join(lines) if lines else f"the IR after {b} is the same as after {a}"


def sources_of(text: str) -> dict[int, list[tuple[str, int]]]:
    """A pass file's line -> the Python (file name, line)s it came from (innermost, and the kernel's
    line that called it), the keys the app's cross-level map (:class:`workbench.tui.mapping.LevelMap`)
    joins on."""
    return {n: [(Path(f).name, ln) for f, ln in srcmap.ends(locs)] for n, locs in srcmap.mlir_map(text).items()
            if locs}


def rows_shown(rows: list[dict], collapsed: bool) -> list[tuple[str, list[dict]]]:
    """The table's rows: one per pass, or (``collapsed``) each run of passes that changed
    nothing as one row. Each is (key, the passes it stands for); the key is the first one's number."""
    out: list[tuple[str, list[dict]]] = []
    for r in rows:
        if collapsed and r["changed"] is False and out and out[-1][1][0]["changed"] is False:
            out[-1][1].append(r)
            continue
        out.append((str(r["number"]), [r]))
    return out


class PassesView(Horizontal):
    ALLOW_MAXIMIZE = True   # z: the three panes over the whole screen (the tab is a third of it)
    DEFAULT_CSS = """
    PassesView > Vertical { width: 1fr; height: 1fr; border-left: vkey $panel; }
    PassesView > #passes-list { width: 84; border-left: none; }
    PassesView #passes-summary { height: auto; max-height: 4; color: $text-muted; }
    PassesView .pass-title { height: 1; background: $panel; }
    PassesView DataTable, PassesView LevelPane, PassesView VerticalScroll { height: 1fr; }
    PassesView VerticalScroll { overflow-x: auto; }
    PassesView #pass-diff { width: auto; }
    """
    BINDINGS = [
        Binding("a", "toggle_unchanged", "All passes / changed", id="passes.unchanged"),
        Binding("m", "mark", "Diff against this pass", id="passes.mark"),
        Binding("z", "zoom", "Zoom", id="passes.zoom"),
        Binding("t", "swap", "IR / diff", id="passes.swap"),   # (where one pane fits)
    ]

    class SavePass(Message):
        """The IR after a pass, edited: the app writes it into edit/ and compiles from it."""

        def __init__(self, file_name: str, level: str, text: str) -> None:
            super().__init__()
            self.file_name, self.level, self.text = file_name, level, text

    class Mapped(Message):
        """The IR pane's cursor is on a line from these Python lines: the app highlights the levels' lines."""

        def __init__(self, sources: list[tuple[str, int]]) -> None:
            super().__init__()
            self.sources = sources

    class Jumped(Message):
        """Where a jump from a level's line landed, in words (for the status line)."""

        def __init__(self, sentence: str) -> None:
            super().__init__()
            self.sentence = sentence

    def compose(self) -> ComposeResult:
        with Vertical(id="passes-list"):
            yield Static("select a kernel: its passes are recorded when this tab is shown", id="passes-summary")
            yield TableView(id="passes-table", cursor_type="row", zebra_stripes=True)
        with Vertical(id="ir-side"):
            yield Static("", id="pass-title", classes="pass-title", markup=False)
            yield LevelPane("", "ttgir", id="pass-ir")
        with Vertical(id="diff-side"):
            yield Static("", id="diff-title", classes="pass-title", markup=False)
            with VerticalScroll():
                yield Static("", id="pass-diff")

    def on_mount(self) -> None:
        self.spec_id: str | None = None
        self.data: dict[str, dict] = {}          # spec id -> the runner's passes answer
        self.compare: dict[tuple[str, str], dict] = {}  # (spec id, version) -> its compare answer
        self.version: tuple[str, str] | None = None  # the version compared: (number, level)
        self.collapsed = True
        self.marked: int | None = None
        self.selected: dict | None = None
        self.jump_after: tuple[str, int] | None = None  # (level, line) to jump to once the passes come
        self._texts: dict[str, str] = {}   # pass file's path -> its text
        self._asked: set[tuple[str, str | None]] = set()   # requests in flight: each is made once
        self._sources: dict[str, dict[int, list[tuple[str, int]]]] = {}  # pass file -> its lines' Python lines
        self._drafts: dict[tuple[str, str], str] = {}  # (spec id, pass file) -> IR typed and not saved
        self._shown: tuple[str, str] | None = None     # the (spec id, pass file) in the IR pane
        self.diff_text = ""
        self._diff_for: tuple | None = None
        self.one_pane = False     # the view fits one pane beside the list: the IR's, or the diff's
        self.diff_shown = False   # (t) which, where one fits

    def on_resize(self, event) -> None:
        if event.size.width:   # (0: the tab is hidden)
            self._lay_out(event.size.width)

    def _lay_out(self, width: int) -> None:
        """The list at its width where both panes fit beside it at PANE_MIN_WIDTH, narrower (down
        to LIST_MIN_WIDTH) to keep them; where only one fits, the IR's or (t) the diff's."""
        self.one_pane = width < LIST_MIN_WIDTH + 2 * PANE_MIN_WIDTH
        self.query_one("#passes-list").styles.width = width_beside_panes(width, LIST_WIDTH, 1 if self.one_pane else 2)
        self.query_one("#ir-side").display = not (self.one_pane and self.diff_shown)
        self.query_one("#diff-side").display = not self.one_pane or self.diff_shown
        self._compare_summary()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        return self.one_pane if action == "swap" else True

    def action_swap(self) -> None:
        self.diff_shown = not self.diff_shown
        self._lay_out(self.size.width)

    def _ir_in_sight(self) -> None:
        """Where one pane fits: the IR's (a jump lands in it, an error is shown at its line)."""
        if self.one_pane and self.diff_shown:
            self.action_swap()

    # -- what is shown -------------------------------------------------------------------------

    @property
    def rows(self) -> list[dict]:
        return self.data[self.spec_id]["passes"] if self.spec_id in self.data else []

    @property
    def folder(self) -> Path:
        return Path(self.data[self.spec_id]["folder"])

    def show_kernel(self, spec_id: str, version: tuple[str, str] | None = None) -> None:
        """The passes of this kernel, recorded first if they are not yet; ``version`` (number,
        level edited): the version compared with the original, pass by pass."""
        if version is not None and version[1] not in ("python", "ttir", "ttgir"):
            version = None   # edited below TTGIR: it ran no MLIR pass
        changed = spec_id != self.spec_id
        other_version = version != self.version
        self.spec_id, self.version = spec_id, version
        if changed:
            self.marked, self.selected, self._texts = None, None, {}
        if spec_id not in self.data:
            self._summary(Text("recording the IR after every pass (the compile once more)…", style="dim"))
            self.query_one(DataTable).clear()
            self.fetch(spec_id, None)
            return
        if changed or other_version:
            self._refill()
        if version is not None and (spec_id, version[0]) not in self.compare:
            self.fetch(spec_id, version[0])

    def fetch(self, spec_id: str, version: str | None) -> None:
        if (spec_id, version) not in self._asked:
            self._asked.add((spec_id, version))
            self._fetch(spec_id, version)

    @work(group="passes", exit_on_error=False)
    async def _fetch(self, spec_id: str, version: str | None) -> None:
        try:
            data = await self.app.link.request("passes", kernel=spec_id, version=version, timeout=300)
        except Exception as e:  # noqa: BLE001 - a RunnerError (no such version, a compile error) or a crash: said
            self._failed(spec_id, version, e)
            return
        self._fetched(spec_id, version, data)

    def _failed(self, spec_id: str, version: str | None, e: Exception) -> None:
        self._asked.discard((spec_id, version))   # asked again the next time the tab shows it
        if spec_id != self.spec_id:
            return
        message = getattr(e, "lines", lambda: [f"{type(e).__name__}: {e}"])()
        self._summary(Text("passes: " + "; ".join(message), style="red") if version is None else
                      Text(f"version {version} against the original: " + "; ".join(message), style="red"))

    def _fetched(self, spec_id: str, version: str | None, data: dict) -> None:
        self._asked.discard((spec_id, version))
        self.data.setdefault(spec_id, {k: v for k, v in data.items() if k != "compare"})
        if "compare" in data:
            self.compare[spec_id, version] = data["compare"]
        if spec_id != self.spec_id:
            return   # another kernel is shown now: kept for when it comes back
        if version is None:
            self._fill()
            if self.jump_after is not None:
                self.jump_to_line(*self.jump_after)
            if self.version is not None and (spec_id, self.version[0]) not in self.compare:
                self.fetch(spec_id, self.version[0])
        elif self.version is not None and version == self.version[0]:
            self._refill()   # its column

    def _refill(self) -> None:
        """The table again for another version compared; while a pass's IR is being edited only
        the summary (the editor keeps its place), the table follows the next time it is drawn."""
        if self.query_one("#pass-ir", LevelPane).editing:
            self._compare_summary()
        else:
            self._fill()

    def _summary(self, text: Text | str) -> None:
        self.query_one("#passes-summary", Static).update(text)

    def _compare_rows(self) -> dict[tuple[str, int], dict]:
        found = self.compare.get((self.spec_id, self.version[0])) if self.version else None
        return {(r["stage"], r["index"]): r for r in found["passes"]} if found else {}

    def _fill(self, number: int | None = None) -> None:
        """The table again (folded or not, compared or not), with pass ``number`` (default: the
        one selected) highlighted and shown."""
        table = self.query_one(DataTable)
        keep = number if number is not None else self.selected["number"] if self.selected else None
        vs = self._compare_rows()
        table.clear(columns=True)
        table.add_columns("#", "stage", "pass", "", "+/-", "ms", *([f"v{self.version[0]}"] if vs else []))
        at = 0
        for i, (key, group) in enumerate(rows_shown(self.rows, self.collapsed)):
            r = group[0]
            cmp = vs.get((r["stage"], r["index"]))
            acts = cmp is not None and cmp["decided_otherwise"]
            if len(group) > 1:
                cells = (f"{r['number']:02d}", r["stage"], Text(f"… {len(group)} passes changed nothing", style="dim"),
                         SAME, "", f"{sum(g['ms'] for g in group):.2f}")
            else:
                mark = "" if r["index"] < 0 else {True: CHANGED, False: SAME, None: UNKNOWN}[r["changed"]]
                delta = f"+{r['added']}/-{r['removed']}" if r["changed"] and r["index"] >= 0 else ""
                version = Text(f"{cmp['own_version']} vs {cmp['own_original']}", style="yellow") if acts else ""
                name = Text(r["pass"][:34] + ("…" if len(r["pass"]) > 34 else ""),
                            style="bold yellow" if acts else "bold" if r["changed"] and r["index"] >= 0 else "dim")
                if self.marked == r["number"]:
                    name.append(" (marked)", style="cyan")
                cells = (f"{r['number']:02d}", r["stage"], name, mark, delta, f"{r['ms']:.2f}", *([version] if vs else []))
            table.add_row(*cells, key=key)
            if keep is not None and any(g["number"] == keep for g in group):
                at = i
        if table.row_count:
            table.move_cursor(row=at)
            group = self._group_at(at)
            self._select(next((g for g in group if g["number"] == keep), group[0]), force=True)
        self._compare_summary()

    def _compare_summary(self) -> None:
        if self.spec_id not in self.data:
            return
        rows = self.rows
        changed = sum(r["changed"] is True for r in rows)
        words = f"{len(rows)} passes, {changed} changed the IR · a: {'all' if self.collapsed else 'fold'} · " \
                f"m: diff against · e, ctrl+s: a version after it · z: zoom" + " · t: IR / diff" * self.one_pane
        text = Text(words)
        if self.version is not None:
            found = self.compare.get((self.spec_id, self.version[0]))
            label = f"v{self.version[0]} (edited at {self.version[1].upper() if self.version[1] != 'python' else 'Python'})"
            if found is None:
                text.append(f"\n{label} against the original: recording its passes…", style="dim")
            else:
                acting = [r for r in found["passes"] if r["decided_otherwise"]]
                text.append(f"\n{label}: {len(acting)} of {len(found['passes'])} passes did something else"
                            + (f" (in yellow; v{self.version[0]}: the lines each changed, vs the original's)"
                               if acting else ""), style="yellow" if acting else "green")
        self._summary(text)

    def _group_at(self, row: int) -> list[dict]:
        return rows_shown(self.rows, self.collapsed)[row][1]

    # -- one pass ---------------------------------------------------------------------------------

    def pass_text(self, row: dict) -> str | None:
        """The pass file's text (header and IR), read once; None where the IR was not kept."""
        if row.get("file") is None:
            return None
        path = str(self.folder / row["file"])
        if path not in self._texts:
            try:
                self._texts[path] = Path(path).read_text()
            except OSError as e:
                return f"// {path}: {e.strerror or e}"
        return self._texts[path]

    def base_of(self, row: dict) -> dict | None:
        """What a pass is diffed against: the marked pass, else the last pass before it that changed the IR."""
        if self.marked is not None and self.marked != row["number"]:
            return next((r for r in self.rows if r["number"] == self.marked), None)
        return next((r for r in reversed(self.rows[:row["number"]]) if r["changed"] is not False), None)

    def _select(self, row: dict, force: bool = False) -> None:
        if row is self.selected and not force:
            return
        self.selected = row
        text = self.pass_text(row)
        if self._shown != (self.spec_id, row["file"]):
            self._show_ir(row, text)
        # else the table was drawn again around the pass in the pane (a version compared, a mark):
        # what the pane holds stays, its saved edit or its draft with its title
        base = self.base_of(row)
        self.query_one("#diff-title", Static).update(
            f" diff vs {base['number']:02d} {base['pass']}" + (" (marked)" if base["number"] == self.marked else "")
            if base is not None else " diff")
        static = self.query_one("#pass-diff", Static)
        self._diff_for = (row["number"], base["number"] if base else None)
        if text is None:
            static.update("")
            return
        if base is None:
            static.update(Text("the stage's input: nothing before it", style="dim"))
        else:
            static.update(Text(f"diffing against {base['number']:02d} {base['pass']}…", style="dim"))
        self._make_diff(base, self.pass_text(base) or "" if base else "", row, text)

    def _show_ir(self, row: dict, text: str | None) -> None:
        """Pass ``row``'s recorded IR in the pane, with what was typed there and not saved."""
        pane = self.query_one("#pass-ir", LevelPane)
        self._keep_draft(pane)
        level = "ttir" if row["stage"] == "ttir" else "ttgir"
        if text is None:
            pane.load(f"// the IR after {row['pass']} was not kept: this Triton cannot print the module it leaves", level,
                      missing=f"the IR after {row['pass']}")
        else:
            pane.load(text, level)
        self._shown = (self.spec_id, row["file"])
        draft = self._drafts.get(self._shown)
        if draft is not None:   # typed before another pass was looked at: still there
            pane.hold_draft(draft)
            self.app.notify(f"pass {row['number']:02d}'s IR holds a draft: e goes on editing, ctrl+s saves it, "
                            f"u discards it")
        self.query_one("#pass-title", Static).update(
            f" after {row['number']:02d} {row['pass']} ({row['stage'].upper()})")

    def _keep_draft(self, pane: LevelPane) -> None:
        """IR typed for the pass shown and not saved is kept for that pass (a row moved to
        another pass, or another kernel, never takes it): nothing typed is lost."""
        text = pane.draft_text()
        if self._shown is not None and text is not None:
            self._drafts[self._shown] = text
        elif self._shown is not None and not pane.has_draft:
            self._drafts.pop(self._shown, None)   # discarded (u) or saved
        pane.has_draft = False
        pane.stop_editing()
        pane.editor.load_text("")

    @work(thread=True, exclusive=True, group="pass-diff", exit_on_error=False)
    def _make_diff(self, base: dict | None, base_text: str, row: dict, text: str) -> None:
        path = str(self.folder / row["file"])
        sources = self._sources.get(path) or sources_of(text)
        diff = pass_diff(base, base_text, row, text) if base is not None else ""
        shown = diff_text(diff)
        self.app.call_from_thread(self._show_diff, (row["number"], base["number"] if base else None), diff, shown,
                                  path, sources)

    def _show_diff(self, made_for: tuple, diff: str, shown: Text, path: str, sources: dict) -> None:
        self._sources[path] = sources
        if made_for != self._diff_for:
            return   # another pass (or base) was asked for meanwhile
        if made_for[1] is None:
            return   # the stage's input: its lines are mapped, there is nothing to diff
        self.diff_text = diff
        self.query_one("#pass-diff", Static).update(shown)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key is None or self.spec_id not in self.data or event.cursor_row != event.data_table.cursor_row:
            return   # (a row the cursor passed while the table was drawn again: not where it is)
        number = int(event.row_key.value)
        self._select(next(r for r in self.rows if r["number"] == number))

    # -- cross-level mapping --------------------------------------------------------------------

    def on_code_view_cursor_moved(self, event: CodeView.CursorMoved) -> None:
        """A line of the IR pane: the levels' lines from the same Python line (not the app's
        mapping of a level's own line numbers: this text is not that level's file)."""
        event.stop()
        if self.selected is None or self.selected.get("file") is None:
            return
        mine = self._sources.get(str(self.folder / self.selected["file"]), {})
        self.post_message(self.Mapped(mine.get(event.line, [])))

    def highlight_sources(self, sources: list[tuple[str, int]]) -> None:
        """The IR pane's lines from these Python lines (a level pane's cursor line's)."""
        if self.selected is None or self.selected.get("file") is None:
            return
        wanted = set(sources)
        mine = self._sources.get(str(self.folder / self.selected["file"]), {})
        self.query_one("#pass-ir", LevelPane).view.highlight_lines(n for n, keys in mine.items() if wanted & set(keys))

    # -- keys --------------------------------------------------------------------------------

    def action_toggle_unchanged(self) -> None:
        self.collapsed = not self.collapsed
        self._fill()

    def action_mark(self) -> None:
        """The highlighted pass becomes what the others are diffed against (m again: unmarked)."""
        if self.selected is None:
            return
        number = self.selected["number"]
        self.marked = None if self.marked == number else number
        self.app.notify(f"diffs against pass {number:02d} {self.selected['pass']}" if self.marked is not None else
                        "diffs against the previous changed pass")
        self._fill()

    def action_zoom(self) -> None:
        """The three panes over the whole screen, or back in their tab; the IR's cursor stays in sight."""
        screen = self.screen
        if screen.maximized is self:
            screen.minimize()
        else:
            screen.maximize(self, container=False)
        view = self.query_one("#pass-ir", LevelPane).view
        self.call_after_refresh(lambda: view.goto_line(view.cursor_line))

    def on_level_pane_save(self, event: LevelPane.Save) -> None:
        """ctrl+s in the IR pane: the edited IR after this pass, header and all, to compile from."""
        event.stop()
        if self.selected is None or self.selected.get("file") is None:
            return
        self.post_message(self.SavePass(self.selected["file"], event.level, event.text))
        self._drafts.pop((self.spec_id, self.selected["file"]), None)
        event.pane.view.load(event.text, event.level)   # what was saved (edit/, not the recording) is shown
        event.pane.saved()
        self.query_one("#pass-title", Static).update(f" after {self.selected['number']:02d} {self.selected['pass']}: "
                                                     f"edited, saved to edit/{self.selected['file']}")

    def show_error(self, file_name: str, d: dict, text: str) -> None:
        """A saved pass IR that did not compile: the error at its line, where it was typed."""
        if self.selected is None or self.selected.get("file") != file_name:
            return
        line, col = int(d["line"]), max(int(d.get("column") or d.get("col") or 1) - 1, 0)
        self._ir_in_sight()
        pane = self.query_one("#pass-ir", LevelPane)
        pane.view.highlight_lines({line})
        pane.view.goto_line(line, col)
        if pane.editing:
            pane.editor.move_cursor((line - 1, col))
        self.query_one("#pass-title", Static).update(f" ✗ {file_name}: {text}")

    def on_level_pane_draft_changed(self, event: LevelPane.DraftChanged) -> None:
        event.stop()   # not a level's draft: the app's drafts are the level panes'
        if event.text is not None:
            self.app.notify("the pass's IR is kept as a draft: e goes on editing, ctrl+s saves it as a version")

    # -- which pass made a line -----------------------------------------------------------------

    def jump_to_line(self, level: str, line: int) -> None:
        """Select the pass that introduced ``level``'s line ``line`` (of the original's text) and
        put the IR pane's cursor on it there; says where in a :class:`Jumped`. Before the passes
        have come, the jump waits for them."""
        if self.spec_id not in self.data:
            self.jump_after = (level, line)
            self.post_message(self.Jumped("recording the passes first…"))
            return
        self.jump_after = None
        hit = self.data[self.spec_id].get("introduced", {}).get(level, {}).get(str(line))
        if hit is None:
            self.post_message(self.Jumped(f"{level.upper()} line {line}: no op with a Python location there, "
                                          f"or no MLIR pass made it"))
            return
        row = next(r for r in self.rows if r["number"] == hit["pass"])  # it changed the IR: never folded
        self._fill(row["number"])
        self._ir_in_sight()
        view = self.query_one("#pass-ir", LevelPane).view
        view.goto_line(hit["line"] + HEADER_LINES)
        how = "" if hit["exact"] else " (its first LLVM-dialect op there: the translation to LLVM IR renamed it)"
        self.post_message(self.Jumped(f"{level.upper()} line {line} was introduced by pass {row['number']:02d} "
                                      f"{row['pass']} ({row['stage'].upper()} stage){how}"))

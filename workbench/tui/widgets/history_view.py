"""The History tab: every saved version (level edited, time, result), the diff of its edited
level against the original, the previous version or any version marked with ``m``, and restore;
under a version, a row per sanitize run of it (its tools, errors and new ones; its errors beside)."""

from __future__ import annotations

import difflib
import re
import time
from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from workbench.model.levels import REGISTRY, title_of
from workbench.model.results import SanitizeRun, Version
from workbench.tui.widgets.table import TableView
from workbench.tui.format import RESOURCE_COLUMNS, STATUS_WORDS, resource_cells
from workbench.tui.widgets.level_pane import PANE_MIN_WIDTH


def version_time(folder: str | Path) -> str:
    try:
        return time.strftime("%H:%M:%S", time.localtime(Path(folder).stat().st_mtime))
    except OSError:
        return "-"


def _read(path: Path) -> list[str] | None:
    try:
        return path.read_text(errors="replace").splitlines(keepends=True)
    except OSError:
        return None


def version_diff(kernel: str, kernel_folder: Path, version: Version, base: str = "original",
                 versions: list[Version] | None = None) -> str:
    """Unified diff of a version's edited level against the original's, the previous version's,
    or any other version's (``base`` = "original", "previous" or a version number)."""
    level = version.level
    name = f"{kernel}{REGISTRY[level].suffix if level in REGISTRY else '.' + level}"
    new_path = version.folder / name
    old_path, old_label = kernel_folder / "original" / name, "original"
    if base == "previous" and versions:
        earlier = [v for v in versions if v.number < version.number]
        if earlier:
            prev = earlier[-1]
            prev_file = prev.folder / name
            if prev_file.exists():  # else it edited a level below this one: compare with the original
                old_path, old_label = prev_file, f"v{prev.number}"
    if base not in ("original", "previous") and versions:
        other = next((v for v in versions if v.label == str(base)), None)
        other_file = other.folder / name if other else None
        if other_file is not None and other_file.exists():  # that version has this level (edited or derived)
            old_path, old_label = other_file, f"v{other.number}"
    old, new = _read(old_path), _read(new_path)
    if new is None:
        return f"{new_path}: not found"
    if old is None:
        return f"{old_path}: not found (nothing to compare with)"
    if level in ("ttir", "ttgir"):
        old, new = _without_loc_files(old), _without_loc_files(new)
    lines = list(difflib.unified_diff(old, new, f"{old_label}/{name}", f"v{version.number}/{name}", n=2))
    return "".join(lines) if lines else f"v{version.number} {title_of(level)} is the same as {old_label}"


_LOC_FILE = re.compile(r'loc\("[^"]*"(?=:\d+:\d+\))')


def _without_loc_files(lines: list[str]) -> list[str]:
    """``loc("…/edit/k.py":17:5)`` as ``loc("…":17:5)``: a level derived from a Python edit names
    the edited copy in every location, and the diff would be all locations."""
    return [_LOC_FILE.sub('loc("…"', line) for line in lines]


DIFF_LINES_SHOWN = 2000   # a diff of a huge level is drawn this far, with the count of the rest


def diff_text(diff: str, limit: int = DIFF_LINES_SHOWN) -> Text:
    """A unified diff coloured, its first ``limit`` lines (a 5 MB level's diff would take the
    screen seconds to lay out)."""
    lines = diff.splitlines()
    text = Text()
    for line in lines[:limit]:
        style = ("green" if line.startswith("+") and not line.startswith("+++") else
                 "red" if line.startswith("-") and not line.startswith("---") else
                 "cyan" if line.startswith("@@") else "")
        text.append(line + "\n", style=style)
    if len(lines) > limit:
        text.append(f"… {len(lines) - limit:,} lines more (all of it: diff the files in the version folders)\n",
                    style="dim")
    return text


COLUMNS = ("version", "edited", "time", "result", *RESOURCE_COLUMNS)


class HistoryView(Horizontal):
    """The table at the width of its cells, the diff beside it where a pane of PANE_MIN_WIDTH
    fits there, else under it: a cell is never cut (``9830`` for 98304) nor run into the diff."""

    DEFAULT_CSS = """
    HistoryView > DataTable { height: 1fr; }
    HistoryView > VerticalScroll { width: 1fr; height: 1fr; padding-left: 1; }
    HistoryView.-stacked { layout: vertical; }
    HistoryView.-stacked > DataTable { width: 1fr; }
    HistoryView.-stacked > VerticalScroll { padding-left: 0; border-top: hkey $panel; }
    """
    BINDINGS = [
        Binding("r", "restore", "Restore version", id="history.restore"),
        Binding("o", "toggle_base", "Diff vs original/previous", id="history.diff_base"),
        Binding("m", "mark_base", "Diff against this version", id="history.mark_base"),
    ]

    class Restore(Message):
        def __init__(self, version: str) -> None:
            super().__init__()
            self.version = version

    def compose(self) -> ComposeResult:
        yield TableView(id="history-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll():
            yield Static("no saved versions yet: edit a level (e) and save (ctrl+s)", id="history-diff")

    def on_mount(self) -> None:
        self.kernel = ""
        self.kernel_folder: Path | None = None
        self.versions: list[Version] = []
        self.base = "original"
        self.diff_text = ""
        self._diff_for: Version | None = None
        self.rows: list[tuple[str, ...]] = []   # the table's cells, as text
        self.sanitized: list[SanitizeRun] = []
        self.query_one(DataTable).add_columns(*COLUMNS)

    def on_resize(self, event) -> None:
        if event.size.width:   # (0: the tab is hidden)
            self._lay_out()

    def table_width(self) -> int:
        """Every cell whole: each column as wide as its widest cell, with the table's padding,
        and room for the vertical scrollbar."""
        table = self.query_one(DataTable)
        widths = [max(cell_len(row[i]) for row in [COLUMNS, *self.rows]) for i in range(len(COLUMNS))]
        return sum(w + 2 * table.cell_padding for w in widths) + table.styles.scrollbar_size_vertical

    def _lay_out(self) -> None:
        width, height = self.size
        if not width:
            return
        table, natural = self.query_one(DataTable), self.table_width()
        stacked = width - natural < PANE_MIN_WIDTH
        self.set_class(stacked, "-stacked")
        if stacked:   # its rows (and header, and a sideways scrollbar where it is wider still), up to half
            rows = len(self.rows) + 1 + (natural > width) * table.styles.scrollbar_size_horizontal
            table.styles.height = max(3, min(rows, height // 2))
            table.styles.width = "1fr"
        else:
            table.styles.height = "1fr"
            table.styles.width = natural

    def show_versions(self, kernel: str, kernel_folder: Path, versions: list[Version],
                      original: dict | None = None, sanitized: list[SanitizeRun] | None = None) -> None:
        """``original``: the original's compile summary, for each version's own warps, registers,
        spills and shared memory against it; ``sanitized``: the sanitize runs (version, tools,
        time, result, lines), each a row under its version."""
        self.kernel, self.kernel_folder, self.versions = kernel, kernel_folder, list(versions)
        self.sanitized = list(sanitized or [])
        table = self.query_one(DataTable)
        table.clear()
        self.rows = [("original", "-", "-", "", *resource_cells(original))]
        for v in self.versions:
            result = v.result or {}
            status = result.get("status", "")
            facts = resource_cells(result.get("compile"), original) if result.get("compile") else ("-",) * 4
            edited = title_of(v.level) + (f", from pass {v.after_pass:02d}" if v.after_pass is not None else "")
            self.rows.append((f"v{v.number}", edited, version_time(v.folder),
                              STATUS_WORDS.get(status, status or "-"), *facts))
        keys = ["original"] + [v.label for v in self.versions]
        rows, last = [], 0
        for key, row in zip(keys, self.rows):
            last = len(rows)
            rows.append((key, row))
            for i, run in enumerate(self.sanitized):
                if run.version == key:
                    tools = run.tools[0] if len(run.tools) == 1 else f"all {len(run.tools)} tools"
                    rows.append((f"{key}#sanitize{i}", ("  sanitize", tools, run.time, run.result) +
                                 ("",) * len(RESOURCE_COLUMNS)))
        self.rows = [row for _, row in rows]
        for key, row in rows:
            table.add_row(*row, key=key)
        self._lay_out()
        if self.versions:
            table.move_cursor(row=last)   # the last version's row
            self.show_diff(self.versions[-1])

    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key, _ = table.coordinate_to_cell_key((table.cursor_row, 0))
        return key.value.split("#")[0]   # (a sanitize run's row: its version)

    def show_diff(self, version: Version | None) -> None:
        """The diff is made on a thread (difflib over two huge levels takes seconds) and drawn
        when it is done, if that version is still the one asked for."""
        static = self.query_one("#history-diff", Static)
        self._diff_for = version
        if version is None or self.kernel_folder is None:
            static.update(Text("the original: select a version to see its diff"))
            return
        static.update(Text(f"v{version.number}: diffing…", style="dim"))
        self._make_diff(version, self.base)

    @work(thread=True, exclusive=True, group="history-diff", exit_on_error=False)
    def _make_diff(self, version: Version, base: str) -> None:
        diff = version_diff(self.kernel, self.kernel_folder, version, base, self.versions)
        text = diff_text(diff)
        self.app.call_from_thread(self._show_made_diff, version, base, diff, text)

    def _show_made_diff(self, version: Version, base: str, diff: str, text: Text) -> None:
        if version is not self._diff_for or base != self.base:
            return   # another version (or base) was asked for meanwhile
        self.query_one("#history-diff", Static).update(text)
        self.diff_text = diff

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        if key is not None and "#sanitize" in key:
            run = self.sanitized[int(key.split("#sanitize")[1])]
            self._diff_for = None
            self.query_one("#history-diff", Static).update(Text("\n".join(run.lines)))
            return
        self.show_diff(next((v for v in self.versions if v.label == key), None))

    def action_restore(self) -> None:
        key = self.selected()
        if key is not None:
            self.post_message(self.Restore(key))

    def action_mark_base(self) -> None:
        """The highlighted version becomes what the others are compared with."""
        key = self.selected()
        if key is None:
            return
        self.base = key if key != "original" else "original"
        self.app.notify(f"diffs against {'the original' if key == 'original' else 'v' + key}")

    def action_toggle_base(self) -> None:
        self.base = "previous" if self.base == "original" else "original"
        key = self.selected()
        self.show_diff(next((v for v in self.versions if v.label == key), None))
        self.app.notify(f"diffs against the {self.base} version")

"""The Bench tab: every version's timing against the original, and a chart across versions."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from workbench.model.results import RunResult
from workbench.tui.widgets.table import TableView
from workbench.tui.format import BENCH_COLUMNS, bench_row, chart, sparkline


class BenchView(Vertical):
    DEFAULT_CSS = """
    BenchView > DataTable { height: 1fr; }
    BenchView > #bench-chart { height: auto; max-height: 10; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield TableView(id="bench-table", zebra_stripes=True, cursor_type="row")
        yield Static("", id="bench-chart")

    def on_mount(self) -> None:
        self.results: dict[str, RunResult] = {}
        self.note = ""
        self.stale = False   # results came while the tab was hidden: drawn when it is shown
        self.query_one(DataTable).add_columns(*BENCH_COLUMNS)

    def add_result(self, result: RunResult) -> None:
        """A run of a version (a later run of the same version replaces it). A version's ratio is
        against the original timed beside it: that timing becomes the original's row, so every
        ratio on screen is of two medians on screen."""
        self.results[result.version] = result
        base = result.vs_original.timing if result.vs_original else None
        if base and result.version != "original":
            original = self.results.get("original") or RunResult.parse(
                {"kernel": result.kernel, "spec_id": result.spec_id, "version": "original", "level": "python",
                 "status": ""})   # (timed beside a version, not run on its own yet: no verdict)
            self.results["original"] = replace(original, timing=base)
        self.refresh_table()

    def clear(self) -> None:
        """Another kernel on screen: none of its timings yet."""
        self.results.clear()
        self.refresh_table()

    def set_note(self, note: str) -> None:
        """What the chart says while there are no timings (no GPU: nothing is timed)."""
        self.note = note
        self.refresh_table()

    def refresh_table(self) -> None:
        """The table and chart, drawn now if the tab is shown, else when it is (a hidden tab's
        redraw still laid the screen out again on every save)."""
        self.stale = not self.shown()
        if not self.stale:
            self._draw()

    def shown(self) -> bool:
        return all(w.display for w in self.ancestors_with_self if hasattr(w, "display"))

    def on_show(self) -> None:
        if self.stale:
            self.refresh_table()

    def _draw(self) -> None:
        def order(key: str) -> int:
            return -1 if key == "original" else int(key) if key.isdigit() else 10**9
        results = [self.results[k] for k in sorted(self.results, key=order)]
        original = self.results.get("original")
        table = self.query_one(DataTable)
        table.clear()
        for r in results:
            table.add_row(*bench_row(r, original))
        line = sparkline([r.median for r in results if r.median])
        text = chart(results) if self.note == "" or any(r.timing for r in results) else self.note
        self.query_one("#bench-chart", Static).update(Text(text + (f"\ntrend {line}" if line else "")))

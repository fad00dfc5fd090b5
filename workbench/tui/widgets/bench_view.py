"""The Bench tab: every version's timing against the original, and a chart across versions."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from workbench.tui.format import BENCH_COLUMNS, bench_row, chart, sparkline, timing_of


class BenchView(Vertical):
    DEFAULT_CSS = """
    BenchView > DataTable { height: 1fr; }
    BenchView > #bench-chart { height: auto; max-height: 10; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield DataTable(id="bench-table", zebra_stripes=True, cursor_type="row")
        yield Static("", id="bench-chart")

    def on_mount(self) -> None:
        self.results: dict[str, dict] = {}
        self.note = ""
        self.stale = False   # results came while the tab was hidden: drawn when it is shown
        self.query_one(DataTable).add_columns(*BENCH_COLUMNS)

    def add_result(self, result: dict) -> None:
        """A run of a version (a later run of the same version replaces it). A version's ratio is
        against the original timed beside it: that timing becomes the original's row, so every
        ratio on screen is of two medians on screen."""
        self.results[str(result.get("version"))] = result
        base = (result.get("vs_original") or {}).get("timing")
        if base and result.get("version") != "original":
            original = self.results.get("original") or {"version": "original", "level": "python", "status": ""}
            self.results["original"] = dict(original, timing=base)
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
        medians = [(timing_of(r).get("stats") or {}).get("median") for r in results]
        line = sparkline([m for m in medians if m])
        text = chart(results) if self.note == "" or any(timing_of(r) for r in results) else self.note
        self.query_one("#bench-chart", Static).update(Text(text + (f"\ntrend {line}" if line else "")))

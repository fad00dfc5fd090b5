"""The Configs tab: every autotune config of the kernel on screen, replayed on the same inputs,
verified against the chosen one and timed, as the CLI's table (``workbench.model.configs_report``),
sortable, with a bar per config; Enter loads a config's levels, and a config the script does not
list is tried from the field below the table."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from workbench.model.configs_report import VERIFY, table_rows
from workbench.tui.widgets.table import TableView

COLUMNS = ("", "config", "regs", "spills", "smem", "verify", "median us", "spread", "vs chosen", "")
SORTS = ("config", "median", "verify")  # s cycles through them
BAR = 24


class ConfigsView(Vertical):
    DEFAULT_CSS = """
    ConfigsView > DataTable { height: 1fr; }
    ConfigsView > #configs-title, ConfigsView > #configs-verdict { height: auto; padding: 0 1; }
    ConfigsView > Input { height: 3; }
    """
    BINDINGS = [Binding("s", "sort", "sort", id="configs.sort"),
                Binding("escape", "stop", "Back to the levels (a sweep stops)", show=False, id="configs.stop")]

    class Picked(Message):
        """Enter on a config: show its levels (edits then start from it)."""

        def __init__(self, spec_id: str) -> None:
            super().__init__()
            self.spec_id = spec_id

    class Stop(Message):
        """Esc in the tab: back to the levels; a sweep running stops after the config it is at (what
        finished stays)."""

    def action_stop(self) -> None:
        self.post_message(self.Stop())

    class Try(Message):
        """A config typed in the field: compile, replay, verify and time it."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def compose(self) -> ComposeResult:
        yield Static("", id="configs-title")
        yield TableView(id="configs-table", zebra_stripes=True, cursor_type="row")
        yield Static("", id="configs-verdict")
        yield Input(placeholder=field_example(None), id="configs-try")

    def on_mount(self) -> None:
        self.table: dict | None = None
        self.sort = "config"
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.show(None)

    def name_kernel(self, spec: dict | None) -> None:
        """The field's example in the kernel's own meta-parameters."""
        self.query_one("#configs-try", Input).placeholder = field_example(spec)

    def show(self, table: dict | None) -> None:
        """One tuning's table (``config_tables`` output), or None: the kernel is not autotuned."""
        self.table = table
        self.refresh_table()

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.refresh_table()

    def sorted_rows(self) -> list[dict]:
        rows = list(self.table["rows"]) if self.table else []
        if self.sort == "median":
            rows.sort(key=lambda r: (r["stats"] is None, (r["stats"] or {}).get("median", 0.0)))
        elif self.sort == "verify":
            rows.sort(key=lambda r: (r["status"] != "ok", r["index"]))
        return rows

    def refresh_table(self) -> None:
        grid = self.query_one(DataTable)
        grid.clear()
        title = self.query_one("#configs-title", Static)
        verdict = self.query_one("#configs-verdict", Static)
        if not self.table:
            title.update("not autotuned: configs typed below are tried on its captured inputs")
            verdict.update("")
            return
        t = self.table
        key = f" for key {t['key']}" if t["key"] is not None else ""
        title.update(Text(f"{t['kernel']}: {len(t['rows'])} configs{key} on the same inputs · * chosen, + tried, "
                          f"< fastest verified · sorted by {self.sort} (s)"))
        rows = self.sorted_rows()
        medians = [r["stats"]["median"] for r in rows if r["stats"]]
        longest = max(medians) if medians else 0.0
        cells = {r["index"]: c for r, c in zip(t["rows"], table_rows(t))}
        for row in rows:
            c = cells[row["index"]]
            bar = ""
            if row["stats"] and longest:
                bar = "█" * max(1, round(BAR * row["stats"]["median"] / longest))
            style = "" if row["status"] == "ok" else "red"
            grid.add_row(c[" "], c["config"], c["regs"], c["spills"], c["smem"],
                         Text(VERIFY.get(row["status"], row["status"]), style=style), c["median us"], c["spread"],
                         c["vs chosen"], Text(bar, style="green" if row["fastest"] else ""),
                         key=str(row["index"]))
        failed = [f"{r['config']}: {s}" for r in rows for s in r["failed"] + ([r["message"]] if r["message"] else [])]
        verdict.update(Text("\n".join(([t["verdict"]] if t["verdict"] else []) + failed)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if not self.table:
            return
        row = next((r for r in self.table["rows"] if str(r["index"]) == event.row_key.value), None)
        if row is not None and row["status"] != "error":
            event.stop()
            self.post_message(self.Picked(row["spec_id"]))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "configs-try" and event.value.strip():
            event.stop()
            self.post_message(self.Try(event.value.strip()))
            event.input.value = ""


def field_example(spec: dict | None) -> str:
    """A config and a sweep to type, in the kernel's first whole-number constexpr (none: warps and stages)."""
    consts = [(k, v) for k, v in ((spec or {}).get("constexprs") or {}).items()
              if type(v) is int and v > 1]
    if consts:
        name, value = consts[0]
        one, sweep = f"{name}={value},num_warps=8", f"{name}={max(value // 2, 1)},{value} num_warps=4,8"
    else:
        one, sweep = "num_warps=8", "num_warps=2,4,8 num_stages=2,3"
    return f"try a config: {one}, or a sweep: {sweep} (Enter; Esc: back to the levels)"

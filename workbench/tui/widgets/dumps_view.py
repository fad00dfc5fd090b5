"""The Dumps tab: ask the runner for the values of an SSA value or a Python variable, and show
them: stats, the comparison with a reference, a heat map of the values and a histogram. Above
them, the kernel's watch list (values dumped again on every save) and, for the selected watch,
the last save's values beside the original's with their difference; a first-divergence answer
is shown in the same place.

The runner answers with a preview inline and the whole array as a .npy file in the workspace
(numpy is one of the app's own dependencies; torch is not).
"""

from __future__ import annotations

import json

from rich.console import Group
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Static

from workbench.tui.widgets.table import TableView


DUMP_HINT = "put the cursor on a value in a level pane and press x, or type it above"


class DumpsView(Vertical):
    BINDINGS = [Binding("escape", "app.focus_pane(0)", "Back to the levels", show=False, id="dumps.leave"),
                Binding("delete", "unwatch", "Remove watch", id="dumps.unwatch")]
    DEFAULT_CSS = """
    DumpsView > Horizontal { height: 3; }
    DumpsView Input { width: 1fr; }
    DumpsView #dump-level { width: 12; }
    DumpsView #dump-watch { min-width: 9; }
    DumpsView #watch-table { height: auto; max-height: 8; }
    DumpsView #watch-result { margin-bottom: 1; }
    DumpsView VerticalScroll { height: 1fr; }
    """

    class Requested(Message):
        def __init__(self, value: str, level: str) -> None:
            super().__init__()
            self.value = value
            self.level = level

    class WatchRequested(Message):
        def __init__(self, value: str, level: str) -> None:
            super().__init__()
            self.value = value
            self.level = level

    class UnwatchRequested(Message):
        def __init__(self, watch_id: str) -> None:
            super().__init__()
            self.watch_id = watch_id

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.watches: list[dict] = []        # the kernel's watch list, as the runner last answered it
        self.entries: dict[str, dict] = {}   # watch id -> its values at the last save (watch.py's entry)
        self.watch_text = ""                 # the selected watch's comparison (or a divergence), plain text

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Input(placeholder="value to dump: %name (TTIR/TTGIR) or a Python variable; x on a line",
                        id="dump-value")
            yield Input(value="python", id="dump-level")
            yield Button("watch", id="dump-watch")
        yield TableView(id="watch-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll():
            yield Static("no watched values: w on a value in a level pane, or type one and press watch",
                         id="watch-result")
            yield Static(DUMP_HINT, id="dump-result")

    def on_mount(self) -> None:
        self.query_one("#watch-table", DataTable).add_columns("id", "watch", "level", "type", "this version", "vs original")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        value = self.query_one("#dump-value", Input).value.strip()
        level = self.query_one("#dump-level", Input).value.strip() or "python"
        if value:
            self.post_message(self.WatchRequested(value, level))

    def action_unwatch(self) -> None:
        selected = self.selected_watch()
        if selected is not None:
            self.post_message(self.UnwatchRequested(selected))

    def selected_watch(self) -> str | None:
        table = self.query_one("#watch-table", DataTable)
        if not self.watches or table.cursor_row is None or not 0 <= table.cursor_row < len(self.watches):
            return None
        return self.watches[table.cursor_row]["id"]

    def set_watches(self, watches: list[dict], select: str | None = None) -> None:
        """The watch list (a kernel loaded, a watch added or removed); values of a save stay
        with the watches still listed."""
        self.watches = list(watches)
        self.entries = {k: v for k, v in self.entries.items() if any(w["id"] == k for w in self.watches)}
        self._fill(select)

    def set_entries(self, entries: list[dict]) -> None:
        """A save's ``watches``: every watch with the version's values and the original's."""
        entries_ = {e["id"]: e for e in entries}
        watches = [{k: v for k, v in e.items() if k not in ("version", "original", "diff", "notes")}
                   for e in entries]
        if (entries_, watches) == (self.entries, self.watches):
            return   # (no watches, the usual save: nothing to draw again)
        self.entries, self.watches = entries_, watches
        self._fill(self.selected_watch())

    def _fill(self, select: str | None) -> None:
        table = self.query_one("#watch-table", DataTable)
        table.clear()
        for w in self.watches:
            e = self.entries.get(w["id"])
            side = (e or {}).get("version") or {}
            table.add_row(w["id"], w.get("label", w.get("value", "")), str(w.get("level", "")).upper(),
                          _type_of(side) or "-", side.get("status") or "not dumped yet (save to dump)",
                          diff_word(e) if e else "-", key=w["id"])
        ids = [w["id"] for w in self.watches]
        if select in ids:
            table.move_cursor(row=ids.index(select))
        self.show_selected()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "watch-table":
            event.stop()
            self.show_selected()

    def show_selected(self) -> None:
        selected = self.selected_watch()
        if selected is None:
            self._show_watch(Text("no watched values: w on a value in a level pane, or type one and press watch"))
            return
        entry = self.entries.get(selected)
        watch = next(w for w in self.watches if w["id"] == selected)
        self._show_watch(render_entry(entry) if entry else
                         Text(f"{selected} {watch.get('label')}: dumped on the next save, beside the original's"))

    def show_divergence(self, result: dict) -> None:
        try:
            self._show_watch(render_divergence(result))
        except Exception as e:  # noqa: BLE001 - an answer we cannot draw is shown raw, never a crash
            self._show_watch(Text(f"({type(e).__name__}: {e})\n" + json.dumps(result, indent=1, default=str)[:20000]))

    def _show_watch(self, renderable) -> None:
        self.watch_text = plain_text(renderable)
        self.query_one("#watch-result", Static).update(renderable)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = self.query_one("#dump-value", Input).value.strip()
        level = self.query_one("#dump-level", Input).value.strip() or "python"
        if value:
            self.post_message(self.Requested(value, level))

    def set_request(self, value: str, level: str) -> None:
        self.query_one("#dump-value", Input).value = value
        self.query_one("#dump-level", Input).value = level

    shown_text = ""  # what the tab shows, as plain text (for the log, the clipboard, tests)

    def show(self, text: str) -> None:
        self.shown_text = text
        self.query_one("#dump-result", Static).update(Text(text))

    def clear(self) -> None:
        """Another kernel on screen: no watch list (its own is asked for), no dump, no divergence."""
        self.entries = {}
        self.set_watches([])
        self.shown_text = ""
        self.query_one("#dump-result", Static).update(DUMP_HINT)

    def show_result(self, value: str, level: str, result) -> None:
        try:
            report = render_report(result)
            self.shown_text = plain_text(report)
            self.query_one("#dump-result", Static).update(report)
        except Exception as e:  # noqa: BLE001 - an answer we cannot draw is shown raw, never a crash
            body = json.dumps(result, indent=1, default=str)[:20000]
            self.show(f"{level} {value}: ({type(e).__name__}: {e})\n{body}")


HEAT = ["#30123b", "#4145ab", "#4675ed", "#39a2fc", "#1bcfd4", "#24eca6", "#61fc6c", "#a4fc3b",
        "#d1e834", "#f3c63a", "#fe9b2d", "#f36315", "#d93806", "#b11901", "#7a0403"]  # turbo, 15 steps
BARS = " ▁▂▃▄▅▆▇█"


def plain_text(renderable, width: int = 200) -> str:
    import io
    from rich.console import Console
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()


def _values(r: dict):
    import numpy as np
    if r.get("file"):
        try:
            return np.load(r["file"])
        except (OSError, ValueError):
            pass
    if r.get("values") is not None:
        return np.asarray(r["values"], dtype=float)
    return None


def render_report(result: dict) -> Group:
    """Every dumped value of one runner answer: header, stats, heat map, histogram."""
    parts: list = []
    head = Text()
    head.append(f"{result.get('kernel', '')} · {str(result.get('level', '')).upper()} · ", style="bold")
    pid = result.get("pid")
    head.append(f"program {pid if isinstance(pid, str) else ','.join(map(str, pid or []))} · ")
    head.append(str(result.get("status", "")))
    parts.append(head)
    for note in result.get("notes") or []:
        parts.append(Text(f"note: {note}", style="dim"))
    for r in result.get("results") or []:
        parts.append(Text(""))
        parts.extend(render_value(r))
    return Group(*parts)


def render_value(r: dict) -> list:
    import numpy as np
    out: list = []
    title = Text()
    title.append(f"{r.get('name')}", style="bold")
    title.append(f"  {r.get('dtype')}[{','.join(map(str, r.get('shape') or []))}]")
    if r.get("line"):
        title.append(f"  line {r['line']}")
    if r.get("in_loop"):
        title.append(f"  per iteration ({r.get('iterations')} kept, reached {r.get('hits')})")
    if r.get("per_thread"):
        title.append("  one register per thread")
    out.append(title)
    stats = r.get("stats") or {}
    if stats:
        out.append(Text(f"min {_num(stats.get('min'))}  max {_num(stats.get('max'))}  "
                        f"mean {_num(stats.get('mean'))}  NaN {stats.get('nan', 0)}  Inf {stats.get('inf', 0)}"))
    check = r.get("check")
    if check:
        ok = check.get("ok")
        out.append(Text(f"vs {r.get('reference')}: " + ("ok" if ok else
                        f"FAIL, {check.get('mismatches')} differ, first at {check.get('first_mismatch')}")
                        + f" (max abs {_num(check.get('max_abs'))})", style="green" if ok else "bold red"))
    elif r.get("reference_error"):
        out.append(Text(f"reference: {r['reference_error']}", style="red"))
    values = _values(r)
    if values is None:
        return out
    arr = np.asarray(values, dtype=float)
    if r.get("file"):
        out.append(Text(f"all values: {r['file']}", style="dim"))
    out.append(heat_map(arr))
    out.append(histogram(arr))
    return out


def _type_of(side: dict) -> str:
    if not side.get("dtype"):
        return ""
    return f"{side['dtype']}[{','.join(map(str, side.get('values_shape') or side.get('shape') or []))}]"


def differs(entry: dict) -> bool:
    """A watched value that differs from the original's (or whose shape does)."""
    d = entry.get("diff") or {}
    return bool(d.get("shape_mismatch") or d.get("count"))


def diff_word(entry: dict) -> str:
    d = entry.get("diff")
    if d is None:
        return "no comparison"
    if d.get("shape_mismatch"):
        return "shape differs"
    return f"{d['count']} of {d['total']} differ" if d.get("count") else "same"


def diff_line(d: dict | None) -> Text:
    """count of total differ, first index, max abs/rel, NaN/Inf (version/original)."""
    if d is None:
        return Text("difference: none (one side has no values)", style="dim")
    nan, inf = d.get("nan") or [0, 0], d.get("inf") or [0, 0]
    tail = f"NaN {nan[0]}/{nan[1]}  Inf {inf[0]}/{inf[1]} (version/original)"
    if d.get("shape_mismatch"):
        return Text(f"difference: {d['shape_mismatch']}  {tail}", style="bold red")
    if not d.get("count"):
        return Text(f"difference: none, all {d.get('total')} the same  {tail}", style="green")
    first = d.get("first_index")
    return Text(f"difference: {d['count']} of {d['total']} differ, first at "
                f"[{','.join(map(str, first or []))}], max abs {_num(d.get('max_abs'))}, "
                f"max rel {_num(d.get('max_rel'))}  {tail}", style="bold red")


def _few(side: dict, n: int = 6) -> str:
    values = side.get("values")
    if values is None and side.get("sample") is not None:
        return "sample " + " ".join(_num(v) for v in side["sample"][:n]) + " …"
    if values is None:
        return "-"
    import numpy as np
    flat = np.asarray(values, dtype=float).ravel()
    return " ".join(_num(v) for v in flat[:n]) + (" …" if flat.size > n else "")


def render_sides(version: dict, original: dict) -> Table:
    """The version's value beside the original's: status, where found, type, stats, a few values."""
    table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
    table.add_column("")
    table.add_column(version_title(version.get("label")))
    table.add_column("original")
    sides = (version, original)

    def stat(s: dict, key: str) -> str:
        return _num((s.get("stats") or {}).get(key)) if s.get("stats") else "-"
    rows = [("status", [s.get("status", "") for s in sides]),
            ("found", [f"{s.get('name', '')} line {s.get('line')}" if s.get("found") else "no" for s in sides]),
            ("type", [_type_of(s) or "-" for s in sides]),
            ("min", [stat(s, "min") for s in sides]), ("max", [stat(s, "max") for s in sides]),
            ("mean", [stat(s, "mean") for s in sides]),
            ("NaN / Inf", [f"{stat(s, 'nan')} / {stat(s, 'inf')}" for s in sides]),
            ("values", [_few(s) for s in sides])]
    for name, cells in rows:
        table.add_row(Text(name, style="dim"), *[Text(str(c)) for c in cells])
    return table


def version_title(label) -> str:
    return "original" if label in (None, "original") else f"version {label}"


def diff_heat(heat: dict) -> Text:
    """|version - original| folded into cells (watch.py's ``diff.heat``), one coloured block per
    cell from 0 (dark blue) to the largest difference (dark red); blank where nothing differs."""
    cells = heat.get("cells") or []
    top = max((c for row in cells for c in row if c is not None), default=0.0)
    text = Text(f"difference heat map ({heat.get('rows')}x{heat.get('cols')} cells, max |diff| per cell, "
                f"0 to {_num(top)})\n", style="dim")
    for row in cells:
        for c in row:
            if c is None:
                text.append("██", style="bold magenta")   # NaN on one side only
            elif c == 0 or top == 0:
                text.append("··", style="dim")
            else:
                text.append("██", style=Style(color=HEAT[int(c / top * (len(HEAT) - 1))]))
        text.append("\n")
    return text


def render_entry(entry: dict) -> Group:
    """One watch at the last save: its values in the version and the original, and the difference."""
    head = Text()
    head.append(f"{entry['id']} {entry.get('label', '')}", style="bold")
    pid = entry.get("pid")
    head.append(f" · {str(entry.get('level', '')).upper()} · program "
                f"{pid if isinstance(pid, str) else ','.join(map(str, pid or []))}")
    parts: list = [head, render_sides(entry.get("version") or {}, entry.get("original") or {}),
                   diff_line(entry.get("diff"))]
    if (entry.get("diff") or {}).get("heat") and differs(entry):
        parts.append(diff_heat(entry["diff"]["heat"]))
    for side in (entry.get("version") or {}, entry.get("original") or {}):
        if not side.get("found", True):
            parts.append(Text(f"{version_title(side.get('label'))}: {side.get('status')}", style="bold yellow"))
    parts += [Text(f"note: {n}", style="dim") for n in entry.get("notes") or []]
    return Group(*parts)


def render_divergence(result: dict) -> Group:
    """A ``diverge`` answer: its sentence, the def-use chain dumped, and the first op that differs."""
    parts: list = [Text(f"first divergence · version {result.get('version')} · "
                        f"{str(result.get('level', '')).upper()} · {result.get('status')}", style="bold"),
                   Text(str(result.get("message", "")))]
    chain = result.get("chain") or []
    if chain:
        table = Table(box=None, padding=(0, 2), header_style="bold", title="the chain, in program order",
                      title_justify="left")
        for col in ("value", "line", "original line", "dtype", "differs", "max abs", "note"):
            table.add_column(col)
        for c in chain:
            word = {True: "DIFFERS", False: "same", None: "-"}[c.get("differs")]
            table.add_row(str(c.get("name")), str(c.get("line") or "-"), str(c.get("original_line") or "-"),
                          str(c.get("dtype") or "-"),
                          Text(word, style="bold red" if c.get("differs") else ""),
                          _num(c.get("max_abs")), str(c.get("note") or ""))
        parts.append(table)
    first = result.get("first")
    if first:
        lines = (first.get("lines") or {}).get("version") or {}
        parts.append(Text(f"first differing: {first.get('name')} at "
                          + ", ".join(f"{lv.upper()} {','.join(map(str, ns[:4]))}{',…' if len(ns) > 4 else ''}"
                                      for lv, ns in lines.items() if ns),
                          style="bold red"))
        parts.append(render_sides(first.get("version") or {}, first.get("original") or {}))
        parts.append(diff_line(first.get("diff")))
        if (first.get("diff") or {}).get("heat"):
            parts.append(diff_heat(first["diff"]["heat"]))
    return Group(*parts)


def heat_map(arr, max_rows: int = 24, max_cols: int = 16) -> Table:
    """The values coloured from min (dark blue) to max (dark red); a 1-D value is one row per
    16 elements, higher ranks show their last two axes of the first index."""
    import numpy as np
    a = np.asarray(arr, dtype=float)
    while a.ndim > 2:
        a = a[0]
    count = a.size if a.ndim < 2 else None  # a 1-D value wrapped into rows: cells past its end stay blank
    if a.ndim == 0:
        a = a.reshape(1, 1)
    elif a.ndim == 1:
        n = a.shape[0]
        a = np.pad(a, (0, (-n) % max_cols), constant_values=np.nan).reshape(-1, max_cols) if n > max_cols \
            else a.reshape(1, -1)
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    table = Table(show_header=True, header_style="dim", box=None, padding=(0, 1))
    table.add_column("", style="dim", justify="right")
    cols = min(a.shape[1], max_cols)
    width = max(len(_num(v)) for v in a[:max_rows, :cols].ravel())
    for j in range(cols):
        table.add_column(str(j), justify="right", no_wrap=True, min_width=width)
    for i in range(min(a.shape[0], max_rows)):
        cells = []
        for j in range(cols):
            v = a[i, j]
            if count is not None and i * a.shape[1] + j >= count:
                cells.append(Text(""))
                continue
            if not np.isfinite(v):
                cells.append(Text(_num(v), style="bold magenta"))
                continue
            k = 0 if hi == lo else int((v - lo) / (hi - lo) * (len(HEAT) - 1))
            fg = "black" if 4 <= k <= 10 else "white"
            cells.append(Text(_num(v), style=Style(color=fg, bgcolor=HEAT[k])))
        table.add_row(str(i), *cells)
    if a.shape[0] > max_rows or a.shape[1] > max_cols:
        table.caption = f"showing {min(a.shape[0], max_rows)}x{cols} of {a.shape[0]}x{a.shape[1]}"
    return table


def histogram(arr, bins: int = 24) -> Text:
    import numpy as np
    a = np.asarray(arr, dtype=float).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return Text("histogram: no finite values")
    counts, edges = np.histogram(a, bins=bins)
    top = counts.max() or 1
    bars = "".join(BARS[int(round(c / top * (len(BARS) - 1)))] if c else " " for c in counts)
    text = Text("histogram ")
    text.append(_num(edges[0]), style="dim")
    text.append(f" {bars} ", style="bold")
    text.append(_num(edges[-1]), style="dim")
    text.append(f"  ({a.size} values, {bins} bins, tallest {top})", style="dim")
    return text


def _num(v) -> str:
    if v is None:
        return "-"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "Inf" if f > 0 else "-Inf"
    if f == int(f) and abs(f) < 1e9:
        return str(int(f))
    return f"{f:.4g}"

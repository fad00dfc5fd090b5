"""The Dumps tab: ask the runner for the values of an SSA value or a Python variable, and show
them: stats, the comparison with a reference, a heat map of the values and a histogram.

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
from textual.widgets import Input, Static


class DumpsView(Vertical):
    BINDINGS = [Binding("escape", "app.focus_pane(0)", "Back to the levels", show=False, id="dumps.leave")]
    DEFAULT_CSS = """
    DumpsView > Horizontal { height: 3; }
    DumpsView Input { width: 1fr; }
    DumpsView #dump-level { width: 12; }
    DumpsView VerticalScroll { height: 1fr; }
    """

    class Requested(Message):
        def __init__(self, value: str, level: str) -> None:
            super().__init__()
            self.value = value
            self.level = level

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Input(placeholder="value to dump: %name (TTIR/TTGIR) or a Python variable; x on a line",
                        id="dump-value")
            yield Input(value="python", id="dump-level")
        with VerticalScroll():
            yield Static("put the cursor on a value in a level pane and press x, or type it above",
                         id="dump-result")

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

"""The Compare tab: the kernel on screen under another Triton release (``V``).

``python -m workbench compare SCRIPT --triton X.Y.Z --kernel NAME --json`` runs in a process of
its own (it starts two runners, one per release, and takes seconds to a minute), from a thread,
so editing goes on; its JSON fills the view: the resources with their change, each level's line
counts and how much it differs, the two pass pipelines aligned by name with the first pass whose
output differs marked, and the IR after that pass on both sides (n/p: after each other pass where
the IR parts), or a level's differences (2-6, as the panes number the levels; 1: back). A
cursor on the diff (j/k) says which Python line its lines come from and the other side's lines
from it; Enter takes it to those lines (marked). Wide, the resources sit beside the pass list
over the side-by-side diff; narrow (under 130 columns), it is one column that scrolls, and the
diff is stacked: each release's line under the other's.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.geometry import Region, Spacing
from textual.message import Message
from textual.widgets import Static

from workbench.model.srcmap import from_spans, spans
from workbench.tui.widgets.tool_process import ToolProcess, error_line

NARROW_BELOW = 130   # columns: under this the view is one column and the diff stacked
COLUMN = 160         # each side's columns in the CLI's side-by-side rows (--width 2 * COLUMN + 3)
SUMMARY_WIDTH = 54
EMPTY = "no comparison yet: V compares the kernel on screen with another Triton release"
RESOURCES = {"num_warps": "num_warps", "num_stages": "num_stages (option)", "pipeline_stages": "pipeliner stages",
             "registers": "registers", "spills": "spill bytes (st+ld)", "local": "local memory bytes",
             "shared": "shared memory bytes", "sass_memory": "SASS memory instrs",
             "sass_tensor": "SASS tensor core instrs", "sass_fma": "SASS FMA instrs", "sass_total": "SASS instrs"}
MARKS = {" | ": ("-", "+"), " < ": ("-", None), " > ": (None, "+")}
LEVELS = ("ttir", "ttgir", "llir", "ptx", "sass")   # keys 2-6, as the panes' levels
MARKED = "bold underline"   # the other side's lines Enter jumped to


@dataclass
class Started:
    """What a comparison was asked for: the release, the kernel (its name and spec id here)."""

    release: str
    kernel: str
    spec_id: str


@dataclass
class Jump:
    """Where Enter took the diff's cursor: the side, its lines from the Python line(s) of the row
    it was on (marked), and what is said of it over the diff."""

    side: int            # 0: A's lines, 1: B's
    lines: set[int]
    python: str          # the Python lines ("41"; "": the row is from none)
    said: str = ""


class CompareView(ToolProcess, VerticalScroll):
    ALLOW_MAXIMIZE = True
    DEFAULT_CSS = f"""
    CompareView {{ height: 1fr; }}
    CompareView > Static {{ height: auto; padding: 0 1; }}
    CompareView #compare-title {{ text-style: bold; }}
    CompareView > Horizontal {{ height: 1fr; }}
    CompareView #compare-summary {{ width: {SUMMARY_WIDTH}; height: auto; padding: 0 1; }}
    CompareView VerticalScroll {{ height: 1fr; overflow-x: auto; }}
    CompareView #compare-passes-scroll {{ width: 1fr; border-left: vkey $panel; }}
    CompareView #compare-diff-title {{ background: $panel; }}
    CompareView #compare-cursor {{ background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }}
    CompareView #compare-passes, CompareView #compare-diff {{ width: auto; padding: 0 1; text-wrap: nowrap;
                                                           text-overflow: ellipsis; }}
    CompareView.-narrow > Horizontal {{ layout: vertical; height: auto; }}
    CompareView.-narrow #compare-summary {{ width: 1fr; }}
    CompareView.-narrow VerticalScroll {{ height: auto; overflow-x: hidden; }}
    CompareView.-narrow #compare-passes-scroll {{ border-left: none; }}
    CompareView.-narrow #compare-cursor {{ dock: bottom; }}
    CompareView.-text-only #compare-top, CompareView.-text-only #compare-diff-scroll,
    CompareView.-text-only #compare-cursor {{ display: none; }}
    CompareView.-narrow #compare-passes, CompareView.-narrow #compare-diff {{ width: 1fr; }}
    """
    BINDINGS = [Binding("z", "zoom", "Zoom", id="compare.zoom"),
                Binding("n", "part(1)", "Next parting pass", id="compare.next_part"),
                Binding("p", "part(-1)", "Previous parting pass", id="compare.previous_part"),
                Binding("1", "part(0)", "The passes' IR diff", show=False, id="compare.passes_diff"),
                *(Binding(str(i), f"level('{level}')", f"{level.upper()} diff", show=False, id=f"compare.{level}_diff")
                  for i, level in enumerate(LEVELS, 2)),
                Binding("enter", "jump", "Other side's lines", show=False, id="compare.jump"),
                Binding("down,j", "cursor(1)", "Diff cursor down", show=False, id="compare.cursor_down"),
                Binding("up,k", "cursor(-1)", "Diff cursor up", show=False, id="compare.cursor_up")]

    class Done(Message):
        def __init__(self, started: Started, result: dict | None, error: str | None, seconds: float) -> None:
            super().__init__()
            self.started, self.result, self.error, self.seconds = started, result, error, seconds

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, id="compare-title", markup=False)
        with Horizontal(id="compare-top"):
            yield Static("", id="compare-summary", markup=False)
            with VerticalScroll(id="compare-passes-scroll"):
                yield Static("", id="compare-passes", markup=False)
        yield Static("", id="compare-diff-title", markup=False)
        yield Static("", id="compare-cursor", markup=False)
        with VerticalScroll(id="compare-diff-scroll"):
            yield Static("", id="compare-diff", markup=False)

    def on_mount(self) -> None:
        self.running: Started | None = None
        self.started: Started | None = None    # the comparison shown (or coming)
        self.result: dict[str, Any] | None = None
        self.shown = 0       # which parting pass's diff is shown (0: the first pass whose output differs)
        self.level: str | None = None   # or the level whose diff is shown (2-6)
        self.cursor = 0      # the diff's row under the cursor (of those with a line)
        self.jump: Jump | None = None   # where Enter jumped
        self.init_tool()   # (the compare command and its two runners end with the tab)
        self.watch(self.screen, "maximized", self._maximized_changed, init=False)

    # -- running -------------------------------------------------------------------------------

    def start(self, started: Started, command: list[str]) -> None:
        """Run ``workbench compare ... --json`` (``command``: its arguments after ``workbench``)."""
        self.running = self.started = started
        self.result = self.level = self.jump = None
        self.shown = self.cursor = 0
        self._show_text(f"comparing {started.kernel} with Triton {started.release}…")
        self._work(started, command)

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _work(self, started: Started, command: list[str]) -> None:
        t0 = time.monotonic()
        args = [sys.executable, "-m", "workbench", *command, "--json", "--width", str(2 * COLUMN + 3)]
        try:
            status, out, err = self.run_tool(args)
        except OSError as e:
            self.post_message(self.Done(started, None, f"could not start workbench compare: {e}", time.monotonic() - t0))
            return
        try:
            result = json.loads(out)   # (also when no kernel could be compared: exit status 2, the errors said)
        except ValueError:
            self.post_message(self.Done(started, None, error_line(err, status, "workbench compare"),
                                        time.monotonic() - t0))
            return
        self.post_message(self.Done(started, result, None, time.monotonic() - t0))

    def on_compare_view_done(self, msg: Done) -> None:
        """(It bubbles on to the app: its controller says so on the status line.)"""
        self.running = None
        if msg.started is not self.started:
            return
        if msg.error is not None:
            self._show_text(f"Triton {msg.started.release}: {msg.error}")
            return
        self.result, self.level, self.jump = msg.result, None, None
        self.shown = self.cursor = 0
        self.refill()

    # -- showing -------------------------------------------------------------------------------

    def kernel(self) -> dict[str, Any] | None:
        """The comparison of the kernel asked for (the same spec id on this Triton's side)."""
        kernels = (self.result or {}).get("kernels") or []
        return next((k for k in kernels if k["spec"][0] == self.started.spec_id), kernels[0] if kernels else None)

    def first_parted(self) -> dict[str, Any] | None:
        k = self.kernel()
        return k["passes"]["parted"][0] if k and k["passes"]["parted"] else None

    def parted_shown(self) -> dict[str, Any] | None:
        """The parting pass whose diff is shown."""
        k = self.kernel()
        return k["passes"]["parted"][self.shown] if k and self.shown < len(k["passes"]["parted"]) else None

    def diff_shown(self) -> dict[str, Any] | None:
        """The diff shown, a parting pass's or a level's (``self.level``), with its ``lines`` by
        Python line (python, source, a, b: each side's lines from it)."""
        k = self.kernel() if self.result is not None else None
        if k is None or self.level is None:
            return self.parted_shown() if k is not None else None
        return {"diff": k["levels"][self.level].get("diff", []),
                "lines": [{"python": r["python"], "source": r["source"], "a": r[self.level][0], "b": r[self.level][1]}
                          for r in k["lines"]["rows"] if self.level in r]}

    def _show_text(self, text: str) -> None:
        """A line or two in place of a comparison (one running, one that failed)."""
        self.add_class("-text-only")
        self.query_one("#compare-title", Static).update(text)
        for name in ("summary", "passes", "diff-title", "cursor", "diff"):
            self.query_one(f"#compare-{name}", Static).update("")

    def refill(self) -> None:
        """The result, laid out for the view's width."""
        if self.result is None:
            return
        narrow = self.size.width < NARROW_BELOW
        self.set_class(narrow, "-narrow")
        a, b = self.result["releases"]
        k = self.kernel()
        lines = list(self.result["errors"])   # (each one line: "Triton X.Y.Z cannot compile it: ...")
        if k is None:
            self._show_text("\n".join(lines) or "nothing compared")
            return
        self.remove_class("-text-only")
        parted = self.first_parted()
        head = [f"{k['kernel']}: Triton {a} | Triton {b} · spec {k['spec'][0]} | {k['spec'][1]} · "
                f"target {self.result['target']}"]
        if parted is None:
            head.append("the IR is the same after every pass")
        else:
            head.append(f"first pass whose output differs: {parted['pass']} ({parted['stage'].upper()} stage, "
                        f"{a} #{_number(parted['a'])} | {b} #{_number(parted['b'])})")
        head += lines + run_lines(k.get("run"), a, b) + [self.result["note"]]
        self.query_one("#compare-title", Static).update("\n".join(head))
        self.query_one("#compare-summary", Static).update(summary(k, a, b, self.level))
        self.query_one("#compare-passes", Static).update(
            pass_list(k["passes"], a, b, None if self.level else self.shown))
        self._fill_diff()
        at = k["passes"]["parts"][self.shown] if k["passes"]["parted"] else None
        if at is not None and not narrow:   # the shown row in sight, a few rows under the top
            self.call_after_refresh(self.query_one("#compare-passes-scroll").scroll_to, y=max(0, at - 3),
                                    animate=False)

    def _fill_diff(self, follow: bool = False) -> None:
        """The diff shown (a parting pass's or a level's) with the cursor's row in reverse and the
        lines Enter jumped to marked, and what the cursor is on (``follow``: that row scrolled into
        sight)."""
        a, b = self.result["releases"]
        narrow = self.has_class("-narrow")
        shown, k = self.diff_shown(), self.kernel()
        title, diff = self.query_one("#compare-diff-title", Static), self.query_one("#compare-diff", Static)
        said = self.query_one("#compare-cursor", Static)
        if shown is None:
            for widget in (title, said, diff):
                widget.update("")
            return
        sides = f"- Triton {a}, + Triton {b}" if narrow else f"Triton {a} | Triton {b}"
        if self.level is not None:
            d = k["levels"][self.level]
            changed = "the same" if d["same"] else f"+{d['added']} -{d['removed']}"
            title.update(f"{self.level.upper()} (2-6: the levels; 1, n/p: the IR after the passes): {sides} "
                         f"(SSA names and locations aside; {d['lines'][0]} | {d['lines'][1]} lines, {changed})")
        else:
            count = len(k["passes"]["parted"])
            which = "the first pass whose output differs" if self.shown == 0 else "where the IR parts again"
            title.update(f"the IR after {shown['pass']} ({which}, {self.shown + 1} of {count}" +
                         ("; n/p: the others" if count > 1 else "") + "; 2-6: the levels): " + sides +
                         f" (SSA names and locations aside; files: {shown['files'][0] or '-'} | "
                         f"{shown['files'][1] or '-'})")
        rows = line_rows(shown["diff"])
        self.cursor = min(self.cursor, max(0, len(rows) - 1))
        text = cursor_said(shown["lines"], rows[self.cursor], a, b, self.jump.side if self.jump else 0) \
            if rows else Text()
        if self.jump is not None:
            text = Text.assemble((self.jump.said, "bold"), " · ", text)
        said.update(text)
        width = max(40, self.size.width - 4)
        text, offsets = (stacked if narrow else side_by_side)(shown["diff"], width, self.cursor,
                                                             self.jump)
        diff.update(text)
        if rows and follow:
            self.call_after_refresh(self._cursor_in_sight, offsets[self.cursor])

    def _cursor_in_sight(self, y: int) -> None:
        diff = self.query_one("#compare-diff", Static)
        region = Region(0, y, 1, 1)
        if self.has_class("-narrow"):
            self.scroll_to_region(region.translate(diff.region.offset - self.region.offset + self.scroll_offset),
                                  spacing=Spacing(0, 0, 2, 0), animate=False)   # (above the cursor's line)
        else:
            self.query_one("#compare-diff-scroll", VerticalScroll).scroll_to_region(region, animate=False)

    def action_part(self, step: int) -> None:
        """The diff after the next (or previous) pass where the IR parts (``step`` 0, from a
        level's diff: the one last shown)."""
        k = self.kernel() if self.result is not None else None
        parted = len(k["passes"]["parted"]) if k is not None else 0
        if parted and (self.level is not None or parted > 1):
            self._show_diff(None, (self.shown + step) % parted if self.level is None or step else self.shown)

    def action_level(self, level: str) -> None:
        """A level's diff (2-6): every line of it, its hunks named by Python line."""
        k = self.kernel() if self.result is not None else None
        if k is not None and level in k["levels"]:
            self._show_diff(level, self.shown)

    def _show_diff(self, level: str | None, shown: int) -> None:
        self.level, self.shown, self.jump, self.cursor = level, shown, None, 0
        self.refill()
        self.query_one("#compare-diff-scroll", VerticalScroll).scroll_home(animate=False)
        if self.has_class("-narrow"):   # the new diff from its title
            self.call_after_refresh(self.query_one("#compare-diff-title").scroll_visible, top=True, animate=False)

    def action_cursor(self, step: int) -> None:
        """The diff's cursor a row down (or up): what it is on, said above the diff."""
        shown = self.diff_shown()
        if shown is None:
            return
        self.cursor = max(0, min(self.cursor + step, len(line_rows(shown["diff"])) - 1))
        self.jump = None
        self._fill_diff(follow=True)

    def action_jump(self) -> None:
        """The cursor to the other side's lines from its row's Python line, marked (Enter on one
        of them: the next)."""
        shown = self.diff_shown()
        rows = line_rows(shown["diff"]) if shown is not None else []
        if not rows:
            return
        at, jump = rows[self.cursor], self.jump
        start = self.cursor + 1   # on one of the lines marked: the next
        if jump is None or at[jump.side] not in jump.lines:
            side = 1 if at[0] is not None else 0   # from A's line to B's (B's to A's where A has none)
            pythons = [r for r in shown["lines"] if at[1 - side] in from_spans(r["ab"[1 - side]])]
            jump = Jump(side, {n for r in pythons for n in from_spans(r["ab"[side]])},
                        ", ".join(str(r["python"]) for r in pythons))
            start = self.cursor
        self.jump = jump
        label = f"Triton {self.result['releases'][jump.side]}"
        found = [i for i, r in enumerate(rows) if r[jump.side] in jump.lines]
        if not jump.python:
            jump.said = "this row is from no line of the kernel's Python source: no lines to jump to"
        elif not found:
            jump.said = f"no line of {label} from Python {jump.python} is in this diff (its lines: {spans(jump.lines)})"
        else:
            self.cursor = next((i for i in found if i >= start), found[0])
            jump.said = (f"↪ {label}'s lines from Python {jump.python}: row {found.index(self.cursor) + 1} of "
                         f"{len(found)} here (Enter: the next)")
        self._fill_diff(follow=True)

    def on_resize(self) -> None:
        if self.result is not None and (self.size.width < NARROW_BELOW) != self.has_class("-narrow"):
            self.refill()
        elif self.result is not None:
            self.call_after_refresh(self.refill)   # the diff's columns follow the width

    def action_zoom(self) -> None:
        """The view over the whole screen, or back in its tab."""
        if self.screen.maximized is self:
            self.screen.minimize()
        else:
            self.screen.maximize(self, container=False)

    def _maximized_changed(self, widget) -> None:
        """Esc left the view: the focus goes back to the panes (it stayed in the small tab)."""
        if widget is None and self.app.focused is not None and self in self.app.focused.ancestors_with_self:
            self.app.main.pane(self.app.main.focused_level()).view.focus()


# -- the sections, as text -----------------------------------------------------------------------

def _number(n: int | None) -> str:
    return "-" if n is None else f"{n:02d}"


def _value(v: int | None) -> str:
    return "-" if v is None else str(v)


def summary(k: dict[str, Any], a: str, b: str, level: str | None = None) -> Text:
    """The resources with B's change, and each level's line counts and differences (its key, 2-6;
    the one whose diff is shown, ``level``, in reverse)."""
    text = Text()
    text.append(f"{'':<23} {a:>7} {b:>7}  change\n", style="bold")
    for key, v in k["resources"].items():
        change = "" if v["change"] is None else "=" if v["change"] == 0 else f"{v['change']:+d}"
        style = "" if not v["change"] else "bold yellow"
        text.append(f"{RESOURCES.get(key, key):<23} {_value(v['a']):>7} {_value(v['b']):>7}  ")
        text.append(f"{change}\n", style=style)
    text.append(f"\n{'lines (SSA names aside)':<23} {a:>7} {b:>7}  (2-6: diff)\n", style="bold")
    for name, d in k["levels"].items():
        said = "same" if d["same"] else f"+{d['added']} -{d['removed']}"
        key = LEVELS.index(name) + 2 if name in LEVELS else " "
        on = "reverse " if name == level else ""
        text.append(f"{key} {name.upper():<21} {d['lines'][0]:>7} {d['lines'][1]:>7}  ", style=on.strip())
        text.append(said, style=on + ("" if d["same"] else "yellow"))
        text.append("\n")
    text.rstrip()
    return text


def pass_list(p: dict[str, Any], a: str, b: str, shown: int | None = 0) -> Text:
    """The two pipelines aligned by pass name: ▶ marks the first pass whose output differs, ▷ each
    later one after which the IR parts again; the one whose diff is shown (``shown``: which of
    them; None: a level's is) in reverse."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"passes aligned by name: {p['only'][0]} only in {a}, {p['only'][1]} only in {b}, "
                f"{p['moved']} moved; ▶ the first pass whose output differs, ▷ where the IR parts again"
                f"{' (n/p: its diff)' if len(p['parts']) > 1 else ''}\n", style="dim")
    text.append(f"  {'#A':>3} {'#B':>3}  {'stage':<5}  {'IR after':<12}  {'runs':<11}  pass  (A {a}, B {b})\n",
                style="bold")
    parts = set(p["parts"])
    on = p["parts"][shown] if shown is not None and shown < len(p["parts"]) else None
    for i, r in enumerate(p["rows"]):
        ir = "?" if r["differs"] is None else f"+{r['added']} -{r['removed']}" if r["differs"] else "same"
        where = "" if r["status"] == "both" else r["status"]
        mark = "▶" if i == p["first_differs"] else "▷" if i in parts else " "
        style = "reverse bold" if i == on else "bold" if i in parts else "" if r["differs"] else "dim"
        text.append(f"{mark} {_number(r['a']):>3} {_number(r['b']):>3}  {r['stage']:<5}  {ir:<12}  {where:<11}  "
                    f"{r['pass']}", style=style)
        text.append("\n")
    text.rstrip()
    return text


def _cells(rows: list[str]):
    """The CLI's side-by-side rows (each side ``COLUMN`` wide) as (A's cell, mark, B's cell), or
    (None, row, None) for a gap (``...``), the rows left out or a hunk's Python line (``@@``)."""
    for row in rows:
        if row.startswith(("...", "@@")):
            yield None, row, None
        elif not row[:COLUMN].strip() and row[COLUMN:COLUMN + 3] == "...":
            yield None, "...", None
        else:   # (a row only A has ends in its mark, its trailing blank cut: " <")
            yield row[:COLUMN].rstrip(), row[COLUMN:COLUMN + 3].ljust(3), row[COLUMN + 3:]


def line_rows(rows: list[str]) -> list[tuple[int | None, int | None]]:
    """The diff's rows that show a line: (A's line, B's line), None where a side has none there."""
    def number(cell: str) -> int | None:
        head = cell[:5].strip()
        return int(head) if head.isdigit() else None
    return [(number(cell_a), number(cell_b)) for cell_a, _, cell_b in _cells(rows) if cell_a is not None]


def cursor_said(lines: list[dict[str, Any]], at: tuple[int | None, int | None], a: str, b: str,
                first: int = 0) -> Text:
    """What the diff's cursor is on: each side's line, the Python line it comes from (``first``
    side's first: 1 after Enter jumped to B's lines) and every line of each side from that Python
    line (``lines``: the diff's, by Python line)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("▸ ", style="bold")
    text.append(" | ".join(f"{label} line {n}" for label, n in zip((a, b), at) if n is not None))
    found = []
    for side, n in sorted(zip(("a", "b"), at), key=lambda s: s[0] != "ab"[first]):
        found += [r for r in lines if n is not None and n in from_spans(r[side])
                  and r not in found]
    if not found:
        text.append(": from no line of the kernel's Python source", style="dim")
        return text
    r = found[0]
    text.append(f" ← Python {r['python']}: ", style="bold")
    text.append(r["source"])
    text.append(f"{f' (and {len(found) - 1} more)' if len(found) > 1 else ''} · its lines: "
                f"{a} {r['a'] or '-'} | {b} {r['b'] or '-'}", style="dim")
    return text


def _marked(cell: str, side: int, jump: Jump | None) -> bool:
    """Whether a side's cell holds one of the lines Enter jumped to."""
    head = cell.strip().split(" ", 1)[0]
    return jump is not None and jump.side == side and head.isdigit() and int(head) in jump.lines


def side_by_side(rows: list[str], width: int, cursor: int | None = None,
                 jump: Jump | None = None) -> tuple[Text, list[int]]:
    """The rows side by side, the ``cursor``-th of those with a line in reverse, the lines
    ``jump`` went to marked; and where each row with a line is (its line in the text)."""
    half = (width - 3) // 2
    text = Text(no_wrap=True, overflow="ellipsis")
    offsets: list[int] = []
    for y, (cell_a, mark, cell_b) in enumerate(_cells(rows)):
        if cell_a is None:
            text.append(f"{mark.center(width) if mark == '...' else mark}\n", style="dim")
            continue
        on = len(offsets) == cursor
        offsets.append(y)
        style = ("reverse " if on else "") + ("" if mark == "   " else "yellow")
        text.append(cell_a[:half].ljust(half), style=f"{style} {MARKED}" if _marked(cell_a, 0, jump) else style)
        text.append(mark, style="bold" + (" reverse" if on else ""))
        text.append(cell_b[:half], style=f"{style} {MARKED}" if _marked(cell_b, 1, jump) else style)
        text.append("\n")
    text.rstrip()
    return text, offsets


def stacked(rows: list[str], width: int, cursor: int | None = None,
            jump: Jump | None = None) -> tuple[Text, list[int]]:
    """Each changed row as A's line (-) over B's (+); an unchanged row once, as A has it; the
    ``cursor``-th row with a line in reverse, the lines ``jump`` went to marked; and where each
    row with a line is."""
    text = Text(no_wrap=True, overflow="ellipsis")
    offsets: list[int] = []
    y = 0
    for cell_a, mark, cell_b in _cells(rows):
        if cell_a is None:
            text.append(f"  {mark}\n", style="dim")
            y += 1
            continue
        on = len(offsets) == cursor
        offsets.append(y)
        signs = MARKS.get(mark)
        if signs is None:   # (the same on both sides; marked: as the side Enter jumped to has it)
            style = "reverse" if on else "dim"
            marked = _marked(cell_b, 1, jump)
            if marked or _marked(cell_a, 0, jump):
                style = f"{style} {MARKED}"
            text.append(f"  {(cell_b if marked else cell_a).strip()}"[:width] + "\n", style=style)
            y += 1
            continue
        for side, sign, cell, style in ((0, signs[0], cell_a, "red"), (1, signs[1], cell_b, "green")):
            if sign is not None:
                style = ("reverse " if on else "") + style
                text.append(f"{sign} {cell.strip()}"[:width] + "\n",
                            style=f"{style} {MARKED}" if _marked(cell, side, jump) else style)
                y += 1
    text.rstrip()
    return text, offsets


def run_lines(run: dict[str, Any] | None, a: str, b: str) -> list[str]:
    """On a GPU: each release's outputs on the captured inputs and its timing, as the CLI says them."""
    if run is None:
        return []
    if "error" in run:
        return [f"outputs and timings: {run['error']}"]
    out = []
    for label in (a, b):
        side = run["sides"][label]
        said = (f"did not run: {side['error']}" if side["error"] else
                "outputs as the original's" if side["ok"] else "outputs DIFFER: " + "; ".join(side["mismatches"]))
        timing = "" if side["median_us"] is None else f", median {side['median_us']:.2f} us"
        out.append(f"Triton {label} on the captured inputs: {said}{timing}")
    return out + ([run["timing"]["said"]] if run.get("timing") else [])

"""The Profile tab: the original and a version under Nsight Compute, side by side.

The runner exports each version (it holds the captured inputs); ``python -m workbench profile
FOLDER... --json`` then runs in a process of its own (ncu replays the kernel many times and takes
seconds; the runner keeps the app's CUDA context and is never profiled), from a thread, so
editing goes on; its JSON fills the table (``workbench.profile.profile.table``, as the CLI prints
it), the roofline and the hot lines of every level.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from workbench.tui.widgets.table import TableView
from workbench.tui.widgets.tool_process import ToolProcess
from workbench.tui.format import version_label

HOT_LEVELS = ("python", "ttir", "ttgir", "llir", "ptx", "sass")


EMPTY = ("no profile yet: P profiles the version selected in History (or the last one) beside the original, "
         "under Nsight Compute (ncu)")


class ProfileView(ToolProcess, Vertical):
    result: dict | None = None   # the last profile's JSON (`workbench profile --json`)

    DEFAULT_CSS = """
    ProfileView > #profile-title { height: auto; padding: 0 1; }
    ProfileView > Horizontal { height: 1fr; }
    ProfileView DataTable { width: 1fr; height: 1fr; }
    ProfileView VerticalScroll { width: 52; height: 1fr; }
    ProfileView VerticalScroll > Static { padding: 0 1; }
    """

    class Done(Message):
        def __init__(self, labels: list[str], result: dict | None, error: str | None, seconds: float,
                     spec_id: str | None = None) -> None:
            super().__init__()
            self.labels, self.result, self.error, self.seconds = labels, result, error, seconds
            self.spec_id = spec_id

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, id="profile-title")
        with Horizontal():
            yield TableView(id="profile-table", zebra_stripes=True, cursor_type="row")
            with VerticalScroll():
                yield Static("", id="profile-roofline")
                yield Static("", id="profile-hot")

    def on_mount(self) -> None:
        self.running = False
        self.spec_id: str | None = None   # the kernel profiled (a profile of another one that ends is not shown)
        self.init_tool()

    def start(self, spec_id: str, kernel: str, versions: list[str], flops: str | None = None) -> None:
        """Profile ``versions`` of the kernel (the first is the base of the change column)."""
        if self.running:
            self.app.status.show("a profile is running: its result comes to the Profile tab")
            return
        self.running, self.spec_id = True, spec_id
        what = " and ".join(version_label(v) for v in versions)
        self.query_one("#profile-title", Static).update(f"profiling {kernel} {what} under ncu…")
        self.app.status.show(f"profiling {kernel} {what} under ncu (seconds; editing goes on)…", busy=True)
        self._work(spec_id, versions, flops)

    @work(exclusive=True, group="profile", exit_on_error=False)
    async def _work(self, spec_id: str, versions: list[str], flops: str | None) -> None:
        t0 = time.monotonic()
        labels = [version_label(v) for v in versions]
        try:
            folders = [await self.export(spec_id, v) for v in versions]
            command = [sys.executable, "-m", "workbench", "profile", *folders, "--json",
                       *(["--flops", flops] if flops else [])]
            # (ncu's own process, minutes long: waited for on a thread, as any child process)
            status, out, err = await asyncio.to_thread(self.run_tool, command)
        except Exception as e:  # noqa: BLE001 - the runner's answer, shown as it is
            self.post_message(self.Done(labels, None, getattr(e, "message", None) or str(e), time.monotonic() - t0,
                                        spec_id))
            return
        if status != 0:
            lines = [ln for ln in err.splitlines() if ": error: " in ln] or err.strip().splitlines()[-1:]
            self.post_message(self.Done(labels, None, "\n".join(lines) or f"exit status {status}",
                                        time.monotonic() - t0, spec_id))
            return
        self.post_message(self.Done(labels, json.loads(out), None, time.monotonic() - t0, spec_id))

    def clear(self) -> None:
        """Another kernel on screen: its empty state (a profile still running is not shown when it ends)."""
        self.spec_id, self.result = None, None
        self.query_one("#profile-title", Static).update(EMPTY)
        self.query_one(DataTable).clear(columns=True)
        self.query_one("#profile-roofline", Static).update("")
        self.query_one("#profile-hot", Static).update("")

    def on_profile_view_done(self, msg: Done) -> None:
        self.running = False
        if msg.spec_id != self.spec_id:
            return   # profiled for a kernel no longer on screen
        title = self.query_one("#profile-title", Static)
        if msg.error is not None:
            title.update(f"no profile: {msg.error}")
            self.app.status.show(f"profile: {msg.error.splitlines()[0]}", kind="error")
            return
        self.result = msg.result
        self.show(msg.result)
        self.app.status.show(f"profiled {' and '.join(msg.result['profiles'])} in {msg.seconds:.1f} s: "
                             "the Profile tab (key P)", kind="ok")

    def show(self, result: dict) -> None:
        from workbench.profile.roofline import chart
        profiles = result["profiles"]
        first = next(iter(profiles.values()))
        self.query_one("#profile-title", Static).update(
            f"{first['kernel']} on {first['device']}, grid {first['grid']}, block {first['block']}: "
            f"{' vs '.join(profiles)}")
        table = self.query_one(DataTable)
        table.clear(columns=True)
        rows = result["table"]
        table.add_columns(*rows[0].keys())
        for row in rows:
            table.add_row(*row.values())
        points = {label: p["roofline"] for label, p in profiles.items()}
        lines = []
        for label, pt in points.items():
            bound = f", {pt['bound']}-bound, {pt['pct_of_roof']:.1f}% of the roof" if pt.get("bound") else ""
            lines.append(f"{label}: {pt['flops']:.4g} FLOP ({pt['flops_source']}, {pt['dtype'] or '-'}), "
                         f"{pt['dram_bytes']:.4g} DRAM bytes{bound}")
        lines.append(f"peaks {first['roofline']['peaks_source']}")
        self.query_one("#profile-roofline", Static).update("\n".join(lines + chart(points, width=26)))
        from workbench.profile import scopes
        scoped = [line for label, p in profiles.items() for line in scopes.lines(label, p.get("scopes"))]
        self.query_one("#profile-hot", Static).update("\n".join(hot_lines(profiles) + scoped))


def hot_lines(profiles: dict[str, dict]) -> list[str]:
    """The hottest lines of each level, per version, with their share of the kernel's counts."""
    out = []
    for label, p in profiles.items():
        hot = p.get("hot") or {}
        counter = "samples" if (hot.get("totals") or {}).get("samples") else "executed"
        out.append(f"hot lines of {label} (share of {counter}):" + (f" {hot['note']}" if hot.get("note") else ""))
        for level in HOT_LEVELS:
            top = (hot.get("top") or {}).get(counter, {}).get(level)
            if top:
                out.append(f"  {level:<6} " + "  ".join(f"{line}: {share:.0%}" for line, _, share in top))
    return out


def heat_for(result: dict | None, who: str | None, level: str) -> dict[int, float]:
    """The heat column of a pane showing ``who``'s text ("original" or a version number) at
    ``level``: each line's share of that version's profile counts; none if it was not profiled."""
    if result is None or who is None:
        return {}
    p = result["profiles"].get(version_label(who))
    hot = (p or {}).get("hot") or {}
    totals = hot.get("totals") or {}
    counter = "samples" if totals.get("samples") else "executed"
    total = totals.get(counter) or 0
    lines = (hot.get("levels") or {}).get(level) or {}
    return {int(n): c[counter] / total for n, c in lines.items() if c[counter]} if total else {}

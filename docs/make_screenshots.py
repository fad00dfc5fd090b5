"""Export SVG screenshots of the app's main screens (Textual's own export) into docs/screenshots/.

    .venv/bin/python docs/make_screenshots.py            # all of them
    .venv/bin/python docs/make_screenshots.py profile    # the Profile tab only

The Profile tab is shot on examples/matmul.py under the real ncu where there is one; elsewhere
under tests/fake_ncu.py, which answers with the real H200 pages of that kernel (tests/data/ncu).

Runs the real app on a copy of examples/vector_add.py (the runner included: on a CPU, the
Python level runs in Triton's interpreter and IR levels are compiled only).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"
SIZE = (170, 48)


async def until(pilot, cond, what: str = "", timeout: float = 180.0) -> None:
    """Wait for ``cond`` on the app, at most ``timeout`` seconds, then for the screen to settle."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what or pilot.app.status.message
        await pilot.pause(0.05)
    await pilot.pause(0.3)


async def main() -> None:
    from workbench.tui.app import WorkbenchApp

    work = Path(tempfile.mkdtemp(prefix="wb-shots-")) / "demo"
    work.mkdir()
    script = work / "vector_add.py"
    shutil.copy(ROOT / "examples" / "vector_add.py", script)
    os.environ["WORKBENCH_CONFIG"] = str(work / "config.toml")
    app = WorkbenchApp(script, bench={"warmup_ms": 5.0, "rep_ms": 30.0, "graph": False})
    OUT.mkdir(parents=True, exist_ok=True)

    async with app.run_test(size=SIZE) as pilot:
        def shot(name: str) -> None:
            app.save_screenshot(str(OUT / f"{name}.svg"))
            print("wrote", OUT / f"{name}.svg")

        await until(pilot, lambda: app.last_good is not None)
        py = app.pane("python").view
        py.focus()
        py.goto_line(next(n for n in range(1, py.line_count + 1) if "tl.store(" in py.line_text(n)))
        await pilot.pause(0.2)
        shot("main")                                   # levels side by side, mapping, Outputs

        pane = app.pane("python")
        await pilot.press("e")
        pane.editor.load_text(pane.editor.text.replace("x + y, mask=mask", "x - y, mask=mask"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.last_good["version"] == "1")
        shot("edit-mismatch")                          # a Python edit: the mismatch in Outputs
        await pilot.press("escape")

        ttgir = app.pane("ttgir")
        ttgir.view.focus()
        await pilot.press("e")
        lines = ttgir.editor.text.split("\n")
        lines[11] += " bogus"
        ttgir.editor.load_text("\n".join(lines))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.column("ttgir").has_class("-error"))
        shot("compile-error")                          # the error at its line, the last result kept
        ttgir.editor.load_text("\n".join(lines).replace(" bogus", "").replace('"ttg.num-warps" = 4', '"ttg.num-warps" = 8')
                               .replace("warpsPerCTA = [4]", "warpsPerCTA = [8]"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.last_good["version"] == "2")   # 8 warps: the sidebar, Bench, History say so
        await pilot.press("escape")

        pane = app.pane("python")
        pane.view.focus()
        await pilot.press("e")
        await pilot.pause(0.1)
        pane.editor.insert("    # typed, not saved\n", (pane.editor.cursor_location[0], 0))
        await pilot.press("escape")
        await until(pilot, lambda: pane.has_draft)
        shot("draft")                                  # Esc kept the text: the title says draft
        await pilot.press("u")                         # discarded on purpose

        app.pane("python").view.focus()
        for key, name in (("B", "bench"), ("H", "history"), ("L", "log"), ("f1", "help")):
            await pilot.press(key)
            await pilot.pause(0.2)
            shot(name)

    # an autotuned kernel: its configs grouped under it, told apart by their constexprs
    shutil.copy(ROOT / "examples" / "autotuned_add.py", work / "autotuned_add.py")
    app = WorkbenchApp(work / "autotuned_add.py", bench={"warmup_ms": 5.0, "rep_ms": 30.0, "graph": False})
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.last_good is not None)
        picker = app.query_one("#picker")
        picker.focus()
        picker.highlighted = 0
        await pilot.press("enter")                     # the group open: every config
        await pilot.pause(0.3)
        app.save_screenshot(str(OUT / "picker.svg"))
        print("wrote", OUT / "picker.svg")
        app.pane("python").view.focus()
        await pilot.press("C")                         # every config replayed on the captured inputs
        await until(pilot, lambda: "configs" in app.query_one("#results").active)
        await pilot.pause(1.0)
        app.save_screenshot(str(OUT / "configs.svg"))
        print("wrote", OUT / "configs.svg")

    # a watched value: re-dumped on a save beside the original's; F: the first divergence
    watched = work / "watched"
    watched.mkdir()
    shutil.copy(ROOT / "examples" / "vector_add.py", watched / "vector_add.py")
    app = WorkbenchApp(watched / "vector_add.py", bench={"warmup_ms": 5.0, "rep_ms": 30.0, "graph": False})
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.last_good is not None)
        view = app.pane("python").view
        view.focus()
        line = next(n for n in range(1, view.line_count + 1) if "y = tl.load(" in view.line_text(n))
        view.goto_line(line, view.line_text(line).index("y = "))
        await pilot.pause()
        await pilot.press("w")
        pane = app.pane("python")
        await pilot.press("e")
        await pilot.pause()
        pane.editor.load_text(pane.editor.text.replace("y = tl.load(", "y = -tl.load(", 1))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.last_good.get("version") == "1" and "differs" in app.status.message)
        await pilot.press("escape")
        await pilot.pause(0.5)
        app.save_screenshot(str(OUT / "watch.svg"))
        print("wrote", OUT / "watch.svg")
        view.focus()
        await pilot.press("F")
        await until(pilot, lambda: "first value that differs" in app.status.message, timeout=300)
        await pilot.pause(0.5)
        app.save_screenshot(str(OUT / "diverge.svg"))
        print("wrote", OUT / "diverge.svg")
    shutil.rmtree(work.parent, ignore_errors=True)


def _matmul_demo() -> tuple[Path, Path]:
    """A copy of the matmul example in a folder of its own, with a config of its own."""
    work = Path(tempfile.mkdtemp(prefix="wb-shots-")) / "demo"
    work.mkdir()
    script = work / "matmul.py"
    shutil.copy(ROOT / "examples" / "matmul.py", script)
    os.environ["WORKBENCH_CONFIG"] = str(work / "config.toml")
    return work, script


async def profile_shot() -> None:
    """The Profile tab and the heat column, after `P` on a version of the matmul example."""
    from workbench.profile.ncu import find_ncu
    from workbench.tui.app import WorkbenchApp

    work, script = _matmul_demo()
    if find_ncu() is None:
        sys.path.insert(0, str(ROOT / "tests"))
        import fake_ncu
        os.environ.update(fake_ncu.install(work / "bin"))
    app = WorkbenchApp(script, bench={"warmup_ms": 5.0, "rep_ms": 30.0, "graph": False})
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.last_good is not None)
        pane = app.pane("python")
        pane.view.focus()
        await pilot.press("e")   # v1: a comment changed, so the table has a version beside the original
        pane.editor.load_text(pane.editor.text.replace("# Accumulate in fp32", "# Accumulate in FP32"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.last_good["version"] == "1")
        await pilot.press("escape")
        await pilot.press("P")
        view = app.query_one("ProfileView")
        await until(pilot, lambda: not view.running, timeout=300)
        py = app.pane("python").view
        py.focus()
        py.goto_line(next(n for n in range(1, py.line_count + 1) if "= tl.dot(" in py.line_text(n)))
        await pilot.pause(0.5)
        app.save_screenshot(str(OUT / "profile.svg"))
        print("wrote", OUT / "profile.svg")
    shutil.rmtree(work.parent, ignore_errors=True)


async def passes() -> None:
    """The Passes tab on the matmul example, zoomed: the pass that introduced a TTGIR line."""
    from workbench.tui.app import WorkbenchApp

    work, script = _matmul_demo()
    app = WorkbenchApp(script, bench={"warmup_ms": 5.0, "rep_ms": 30.0, "graph": False})
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.last_good is not None)
        await pilot.press("3")
        view = app.pane("ttgir").view
        view.goto_line(next(n for n in range(1, view.line_count + 1) if "ttng.warp_group_dot " in view.line_text(n)))
        await pilot.press("p")                          # the pass that introduced that line
        await until(pilot, lambda: "was introduced by" in app.status.message)
        await pilot.press("z")                          # the tab over the whole screen
        await pilot.pause(0.5)
        app.save_screenshot(str(OUT / "passes.svg"))
        print("wrote", OUT / "passes.svg")
    shutil.rmtree(work.parent, ignore_errors=True)


if __name__ == "__main__":
    # `make_screenshots.py profile` or `... passes`: only that tab's; no argument: all of them
    only = sys.argv[1:]
    if not only:
        asyncio.run(main())
    if not only or only == ["profile"]:
        asyncio.run(profile_shot())
    if not only or only == ["passes"]:
        asyncio.run(passes())

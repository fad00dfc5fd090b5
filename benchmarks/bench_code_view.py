"""The level view on a 20,000-line PTX: open + first render, and one page of scrolling,
as ratios against baselines in the same run: Textual's ``Static`` showing the same text
(unhighlighted, rendered whole) and pygments lexing the whole file.

    .venv/bin/python benchmarks/bench_code_view.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
from pathlib import Path

from textual.app import App
from textual.widgets import Static

from workbench.highlight import lexer_for_level
from workbench.tui.themes import load_themes, register_themes
from workbench.tui.widgets.code_view import CodeView

ROOT = Path(__file__).resolve().parent.parent
SIZE = (160, 50)


def cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                import os
                return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    return platform.processor() or platform.machine()


class One(App):
    def __init__(self, widget):
        super().__init__()
        self._widget = widget
        register_themes(self, load_themes())
        self.theme = "dark"

    def compose(self):
        yield self._widget


async def first_frame(make) -> float:
    start = time.perf_counter()
    app = One(make())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        return time.perf_counter() - start


async def page_times(text: str, pages: int) -> float:
    app = One(CodeView(text, "ptx"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.query_one(CodeView)
        height = view.size.height
        start = time.perf_counter()
        for _ in range(pages):
            view.action_page_down()
            for y in range(height):       # what the compositor asks for: every visible line
                view.render_line(y)
        return (time.perf_counter() - start) / pages


def best(fn, repeat):
    return min(fn() for _ in range(repeat))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    one = (ROOT / "tests" / "data" / "softmax.ptx").read_text()
    text = one * (20_000 // one.count("\n") + 1)
    n = text.count("\n")

    lex = best(lambda: (lambda t0: (sum(1 for _ in lexer_for_level("ptx").get_tokens(text)),
                                    time.perf_counter() - t0)[1])(time.perf_counter()), args.repeat)
    static = best(lambda: asyncio.run(first_frame(lambda: Static(text, markup=False))), args.repeat)
    empty = best(lambda: asyncio.run(first_frame(lambda: Static(""))), args.repeat)
    view = best(lambda: asyncio.run(first_frame(lambda: CodeView(text, "ptx"))), args.repeat)
    page = best(lambda: asyncio.run(page_times(text, 100)), args.repeat)

    print(f"CPU: {cpu()}  python {platform.python_version()}  {n} lines of PTX, {SIZE[0]}x{SIZE[1]} terminal")
    print(f"  app with an empty Static, to first frame   {empty * 1000:8.1f} ms")
    print(f"  app with Static(text), to first frame      {static * 1000:8.1f} ms")
    print(f"  app with CodeView(text), to first frame    {view * 1000:8.1f} ms   "
          f"{view / static:.2f}x Static, +{(view - empty) * 1000:.1f} ms over an empty app")
    print(f"  pygments lexing the whole file             {lex * 1000:8.1f} ms")
    print(f"  CodeView, one page down + render {SIZE[1]} lines {page * 1000:8.2f} ms   "
          f"{page / lex:.4f}x whole-file lexing")


if __name__ == "__main__":
    main()

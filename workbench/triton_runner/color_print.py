"""``triton_runner.color_print``: their coloured lines on stdout (plain where stdout is no terminal)."""

from __future__ import annotations

import sys

_COLORS = {"blue": 34, "yellow": 33, "red": 31}


def _print(text: str, color: str) -> None:
    if sys.stdout.isatty():
        text = f"\033[{_COLORS[color]}m{text}\033[0m"
    print(text, flush=True)


def blue_print(text) -> None:
    _print(str(text), "blue")


def yellow_print(text) -> None:
    _print(str(text), "yellow")


def red_print(text) -> None:
    _print(str(text), "red")


def get_project_name() -> str:
    return "[Triton Runner]"

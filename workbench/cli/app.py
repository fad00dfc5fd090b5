"""``workbench [app] [SCRIPT] [-- ARGS]``: the app in a terminal; without one, the compile summary."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from workbench.cli.common import EXIT_OK, EXIT_USAGE_OR_INPUT


def wanted(argv: list[str]) -> bool:
    """``workbench``, ``workbench SCRIPT.py``, ``workbench app [SCRIPT]``, ``workbench -- ARGS``."""
    head = argv[0] if argv else None
    return head is None or head == "app" or head == "--" or (head.endswith(".py") and not head.startswith("-"))


def run(argv: list[str], cli_main: Callable[[list[str]], int]) -> int:
    """``cli_main`` runs the compile summary where there is no terminal (the CLI's ``main``,
    passed in: this module is one of its commands)."""
    from workbench.tui.app import bundled_example, run_app
    args = list(argv)
    if args and args[0] == "app":
        args = args[1:]
    script_args: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, script_args = args[:cut], args[cut + 1:]
    if any(a in ("-h", "--help") for a in args):
        print("usage: workbench [app] [SCRIPT] [-- SCRIPT_ARGS]\n\nOpen the workbench app on SCRIPT "
              f"(default: the bundled example {bundled_example().name}).")
        return EXIT_OK
    script = Path(args[0]) if args else bundled_example()
    if not script.is_file():
        print(f"{script}: error: no such script", file=sys.stderr)
        return EXIT_USAGE_OR_INPUT
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("workbench: not a terminal, so no app: here is the compile summary instead "
              "(run `workbench SCRIPT` in a terminal for the app)", file=sys.stderr)
        return cli_main(["compile", str(script), *(["--", *script_args] if script_args else [])])
    return run_app(script, script_args)

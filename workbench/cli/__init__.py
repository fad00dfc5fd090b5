"""The ``workbench`` command: a module per command, each adding its parser; ``main`` (main.py)
parses and dispatches. ``workbench.cli:main`` is the console script's entry point."""

from workbench.cli.main import main

__all__ = ["main"]

"""The app's widgets, one per module: ``code_view`` (a level, read-only), ``level_pane``
(a code view with its search bar and an editor that swaps in), ``level_column`` (a pane with its
title and error bar), ``kernel_picker``, ``status_line``, and the results tabs: ``outputs_view``,
``dumps_view``, ``bench_view``, ``configs_view``, ``history_view``, ``profile_view``,
``passes_view``, ``compare_view``, ``sanitize_view``, ``log_view``.

The results tabs are mounted just after the first frame, and their modules (with what they
import: RichLog brings rich.pretty and attrs) are imported then too: ``widgets.BenchView`` imports
``bench_view`` when it is first asked for."""

from __future__ import annotations

import importlib

_LAZY = {"OutputsView": "outputs_view", "DumpsView": "dumps_view", "BenchView": "bench_view",
         "ConfigsView": "configs_view", "HistoryView": "history_view", "ProfileView": "profile_view",
         "heat_for": "profile_view", "PassesView": "passes_view", "CompareView": "compare_view",
         "SanitizeView": "sanitize_view", "LogView": "log_view"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

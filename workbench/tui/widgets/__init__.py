"""The app's widgets, one per module: ``code_view`` (a level, read-only), ``level_pane``
(a code view with its search bar and an editor that swaps in), ``level_column`` (a pane with its
title and error bar), ``kernel_picker``, ``status_line``, and the results tabs: ``outputs_view``,
``dumps_view``, ``bench_view``, ``history_view``, ``log_view``."""

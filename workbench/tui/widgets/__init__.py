"""The app's widgets, one per module: ``code_view`` (a level, read-only), ``level_pane``
(a code view with its search bar and an editor that swaps in)."""

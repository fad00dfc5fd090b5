"""One controller per results tab: what the app does for that tab (its runner requests, its
messages, its keys); the tab's widget is in ``tui/widgets/``."""

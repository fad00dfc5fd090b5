"""The panes follow the line under the cursor: ``f`` and a level switched to land on the lines
mapped from the focused pane's cursor line, not on line 1."""

from __future__ import annotations

from workbench.model.levels import Family
from workbench.tui.widgets.code_view import CodeView

PLACE_TRIES = 5   # a view just shown is laid out a frame or two later: placed again until then


def place(view: CodeView, line: int, *, cursor: bool, tries: int = PLACE_TRIES) -> None:
    """``line`` in sight in ``view``: the cursor on it (``cursor``), else only scrolled to (the
    cursor of a pane not focused stays, and so do the mapped lines it highlights)."""
    if cursor:
        view.goto_line(line)
    else:
        view.center_on(line)
    top, height = view.scroll_offset.y, view.scrollable_content_region.height
    if not (height > 0 and top <= view._row_of_line(line) < top + height) and tries > 0:
        def again() -> None:
            if not cursor or view.cursor_line == line:   # (not if the cursor moved on meanwhile)
                place(view, line, cursor=cursor, tries=tries - 1)
        view.call_after_refresh(again)


def lines_said(level: str, lines: list[int], family: Family) -> str:
    return f"{family.title(level)} line {lines[0]}" if lines else f"no {family.title(level)} line"


def follow(shown: list[str], here: str, related: dict[str, list[int]], views: dict[str, CodeView],
           family: Family) -> tuple[str, str]:
    """``f`` with ``shown`` panes, ``here`` focused: the next pane is the one to focus, at its first
    line mapped from the cursor's; every other shown pane scrolls to its own (panes named as
    ``family`` names them). (that level, what the status line says)."""
    i = shown.index(here) if here in shown else 0
    target = shown[(i + 1) % len(shown)]
    said = []
    for level in shown[i + 1:] + shown[:i + 1]:
        if level == here:
            continue
        lines = related.get(level, [])
        if lines:
            place(views[level], lines[0], cursor=level == target)
        said.append(lines_said(level, lines, family))
    return target, f"f: {', '.join(said)} (from {family.title(here)} line {views[here].cursor_line})"

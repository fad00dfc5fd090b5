"""SVG pictures of the app's views, checked against stored ones: ``WORKBENCH_UPDATE_SNAPSHOTS=1``
stores new ones; a picture that differs fails and leaves ``<name>.actual.svg`` beside the stored one."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest


async def settled_svg(pilot, title: str) -> str:
    """The picture once it has settled: two frames alike (a fixed pause drew it half-painted on a
    loaded CI machine: a region of unpainted cells)."""
    svg, previous = "", None
    for _ in range(50):
        await pilot.pause(0.2)
        svg = re.sub(r"terminal-\d+", "terminal", pilot.app.export_screenshot(title=title))
        if svg == previous:
            break
        previous = svg
    return svg


def check_stored(svg: str, stored: Path, what: str) -> None:
    if os.environ.get("WORKBENCH_UPDATE_SNAPSHOTS") == "1" or not stored.exists():
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_text(svg)
        if os.environ.get("WORKBENCH_UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"no stored snapshot: wrote {stored}; look at it and commit it")
        return
    actual = stored.with_suffix(".actual.svg")
    if svg != stored.read_text():
        actual.write_text(svg)
        pytest.fail(f"{what} differs from {stored}: see {actual}")
    actual.unlink(missing_ok=True)

"""Keys and focus in the app (issue 27: 2, 6, 10), driven through Pilot against the real runner:
text typed into a field stays there, Esc leaves a field, the focused pane is marked, ``f`` follows
the mapping through every shown pane, and the smaller things a new user met."""

from __future__ import annotations

import shutil

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.widgets import Input

from test_app import FAST_BENCH, SIZE, line_of, opened, wait_for
from conftest import EXAMPLES
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.code_view import CodeView


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", path)
    return path


async def burst(pilot, *keys: str) -> None:
    """Keys as a terminal delivers typed text: all at once, none waiting for the one ahead to be
    handled (``pilot.press`` waits between keys, and a focus moved by a key lands in between)."""
    app = pilot.app
    for key in keys:
        name = key if len(key) > 1 or key.isalnum() else _character_to_key(key)
        app._driver.send_message(events.Key(name, key if len(key) == 1 else None))
    await pilot.pause()
    await pilot.pause(0.3)


def watch_rows(app) -> int:
    return app.query_one("#watch-table").row_count


@pytest.mark.asyncio
async def test_text_typed_after_a_tab_key_lands_in_its_field_and_esc_leaves_it(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        app.pane("python").view.focus()
        await pilot.pause()
        shown = list(app.shown_levels)

        # C and the config in one burst: the field has it all, no level switched, no tab changed
        await burst(pilot, "C", *"BLOCK_M=64,128 num_warps=4")
        field = app.query_one("#configs-try", Input)
        assert app.query_one("#results").active == "configs"
        assert app.focused is field
        assert field.value == "BLOCK_M=64,128 num_warps=4"
        assert app.shown_levels == shown and watch_rows(app) == 0
        # Esc leaves the field for the levels (the text stays for later)
        await pilot.press("escape")
        assert isinstance(app.focused, CodeView) and app.focused.level in shown
        assert field.value == "BLOCK_M=64,128 num_warps=4"

        # D and a value in one burst: likewise
        await burst(pilot, "D", *"acc w4 x")
        value = app.query_one("#dump-value", Input)
        assert app.query_one("#results").active == "dumps"
        assert app.focused is value and value.value == "acc w4 x"
        assert app.shown_levels == shown and watch_rows(app) == 0
        # the level field too: no one-letter key acts while a field has the focus
        level = app.query_one("#dump-level", Input)
        level.focus()
        await pilot.pause()
        await burst(pilot, "ctrl+u", *"ttgir 2 w f")
        assert level.value == "ttgir 2 w f" and app.focused is level
        assert app.shown_levels == shown and watch_rows(app) == 0
        await pilot.press("escape")
        assert isinstance(app.focused, CodeView)

        # the keys act again once out of the field
        await pilot.press("4")
        await pilot.pause()
        assert "llir" in app.shown_levels

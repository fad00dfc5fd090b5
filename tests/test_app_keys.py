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


def title_of(app, level: str) -> str:
    return str(app.column(level).query_one(".level-title").render())


def in_sight(view: CodeView, line: int) -> bool:
    top, height = view.scroll_offset.y, view.scrollable_content_region.height
    return height > 0 and top <= view._row_of_line(line) < top + height


@pytest.mark.asyncio
async def test_the_focused_pane_is_marked_and_f_follows_the_mapping_through_every_shown_pane(script):
    from textual.color import Color

    from workbench.tui.widgets.level_column import FOCUS_MARK
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        py, ttgir, ptx = (app.pane(lv).view for lv in ("python", "ttgir", "ptx"))
        py.focus()
        await pilot.pause()
        # the focused pane's title is marked, in every theme: a sign, and a background far from the others'
        for theme in sorted(app.themes.themes):
            app.theme = theme
            await pilot.pause()
            assert title_of(app, "python").startswith(FOCUS_MARK), theme
            assert not any(title_of(app, lv).startswith(FOCUS_MARK) for lv in ("ttgir", "ptx")), theme
            marked, plain = (Color.from_rich_color(app.column(lv).query_one(".level-title").rich_style.bgcolor)
                             for lv in ("python", "ttgir"))
            assert abs(marked.brightness - plain.brightness) >= 0.25, (theme, marked, plain)
        app.theme = "dark"

        # f: the focus to the next pane at the line mapped from the cursor's, the pane after it
        # scrolled to its mapped line, and the status line says where
        store = line_of(py, "tl.store(")
        py.goto_line(store)
        await pilot.pause()
        related = app.map.related("python", store)
        ptx.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        assert not in_sight(ptx, related["ptx"][0])   # (else the test shows nothing)
        await pilot.press("f")
        await pilot.pause()
        assert app.focused is ttgir and ttgir.cursor_line == related["ttgir"][0]
        assert in_sight(ptx, related["ptx"][0]) and py.cursor_line == store
        assert title_of(app, "ttgir").startswith(FOCUS_MARK) and not title_of(app, "python").startswith(FOCUS_MARK)
        assert f"TTGIR line {related['ttgir'][0]}" in app.status.message
        # on through every shown pane, and round
        await pilot.press("f")
        await pilot.pause()
        assert app.focused is ptx and ptx.cursor_line in app.map.related("ttgir", ttgir.cursor_line)["ptx"]
        await pilot.press("f")
        await pilot.pause()
        assert app.focused is py and py.cursor_line == store

        # a level switched to opens at the line mapped from the cursor's, not at line 1
        await pilot.press("4")
        await pilot.pause()
        llir = app.pane("llir").view
        assert app.focused is llir and llir.cursor_line == related["llir"][0] > 1
        await pilot.pause(0.2)
        assert in_sight(llir, llir.cursor_line)


@pytest.mark.asyncio
async def test_in_one_pane_f_switches_to_the_next_level_at_its_mapped_line(script):
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=(80, 24)) as pilot:
        app = await opened(pilot)
        assert app.shown_levels == ["python"]
        py = app.pane("python").view
        py.focus()
        store = line_of(py, "tl.store(")
        py.goto_line(store)
        await pilot.pause()
        related = app.map.related("python", store)
        await pilot.press("f")
        await pilot.pause(0.2)
        ttir = app.pane("ttir").view
        assert app.shown_levels == ["ttir"] and app.focused is ttir
        assert ttir.cursor_line == related["ttir"][0] and in_sight(ttir, ttir.cursor_line)
        await pilot.press("f")
        await pilot.pause(0.2)
        ttgir = app.pane("ttgir").view
        assert app.shown_levels == ["ttgir"] and app.focused is ttgir
        assert ttgir.cursor_line == app.map.related("ttir", ttir.cursor_line)["ttgir"][0]
        assert in_sight(ttgir, ttgir.cursor_line)

"""Keys and focus in the app (issue 27: 2, 6, 10), driven through Pilot against the real runner:
text typed into a field stays there, Esc leaves a field, the focused pane is marked, ``f`` follows
the mapping through every shown pane, and the smaller things a new user met."""

from __future__ import annotations

import shutil

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.widgets import Input

from pilot import FAST_BENCH, SIZE, edit_and_save, line_of, opened, wait_for
from helpers import EXAMPLES
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.code_view import CodeView


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


async def palette_hits(pilot, query: str) -> list[str]:
    """The command palette's entries for a query, as a user types it (ctrl+p, the text)."""
    from textual.command import CommandList, CommandPalette
    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
    await pilot.press(*query)
    await pilot.pause(0.6)   # (the palette gathers its providers' hits in the background)
    found = app.screen.query_one(CommandList)
    hits = [found.get_option_at_index(i).prompt for i in range(found.option_count)]
    await pilot.press("escape")
    await pilot.pause()
    return [h.plain if hasattr(h, "plain") else str(h) for h in hits]


@pytest.mark.asyncio
async def test_the_footer_help_palette_and_configs_field_speak_of_what_is_there(script):
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        await pilot.pause(0.3)
        # the footer lists the keys before any key is pressed
        assert app.query_one(Footer).query(FooterKey), "the footer is blank"
        # ? lists quit
        await pilot.press("question_mark")
        await pilot.pause()
        table = app.screen.query_one("#help-table")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert any(r[1] == "ctrl+q" and r[2] == "Quit" for r in rows), rows
        await pilot.press("escape")
        # the palette: one Quit; "diff" finds the History tab's diff
        assert sum(h.splitlines()[0].strip() == "Quit" for h in await palette_hits(pilot, "quit")) == 1
        assert any("History" in h for h in await palette_hits(pilot, "diff"))
        # the Configs field's example names this kernel's own constexpr, not BLOCK_M
        await pilot.press("C")
        await pilot.pause()
        placeholder = app.query_one("#configs-try", Input).placeholder
        assert "BLOCK_SIZE=" in placeholder and "BLOCK_M" not in placeholder, placeholder


@pytest.mark.asyncio
async def test_the_sidebar_gives_a_version_its_verdict(script):
    from workbench.tui.widgets.kernel_picker import KernelPicker
    app = WorkbenchApp(script, bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        await edit_and_save(pilot, app, "x + y, mask=mask", "x - y, mask=mask")
        prompt = str(app.query_one(KernelPicker).get_option_at_index(0).prompt)
        assert "v1: MISMATCH" in prompt.splitlines()[2], prompt


@pytest.mark.asyncio
async def test_a_fixed_grid_is_said_with_what_to_type_in_the_app_and_the_field_takes_a_grid(tmp_path):
    """matmul's grid is numbers the script computed for BLOCK_M=128: the hint says what to type
    in the Configs field (not a CLI flag), and a grid typed there makes the config verify."""
    from textual.widgets import DataTable
    shutil.copy(EXAMPLES / "matmul.py", tmp_path / "matmul.py")
    app = WorkbenchApp(tmp_path / "matmul.py", bench=FAST_BENCH)
    async with app.run_test(size=SIZE) as pilot:
        app = await opened(pilot)
        await pilot.press("C")
        grid = app.query_one("#configs-table", DataTable)
        await pilot.press(*"BLOCK_M=64", "enter")
        await wait_for(pilot, lambda: grid.row_count == 2, what="the tried config")
        verdict = str(app.query_one("#configs-verdict").render())
        assert "the script's grid is fixed at (4,), whatever BLOCK_M is" in verdict, verdict
        assert "--grid" not in verdict and "grid=cdiv(M,BLOCK_M)*cdiv(N,BLOCK_N) after the config" in verdict
        # a grid that is more than arithmetic: one line, nothing run
        app.query_one("#configs-try", Input).focus()
        await pilot.press(*"BLOCK_M=64 grid=__import__('os')", "enter")
        await wait_for(pilot, lambda: "the Configs field" in app.status.message, what="the refusal")
        assert "\n" not in app.status.message and grid.row_count == 2
        # the grid typed after the config: the same config again, now verified
        app.query_one("#configs-try", Input).focus()
        await pilot.press(*"BLOCK_M=64 grid=cdiv(M,BLOCK_M)*cdiv(N,BLOCK_N)", "enter")
        await wait_for(pilot, lambda: app.status.message.startswith("tried BLOCK_M=64"), what="the grid's run")
        rows = [[str(c) for c in grid.get_row_at(i)] for i in range(grid.row_count)]
        assert any(r[1].startswith("BLOCK_M=64") and r[5] == "ok" for r in rows), rows


@pytest.mark.asyncio
async def test_e_before_the_kernel_is_open_says_so_and_slash_before_the_rest_is_mounted_takes_the_keys(script):
    # e pressed while the runner still opens the script: the pane holds no level yet, so text typed
    # into an editor then had nothing under it and was lost when the kernel came (load_kernel drops
    # the drafts of the kernel shown before). It says so and edits nothing; once the levels show it
    # edits them. The search bar is mounted just after the first frame (a fifth of the first
    # screen's time); / before that mounts it at once, and what follows lands in it.
    app = WorkbenchApp(script, bench=FAST_BENCH)
    notices: list[str] = []
    app.notify = lambda message, **kw: notices.append(message)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane("python")
        assert not app.rest_ready and pane._tools is None and app.current is None
        pane.view.focus()
        await burst(pilot, "e", *"pid")
        assert not pane.editing and pane.draft_text() is None and app.focused is pane.view
        assert any("still opening" in n for n in notices), notices
        await burst(pilot, "slash", *"tl.load")
        assert app.focused is pane.search_bar and pane.search_bar.value == "tl.load"
        await pilot.press("escape")
        app = await opened(pilot)
        await wait_for(pilot, lambda: app.rest_ready, what="the rest mounted")
        assert len(app.query("#editor")) == len(app.query(CodeView))   # one editor a pane, none twice
        pane.view.focus()
        await burst(pilot, "e", *"abc")
        assert app.focused is pane.editor and pane.editing
        assert "@triton.jit" in pane.view.text and pane.editor.text.count("@triton.jit") == 1
        assert pane.draft_text() is not None and "abc" in pane.draft_text()

"""Config, themes and the level view, driven through Textual's Pilot in a minimal app."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from rich.color import ColorSystem
from rich.style import Style
from textual.app import App

from helpers import ROOT
from workbench.model.results import RunResult
from workbench.tui.config import Config, load_config
from workbench.tui.themes import BUILTIN_DIR, SYNTAX_TOKENS, load_themes, register_themes
from workbench.tui.widgets.code_view import CodeView
from workbench.tui.widgets.level_pane import LevelPane

DATA = ROOT / "tests" / "data"


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    """Never read the developer's own config."""
    monkeypatch.setenv("WORKBENCH_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path / "config.toml"


@pytest.fixture(scope="module")
def big_ptx() -> str:
    text = (DATA / "softmax.ptx").read_text()
    return text * (20_000 // text.count("\n") + 1)


class ViewApp(App):
    def __init__(self, text: str, level: str, theme: str = "dark"):
        super().__init__()
        self._content = (text, level)
        self.moves: list[int] = []
        self.jumps: list[CodeView.Jumped] = []
        self.saves: list[LevelPane.Save] = []
        register_themes(self, load_themes())
        self.theme = theme

    def compose(self):
        yield LevelPane(*self._content)

    def on_mount(self):
        self.query_one(CodeView).focus()

    def on_code_view_cursor_moved(self, event: CodeView.CursorMoved):
        self.moves.append(event.line)

    def on_code_view_jumped(self, event: CodeView.Jumped):
        self.jumps.append(event)

    def on_level_pane_save(self, event: LevelPane.Save):
        self.saves.append(event)


def screen_text(view: CodeView) -> list[str]:
    return [view.render_line(y).text for y in range(view.size.height)]


# -- config ----------------------------------------------------------------------------------------

def test_config_defaults_when_absent(isolated_config):
    config = load_config()
    assert config == Config() and config.problems == [] and config.path is None
    assert config.themes_dir == isolated_config.parent / "themes"


def test_config_from_the_env_var(isolated_config):
    isolated_config.write_text('theme = "light"\nbench_on_save = false\nsnapshot_limit_mb = 64\n'
                               'target = "cuda:80"\n\n[keys]\n"code_view.find_next" = "ctrl+n, f3"\n')
    config = load_config()
    assert (config.theme, config.bench_on_save, config.snapshot_limit_mb, config.target) == \
        ("light", False, 64, "cuda:80")
    assert config.keys == {"code_view.find_next": "ctrl+n,f3"} and config.problems == []
    assert config.path == isolated_config


def test_malformed_config_gives_file_and_line_and_defaults(isolated_config):
    isolated_config.write_text('theme = "light"\n\nbench_on_save = maybe\n')
    config = load_config()
    assert config.theme == "dark"          # nothing from a file that does not parse
    assert len(config.problems) == 1 and config.problems[0].startswith(f"{isolated_config}:3: not valid TOML")
    isolated_config.write_text('theme = 3\nsnapshot_limit_mb = true\ncolour = "red"\n[keys]\nquit = 5\n')
    config = load_config()
    assert config.theme == "dark" and config.snapshot_limit_mb == 256 and config.keys == {}
    assert [p.split(": ")[0] for p in config.problems] == [f"{isolated_config}:{n}" for n in (1, 2, 3, 5)]
    assert "theme must be a theme name" in config.problems[0]
    isolated_config.write_bytes(b'theme = "\xff"\n')
    assert load_config().problems == [f"{isolated_config}:1: not UTF-8 text"]


def test_config_keys_remap_a_binding(isolated_config, big_ptx):
    isolated_config.write_text('[keys]\n"code_view.find_next" = "x"\n')
    config = load_config()

    async def run():
        app = ViewApp("a\nb\na\nb\n", "ptx")
        async with app.run_test(size=(60, 10)) as pilot:
            app.set_keymap(config.keys)
            view = app.query_one(CodeView)
            view.find("b")
            assert view.cursor_line == 2
            await pilot.press("x")
            assert view.cursor_line == 4
    import asyncio
    asyncio.run(run())


# -- themes ----------------------------------------------------------------------------------------

def test_builtin_themes_load_complete():
    themes = load_themes()
    assert themes.problems == []
    assert {"dark", "light", "high-contrast"} <= set(themes.themes)
    for theme in themes.themes.values():
        assert set(theme.syntax) == set(SYNTAX_TOKENS), theme.name   # every token class coloured
        assert theme.app.background and theme.app.foreground and theme.app.primary
    assert themes.get("dark").dark and not themes.get("light").dark
    assert themes.get("no-such").name == "dark"
    assert (ROOT / "themes" / "dark.toml").read_text() == (BUILTIN_DIR / "dark.toml").read_text()


def test_a_user_theme_from_the_config_folder(tmp_path):
    user = tmp_path / "themes"
    user.mkdir()
    (user / "mine.toml").write_text('name = "mine"\ndark = false\n[app]\nprimary = "#123456"\n'
                                    '[syntax]\nkeyword = "bold #ff0000"\n')
    (user / "broken.toml").write_text('name = "broken"\n[app]\nprimary = "not a colour"\n[syntax]\nop = "blinkk"\n')
    themes = load_themes(user)
    mine = themes.get("mine")
    assert mine.path == user / "mine.toml" and mine.app.primary == "#123456" and not mine.dark
    from pygments.token import Keyword
    assert mine.syntax_styles().style_for(Keyword.Namespace) == Style.parse("bold #ff0000")
    assert "broken" not in themes.themes
    assert themes.problems[0].startswith(f"{user / 'broken.toml'}:3: primary = 'not a colour' is not a colour")


def _contrast(a, b) -> float:
    def lum(c):
        def ch(v):
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        r, g, b_ = c
        return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b_)
    la, lb = sorted((lum(a), lum(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_high_contrast_reads_in_16_colours():
    """Every syntax colour, downgraded to the 16-colour palette, keeps 4.5:1 contrast on the
    background, the cursor line and the mapped lines."""
    from rich._palettes import STANDARD_PALETTE
    theme = load_themes().get("high-contrast")

    def sixteen(color):
        c = color.downgrade(ColorSystem.STANDARD)
        return tuple(STANDARD_PALETTE[c.number]) if c.number is not None else c.get_truecolor()

    styles = theme.syntax_styles()
    backgrounds = [Style.parse(f"on {theme.app.background}").bgcolor, styles.view["cursor_line"].bgcolor,
                   styles.view["mapped_line"].bgcolor]
    backgrounds = [bg for bg in backgrounds if bg is not None]
    for key, spec in theme.syntax.items():
        style = Style.parse(spec)
        for bg in ([style.bgcolor] if style.bgcolor else backgrounds):
            assert _contrast(sixteen(style.color), sixteen(bg)) >= 4.5, (key, spec, bg)
        assert style.color.get_truecolor() == sixteen(style.color), key   # exact palette colours
    # the dark theme, downgraded, still tells keywords, types, ops and SSA values apart
    dark = load_themes().get("dark").syntax
    downgraded = {k: Style.parse(dark[k]).color.downgrade(ColorSystem.EIGHT_BIT).number
                  for k in ("keyword", "type", "op", "ssa", "comment")}
    assert len(set(downgraded.values())) == 5, downgraded


def test_no_color_turns_marks_into_attributes(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    async def run():
        app = ViewApp("%a = arith.addf %b, %c : f32\n%b = x\n", "ttgir")
        async with app.run_test(size=(60, 6)) as pilot:
            await pilot.pause()
            assert app.no_color                      # Textual's monochrome filter is on
            view = app.query_one(CodeView)
            strip = view.render_line(0)
            assert any(seg.style and seg.style.underline for seg in strip)   # the cursor line
            view.highlight_lines({2})
            assert view.render_line(1).text.startswith("▌2")                 # a mark, not a colour
    import asyncio
    asyncio.run(run())


# -- the code view ---------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_open_scroll_and_render_a_20000_line_ptx(big_ptx):
    app = ViewApp(big_ptx, "ptx")
    start = time.perf_counter()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        opened = time.perf_counter() - start
        view = app.query_one(CodeView)
        assert view.line_count == big_ptx.count("\n") >= 20_000
        assert view.lexed_lines == 200                 # one chunk lexed, not 20,000 lines
        lines = screen_text(view)
        assert lines[0].rstrip() == "     1  //"
        assert lines[1].rstrip() == "     2  // Generated by LLVM NVPTX Back-End"
        await pilot.press("pagedown", "pagedown", "down")
        height = view.scrollable_content_region.height
        assert view.cursor_line == 1 + 2 * (height - 1) + 1
        assert app.moves[-1] == view.cursor_line
        await pilot.press("G")
        assert view.cursor_line == view.line_count
        last = screen_text(view)[view.scrollable_content_region.height - 1]
        assert last.lstrip().startswith(str(view.line_count))
        assert view.lexed_lines <= 800                # the start and the end, nothing between
        await pilot.press("g")
        assert view.cursor_line == 1 and view.scroll_offset.y == 0
    assert opened < 5.0


def test_a_narrow_title_gives_up_the_file_name_before_the_version():
    from workbench.tui.widgets.level_column import fit_title
    assert fit_title("TTGIR", "matmul_kernel.ttgir", "edited (v1)", 60) == "TTGIR  matmul_kernel.ttgir  edited (v1)"
    short = fit_title("TTGIR", "matmul_kernel.ttgir", "edited (v12)", 34)
    assert short == "TTGIR  matmul….ttgir  edited (v12)" and len(short) == 34
    assert fit_title("TTGIR", "matmul_kernel.ttgir", "edited (v12)", 24) == "TTGIR  edited (v12)"


@pytest.mark.asyncio
async def test_a_pane_title_keeps_its_version_in_a_narrow_column(tmp_path):
    """Three panes beside the picker at 160 columns are 37 wide: the TTGIR title of the matmul
    example lost its "(v1)" to the line's wrap, and read as if the file were no version's."""
    from textual.app import App
    from workbench.tui.widgets.level_column import FOCUS_MARK, LevelColumn

    class ColumnApp(App):
        CSS = "LevelColumn { width: 38; }"

        def compose(self):
            yield LevelColumn("ttgir")

    app = ColumnApp()
    async with app.run_test(size=(80, 10)) as pilot:
        column = app.query_one(LevelColumn)
        column.path = tmp_path / "matmul_kernel.ttgir"
        column.set_title("edited (v1)")
        await pilot.pause()
        title = column.query_one(".level-title")
        drawn = title.render_line(0).text.strip()
        # (its view has the focus, the only one there is: the title carries the mark too)
        assert drawn.startswith(FOCUS_MARK + "TTGIR  matmul") and drawn.endswith("edited (v1)"), drawn


@pytest.mark.asyncio
async def test_a_new_version_redraws_only_its_changed_lines():
    """A pane given a new version's text draws the lines it shares with the old one (same line,
    same text, same tokens) from the lines it drew, and the rest again: a save's redraw is the
    size of the edit, not of the file; a line moved down is drawn again, with its new number."""
    text = (DATA / "softmax.ttgir").read_text()
    app = ViewApp(text, "ttgir")
    async with app.run_test(size=(120, 20)) as pilot:
        view = app.query_one(CodeView)
        view.goto_line(12)
        await pilot.pause()
        before = [view.render_line(y) for y in range(view.size.height)]
        lines = text.splitlines()
        row = next(y for y in range(4, view.size.height) if "arith." in lines[view.scroll_offset.y + y]
                   and view.scroll_offset.y + y + 1 != view.cursor_line)
        index = view.scroll_offset.y + row
        edited = lines[:index] + [lines[index].replace("arith.", "arith.X", 1)] + lines[index + 1:]
        view.load("\n".join(edited) + "\n", "ttgir")
        await pilot.pause()
        after = [view.render_line(y) for y in range(view.size.height)]
        assert "arith.X" in after[row].text and after[row] is not before[row]
        assert all(a is b for y, (a, b) in enumerate(zip(after, before)) if y != row)
        shifted = ["// one more line"] + edited
        view.load("\n".join(shifted) + "\n", "ttgir")   # every line one down
        await pilot.pause()
        top = view.scroll_offset.y
        for y in range(view.size.height - 1):
            drawn = view.render_line(y).text
            assert drawn.split()[0] == str(top + y + 1) and shifted[top + y].strip()[:20] in drawn, (y, drawn)


@pytest.mark.asyncio
async def test_rendered_colours_follow_the_theme():
    text = (DATA / "softmax.ttgir").read_text()
    app = ViewApp(text, "ttgir")
    async with app.run_test(size=(120, 20)) as pilot:
        view = app.query_one(CodeView)
        n = next(i for i, line in enumerate(text.splitlines(), 1) if "tt.load" in line)
        view.goto_line(n)
        await pilot.pause()
        y = n - 1 - view.scroll_offset.y
        strip = view.render_line(y)
        seg = next(s for s in strip if s.text == "tt.load")
        dark = load_themes().get("dark")
        assert seg.style.color == Style.parse(dark.syntax["op"]).color
        assert seg.style.bgcolor == Style.parse(dark.view["cursor_line"]).bgcolor   # the cursor line
        app.theme = "light"
        await pilot.pause()
        seg = next(s for s in view.render_line(y) if s.text == "tt.load")
        assert seg.style.color == Style.parse(load_themes().get("light").syntax["op"]).color


@pytest.mark.asyncio
async def test_search_from_the_search_bar(big_ptx):
    app = ViewApp(big_ptx, "ptx")
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(CodeView)
        first = next(i for i, line in enumerate(big_ptx.splitlines(), 1) if "st.global" in line)
        await pilot.press("slash", *"st.global", "enter")
        assert view.cursor_line == first and view.has_focus
        assert view.line_text(first)[view.cursor_column:].startswith("st.global")
        await pilot.press("n")
        second = next(i for i, line in enumerate(big_ptx.splitlines(), 1) if "st.global" in line and i > first)
        assert view.cursor_line == second
        await pilot.press("N")
        assert view.cursor_line == first
        row = view.render_line(first - 1 - view.scroll_offset.y)
        dark = load_themes().get("dark")
        marked = "".join(s.text for s in row if s.style.bgcolor == Style.parse(dark.view["search_match"]).bgcolor)
        assert marked == "t.global"    # the match is marked (its first cell is the cursor's)
        assert [s.text for s in row if s.style.reverse] == ["s"]
        assert view.find("no such text anywhere") is None
        await pilot.pause()
        assert view.cursor_line == first and app.jumps[-1].found is False


@pytest.mark.asyncio
async def test_goto_definition_mlir_and_back():
    text = (DATA / "softmax.ttgir").read_text()
    lines = text.splitlines()
    app = ViewApp(text, "ttgir")
    async with app.run_test(size=(120, 20)) as pilot:
        view = app.query_one(CodeView)
        use = next(i for i, line in enumerate(lines, 1) if "arith.divf %num" in line)
        view.goto_line(use, lines[use - 1].index("%num"))
        await pilot.press("d")
        assert view.cursor_line == next(i for i, line in enumerate(lines, 1) if "%num = math.exp" in line)
        assert view.name_at() == "%num"
        await pilot.press("ctrl+o")
        assert view.cursor_line == use
        # a function argument, and a block argument
        store = next(i for i, line in enumerate(lines, 1) if "tt.addptr %out_ptr" in line)
        view.goto_line(store, lines[store - 1].index("%out_ptr"))
        assert view.goto_definition() == next(i for i, line in enumerate(lines, 1) if "tt.func public" in line)
        add = next(i for i, line in enumerate(lines, 1) if "arith.addf %den_8" in line)
        view.goto_line(add, lines[add - 1].index("%den_8"))
        assert view.goto_definition() == add - 1                       # ^bb0(%den_8: f32 ...
        view.goto_line(1, 0)
        assert view.goto_definition() is None
        await pilot.pause()
        assert app.jumps[-1].found is False and app.jumps[-1].what == "definition"


@pytest.mark.asyncio
async def test_goto_definition_llvm_and_ptx():
    llir = (DATA / "softmax.llir").read_text()
    lines = llir.splitlines()
    app = ViewApp(llir, "llir")
    async with app.run_test(size=(120, 20)):
        view = app.query_one(CodeView)
        defn = next(i for i, line in enumerate(lines, 1) if line.lstrip().startswith("%12 = "))
        use = next(i for i, line in enumerate(lines, 1) if i > defn and "%12" in line)
        view.goto_line(use, lines[use - 1].index("%12"))
        assert view.goto_definition() == defn
        ptx = (DATA / "softmax.ptx").read_text()
        view.load(ptx, "ptx")
        plines = ptx.splitlines()
        first_write = next(i for i, line in enumerate(plines, 1) if re.match(r"\s*[a-z][\w.]*\s+%r1,", line))
        assert first_write < next(i for i, line in enumerate(plines, 1) if "%r1;" in line or "%r1," in line
                                  and i > first_write)
        assert view.definition_of("%r1") == first_write


@pytest.mark.asyncio
async def test_mapped_lines_and_jumps(big_ptx):
    app = ViewApp(big_ptx, "ptx")
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(CodeView)
        view.highlight_lines({3, 4, 9, 15_000, 10**9})
        assert view.highlighted_lines == [3, 4, 9, 15_000]
        await pilot.press("right_square_bracket")
        assert view.cursor_line == 3
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        assert view.cursor_line == 15_000
        assert view.scroll_offset.y <= 14_999 < view.scroll_offset.y + view.scrollable_content_region.height
        await pilot.press("right_square_bracket")
        assert view.cursor_line == 3                  # wraps
        await pilot.press("left_square_bracket")
        assert view.cursor_line == 15_000
        row = view.render_line(15_000 - 1 - view.scroll_offset.y)
        assert row.text.startswith("▌15000")
        assert app.moves[-1] == 15_000


@pytest.mark.asyncio
async def test_edit_mode_posts_save_without_writing(tmp_path):
    app = ViewApp("%a = arith.addf %b, %c : f32\n", "ttgir")
    async with app.run_test(size=(60, 10)) as pilot:
        pane = app.query_one(LevelPane)
        await pilot.press("e")
        assert pane.editing and pane.editor.has_focus
        await pilot.press("end", *" // hi", "ctrl+s")
        assert len(app.saves) == 1
        assert app.saves[0].level == "ttgir" and app.saves[0].text == "%a = arith.addf %b, %c : f32 // hi\n"
        await pilot.press("escape")
        assert not pane.editing and pane.view.has_focus
    assert list(tmp_path.iterdir()) == []


def test_the_tui_imports_without_torch_or_triton():
    code = ("import sys, time\nt = time.perf_counter()\n"
            "import workbench.tui, workbench.highlight, workbench.tui.config, workbench.tui.themes\n"
            "import workbench.tui.widgets.code_view, workbench.tui.widgets.level_pane\n"
            "from workbench.highlight import lexer_for_level\n"
            "[lexer_for_level(l) for l in ('python', 'ttir', 'ttgir', 'llir', 'ptx', 'sass')]\n"
            "bad = [m for m in ('torch', 'triton') if m in sys.modules]\n"
            "print(bad, round(time.perf_counter() - t, 3))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    bad, _seconds = proc.stdout.rsplit(" ", 1)
    assert bad == "[]"


def test_history_diffs_against_the_original_the_previous_or_any_version(tmp_path):
    from workbench.model.results import Version
    from workbench.tui.widgets.history_view import version_diff
    kernel = tmp_path / "k-1"
    (kernel / "original").mkdir(parents=True)
    (kernel / "original" / "k.ttgir").write_text("a\nb\nc\n")
    versions = []
    for n, text in enumerate(["a\nB\nc\n", "a\nB\nC\n", "A\nB\nC\n"], 1):
        folder = kernel / "versions" / f"{n:03d}"
        folder.mkdir(parents=True)
        (folder / "k.ttgir").write_text(text)
        versions.append(Version.parse({"number": n, "level": "ttgir", "folder": str(folder)}))
    last = versions[-1]
    assert "--- original/k.ttgir" in version_diff("k", kernel, last, "original", versions)
    previous = version_diff("k", kernel, last, "previous", versions)
    assert "--- v2/k.ttgir" in previous and "-a\n" in previous and "+A\n" in previous and "-b" not in previous
    marked = version_diff("k", kernel, last, "1", versions)
    assert "--- v1/k.ttgir" in marked and "-c\n" in marked and "+C\n" in marked
    assert version_diff("k", kernel, versions[0], "1", versions) == "v1 TTGIR is the same as v1"


@pytest.mark.asyncio
async def test_a_huge_levels_diff_is_made_off_the_screen_and_drawn_bounded(tmp_path):
    """A 5 MB TTGIR version: the table answers at once ("diffing…"), the diff comes from a
    thread, and the drawn part stops at DIFF_LINES_SHOWN with the count of the rest."""
    from textual.widgets import Static
    from workbench.model.results import Version
    from workbench.tui.widgets.history_view import DIFF_LINES_SHOWN, HistoryView
    kernel = tmp_path / "k-1"
    (kernel / "original").mkdir(parents=True)
    old = "".join(f"%{i} = arith.addf %a, %b : tensor<1024xf32>  // line {i}\n" for i in range(80_000))
    (kernel / "original" / "k.ttgir").write_text(old)
    folder = kernel / "versions" / "001"
    folder.mkdir(parents=True)
    (folder / "k.ttgir").write_text(old.replace("addf", "subf"))
    assert len(old) > 4_000_000

    class HistoryApp(App):
        def compose(self):
            yield HistoryView()

    app = HistoryApp()
    async with app.run_test(size=(160, 40)) as pilot:
        view = app.query_one(HistoryView)
        view.show_versions("k", kernel, [Version.parse({"number": 1, "level": "ttgir", "folder": str(folder)})])
        shown = app.query_one("#history-diff", Static)
        assert "v1: diffing…" in str(shown.render())      # not made in the foreground
        for _ in range(600):
            if view.diff_text:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        assert "-%0 = arith.addf" in view.diff_text and "+%79999 = arith.subf" in view.diff_text
        drawn = str(shown.render())
        assert drawn.count("\n") <= DIFF_LINES_SHOWN + 2
        more = view.diff_text.count("\n") - DIFF_LINES_SHOWN
        assert f"… {more:,} lines more" in drawn


def _outputs(**errors) -> RunResult:
    return RunResult.parse({"kernel": "k", "spec_id": "s1", "version": "2", "level": "python", "status": "ok", "outputs": [
        {"name": name, "dtype": "float32", "shape": [64], "ok": err < 1e-3, "max_abs": err, "max_rel": err,
         "mismatches": 0 if err < 1e-3 else 7, "nan": 0, "inf": 0} for name, err in errors.items()]})


@pytest.mark.asyncio
async def test_the_outputs_table_changes_only_the_cells_a_result_changes():
    """A result with the same outputs updates the cells that differ: the row under the cursor
    stays (a clear put it back on the first row on every save) and an equal result redraws nothing."""
    from textual.app import ComposeResult
    from textual.widgets import DataTable
    from workbench.tui.widgets.outputs_view import OutputsView

    class OutputsApp(App):
        def compose(self) -> ComposeResult:
            yield OutputsView()

    app = OutputsApp()
    async with app.run_test(size=(120, 20)) as pilot:
        view, table = app.query_one(OutputsView), app.query_one(DataTable)
        view.show_result(_outputs(out=0.0, acc=0.0, lse=0.0))
        table.move_cursor(row=2)
        await pilot.pause()
        drawn = table._update_count
        view.show_result(_outputs(out=0.0, acc=0.0, lse=0.0))
        assert table._update_count == drawn                   # nothing changed: nothing redrawn
        view.show_result(_outputs(out=0.0, acc=0.5, lse=0.0))
        assert table.cursor_row == 2 and table.row_count == 3
        assert [str(c) for c in table.get_row_at(1)][3:7] == ["FAIL", "0.5", "0.5", "7"]
        assert [str(c) for c in table.get_row_at(0)][3:5] == ["ok", "0"]
        # other outputs (another kernel's): the table is made again
        view.show_result(_outputs(y=0.0))
        assert table.row_count == 1 and [str(c) for c in table.get_row_at(0)][:1] == ["y"]
        view.clear()
        assert table.row_count == 0 and "no run yet" in str(app.query_one("#outputs-summary").render())


@pytest.mark.asyncio
async def test_a_panes_scrollbars_follow_its_text_and_size_and_nothing_else():
    """The scrollbars are set again when the view's text or size changes (CodeView skips
    Textual's resetting them on every layout of the screen), never left at an old text's size."""
    app = ViewApp("a\nb\n", "ptx")
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(CodeView)
        await pilot.pause()
        assert not view.show_vertical_scrollbar
        view.load("\n".join(f"line {i}" for i in range(500)), "ptx")
        await pilot.pause()
        bar = view.vertical_scrollbar
        assert view.show_vertical_scrollbar and bar.window_virtual_size == 500
        shown = bar.window_size
        view.load("\n".join(f"line {i}" for i in range(120)) + "\n" + "x" * 300, "ptx")
        await pilot.pause()
        assert bar.window_virtual_size == 121 and view.show_horizontal_scrollbar
        await pilot.resize_terminal(80, 30)
        await pilot.pause()
        assert bar.window_size > shown
        app.screen.refresh(layout=True)          # a layout with nothing of the view's changed
        await pilot.pause()
        assert bar.window_virtual_size == 121 and view.show_vertical_scrollbar


def _timed(version: str, median: float, original: float | None = None) -> RunResult:
    timing = {"mode": "graph", "stats": {"median": median, "spread": 0.01}, "gbps": 800.0}
    vs = None if original is None else {"ratio": median / original, "verdict": "faster", "sentence": "",
                                        "timing": {"mode": "graph", "stats": {"median": original, "spread": 0.02}}}
    return RunResult.parse({"kernel": "k", "spec_id": "s1", "version": version, "level": "ttgir", "status": "ok",
                            "timing": timing, "vs_original": vs, "compile": {"num_warps": 4}})


@pytest.mark.asyncio
async def test_a_versions_ratio_is_against_the_original_timed_beside_it():
    """The original's timing that came with a version becomes the original's row (before any
    run of the original, and replacing an older timing of it): the ratio on screen is of the
    two medians on screen, and the status line says the same."""
    from textual.widgets import DataTable
    from workbench.tui.format import result_summary
    from workbench.tui.widgets.bench_view import BenchView

    class BenchApp(App):
        def compose(self):
            yield BenchView()

    app = BenchApp()
    async with app.run_test(size=(160, 20)) as pilot:
        view = app.query_one(BenchView)
        view.add_result(_timed("1", 0.0047, original=0.0050))
        await pilot.pause()
        table = app.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[:4] for r in rows] == [["original", "python", "", "5.0"], ["v1", "ttgir", "ok", "4.7"]]
        assert rows[0][4] == "2.0%" and rows[1][7] == "0.940×" and rows[1][8] == "graph"
        view.add_result(_timed("2", 0.0045, original=0.0060))
        await pilot.pause()
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [(r[0], r[3], r[7]) for r in rows] == [("original", "6.0", "1.000×"), ("v1", "4.7", "0.783×"),
                                                      ("v2", "4.5", "0.750×")]
    assert result_summary(_timed("2", 0.0045, original=0.0060)) == \
        "k v2 (from TTGIR): ok · median 4.5 µs · 0.750× the original's 6.0 µs"

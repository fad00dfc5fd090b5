"""Themes: app colours (a ``textual.theme.Theme``) plus syntax and view colours, from TOML files.

Builtin themes ship inside the package, in ``workbench/themes/*.toml`` (``themes/`` at the top
of the repository links there), so an editable install and a wheel find them the same way.
User themes are ``<config dir>/themes/*.toml``; a user theme with a builtin's name replaces it.
A theme file::

    name = "dark"
    dark = true
    [app]      primary, secondary, accent, foreground, background, surface, panel,
               error, warning, success (colours)
    [syntax]   token class -> Rich style, keys in SYNTAX_TOKENS
    [view]     cursor_line, mapped_line, search_match, gutter, gutter_cursor, cursor

Textual turns ``NO_COLOR`` into a monochrome filter over everything drawn, and downgrades
colours to what the terminal has (256 or 16): the high-contrast theme uses only colours of the
16-colour palette so that it survives the downgrade unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pygments.token import Comment, Error, Keyword, Name, Number, Operator, Punctuation, String, Token, _TokenType
from rich.errors import StyleSyntaxError
from rich.style import Style
from textual.theme import Theme

from workbench.highlight.tokens import Address, AttrAlias, Location, Op, Predicate, Register, SSA
from workbench.tui.config import line_of, read_toml

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "themes"
DEFAULT_THEME = "dark"

#: theme [syntax] key -> the pygments token type it colours (subtypes inherit it)
SYNTAX_TOKENS: dict[str, _TokenType] = {
    "text": Token,
    "comment": Comment,
    "location": Location,
    "address": Address,
    "keyword": Keyword,
    "type": Keyword.Type,
    "name": Name,
    "ssa": SSA,
    "register": Register,
    "predicate": Predicate,
    "alias": AttrAlias,
    "op": Op,
    "function": Name.Function,
    "label": Name.Label,
    "attribute": Name.Attribute,
    "constant": Name.Constant,
    "number": Number,
    "string": String,
    "operator": Operator,
    "punctuation": Punctuation,
    "error": Error,
}
APP_COLOURS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel",
               "error", "warning", "success")
VIEW_KEYS = ("cursor_line", "mapped_line", "search_match", "gutter", "gutter_cursor", "cursor")
_VIEW_DEFAULTS = {"cursor_line": "on #2c313a", "mapped_line": "on #3b3520", "search_match": "black on yellow",
                  "gutter": "#5c6370", "gutter_cursor": "bold", "cursor": "reverse"}


@dataclass(frozen=True)
class WorkbenchTheme:
    name: str
    dark: bool
    app: Theme
    syntax: dict[str, str] = field(default_factory=dict)     # SYNTAX_TOKENS key -> Rich style string
    view: dict[str, str] = field(default_factory=dict)       # VIEW_KEYS -> Rich style string
    path: Path | None = None

    def syntax_styles(self) -> "SyntaxStyles":
        return SyntaxStyles.of(self)


class SyntaxStyles:
    """Token type -> Rich Style for one theme, resolved through the token's parents and cached."""

    def __init__(self, theme: WorkbenchTheme):
        self.theme = theme
        self._by_token: dict[_TokenType, Style] = {
            SYNTAX_TOKENS[k]: Style.parse(v) for k, v in theme.syntax.items() if k in SYNTAX_TOKENS}
        self._cache: dict[_TokenType, Style] = {}
        self.view: dict[str, Style] = {k: Style.parse(theme.view.get(k, _VIEW_DEFAULTS[k])) for k in VIEW_KEYS}

    @staticmethod
    def of(theme: WorkbenchTheme) -> "SyntaxStyles":
        return _styles_of(theme)

    def style_for(self, token: _TokenType) -> Style:
        style = self._cache.get(token)
        if style is None:
            t = token
            while t is not None and t not in self._by_token:
                t = t.parent
            style = self._by_token.get(t, Style.null()) if t is not None else Style.null()
            self._cache[token] = style
        return style


@lru_cache(maxsize=32)
def _styles_of(theme: WorkbenchTheme) -> SyntaxStyles:
    return SyntaxStyles(theme)


# WorkbenchTheme holds dicts, so hash it by identity for the cache above
WorkbenchTheme.__hash__ = object.__hash__  # type: ignore[method-assign]
WorkbenchTheme.__eq__ = lambda self, other: self is other  # type: ignore[method-assign]


def load_theme(path: Path) -> tuple[WorkbenchTheme | None, list[str]]:
    """One theme file: (theme or None, problems as ``FILE:LINE: sentence``)."""
    data, problems = read_toml(path)
    if data is None:
        return None, problems
    text = path.read_text(encoding="utf-8")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{path}:{line_of(text, None, 'name')}: name must be a non-empty string")
        name = path.stem
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        problems.append(f"{path}:{line_of(text, None, 'dark')}: dark must be true or false")
        dark = True

    from textual.color import Color, ColorParseError
    app = data.get("app", {})
    colours: dict[str, str] = {}
    for key, value in (app.items() if isinstance(app, dict) else ()):
        if key not in APP_COLOURS:
            problems.append(f"{path}:{line_of(text, 'app', key)}: unknown app colour {key!r} "
                            f"(known: {', '.join(APP_COLOURS)})")
            continue
        try:
            Color.parse(value)
        except (ColorParseError, TypeError, ValueError):
            problems.append(f"{path}:{line_of(text, 'app', key)}: {key} = {value!r} is not a colour")
            continue
        colours[key] = value
    if "primary" not in colours:
        problems.append(f"{path}:{line_of(text, 'app', 'primary')}: [app] needs a primary colour")
        return None, problems

    def styles(table: str, known) -> dict[str, str]:
        out: dict[str, str] = {}
        section = data.get(table, {})
        for key, value in (section.items() if isinstance(section, dict) else ()):
            if key not in known:
                problems.append(f"{path}:{line_of(text, table, key)}: unknown {table} entry {key!r} "
                                f"(known: {', '.join(known)})")
                continue
            try:
                Style.parse(value)
            except (StyleSyntaxError, TypeError, AttributeError, ValueError) as e:
                problems.append(f"{path}:{line_of(text, table, key)}: {key} = {value!r} is not a style: {e}")
                continue
            out[key] = value
        return out

    return WorkbenchTheme(name=name, dark=dark, app=Theme(name=name, dark=dark, **colours),
                          syntax=styles("syntax", tuple(SYNTAX_TOKENS)), view=styles("view", VIEW_KEYS),
                          path=path), problems


@dataclass
class ThemeSet:
    themes: dict[str, WorkbenchTheme] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def get(self, name: str) -> WorkbenchTheme:
        """The named theme; the default when there is none by that name."""
        return self.themes.get(name) or self.themes[DEFAULT_THEME]

    def for_app_theme(self, theme: Theme | None) -> WorkbenchTheme:
        """Ours for a Textual theme name; for a Textual builtin (no syntax colours), dark or light."""
        if theme is not None and theme.name in self.themes:
            return self.themes[theme.name]
        return self.themes["light" if theme is not None and not theme.dark else DEFAULT_THEME]


def load_themes(user_dir: Path | None = None) -> ThemeSet:
    """Builtin themes, then the user's (which may replace a builtin of the same name)."""
    found = ThemeSet()
    dirs = [BUILTIN_DIR] + ([Path(user_dir)] if user_dir is not None else [])
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            theme, problems = load_theme(path)
            found.problems += problems
            if theme is not None:
                found.themes[theme.name] = theme
    if DEFAULT_THEME not in found.themes:  # a broken install: never start without a theme
        found.themes[DEFAULT_THEME] = WorkbenchTheme(DEFAULT_THEME, True, Theme(name=DEFAULT_THEME,
                                                                                   primary="#61afef", dark=True))
        found.problems.append(f"{BUILTIN_DIR / 'dark.toml'}:1: the builtin dark theme is missing")
    return found


def register_themes(app, themes: ThemeSet) -> None:
    """Make every theme selectable in the app (``app.theme = name``) and remember the set."""
    for theme in themes.themes.values():
        app.register_theme(theme.app)
    app.workbench_themes = themes


def start_with_theme(app, name: str) -> None:
    """``app.theme = name`` for an app whose stylesheet is not parsed yet (from its ``__init__``),
    as Textual's watcher of ``theme`` does it, less the re-parse of the whole stylesheet it asks for
    on the next callback (10 ms of a 2-core EPYC's first screen): the first parse is still to come,
    with these variables."""
    app.set_reactive(type(app).theme, name)
    theme = app.current_theme
    app.stylesheet.set_variables(app.get_css_variables())
    app.update_classes({f"-theme-{theme.name}": True, "-dark-mode": theme.dark, "-light-mode": not theme.dark},
                       update=False)
    app._refresh_truecolor_filter(app.ansi_theme)


def themes_of(app) -> ThemeSet:
    """The app's theme set (builtins only if the app registered none), for widgets."""
    themes = getattr(app, "workbench_themes", None)
    if themes is None:
        themes = _builtin_themes()
    return themes


@lru_cache(maxsize=1)
def _builtin_themes() -> ThemeSet:
    return load_themes()

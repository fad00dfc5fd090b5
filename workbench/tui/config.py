"""The user's config file: theme, key bindings and a few settings.

Found at ``platformdirs.user_config_dir("triton-workbench")/config.toml``; the environment
variable ``WORKBENCH_CONFIG`` names another file (tests use it to keep the developer's own
config out). A missing file means defaults; a malformed one means defaults plus problems
(``FILE:LINE: sentence``) for the app to show. Loading never raises.

    theme = "dark"              # a builtin theme or one from <config dir>/themes/*.toml
    bench_on_save = true        # with a GPU: without one nothing is timed
    snapshot_limit_mb = 256     # captured input snapshots, per kernel launch
    target = "cuda:90"          # compile target without a GPU ("" = the GPU's, else cuda:90)
    script_timeout = 300        # seconds the script may run when opened; then it is stopped at its line

    [keys]                      # binding id -> keys, as App.set_keymap takes them
    "code_view.find_next" = "n,f3"
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APP_NAME = "triton-workbench"
ENV_CONFIG = "WORKBENCH_CONFIG"


def editor_command(environ=os.environ) -> tuple[list[str], str]:
    """The user's editor as a command ($VISUAL, else $EDITOR, else vi) and its name for a
    message; ValueError with the one line to show where it is no program to run."""
    var = next((v for v in ("VISUAL", "EDITOR") if environ.get(v, "").strip()), None)
    text = environ[var] if var else "vi"
    named = f"the editor {text} ({f'from ${var}' if var else 'neither VISUAL nor EDITOR is set'})"
    try:
        argv = shlex.split(text)
    except ValueError as e:
        raise ValueError(f"cannot run {named}: {e}; set VISUAL or EDITOR to your editor") from None
    if not argv or shutil.which(argv[0], path=environ.get("PATH")) is None:
        raise ValueError(f"cannot run {named}: no such program; set VISUAL or EDITOR to your editor")
    return argv, named


def config_dir() -> Path:
    """The folder holding config.toml and themes/ (the env override's folder when set)."""
    override = os.environ.get(ENV_CONFIG)
    if override:
        return Path(override).expanduser().parent
    import platformdirs
    return Path(platformdirs.user_config_dir(APP_NAME))


def config_path() -> Path:
    override = os.environ.get(ENV_CONFIG)
    return Path(override).expanduser() if override else config_dir() / "config.toml"


@dataclass
class Config:
    theme: str = "dark"
    keys: dict[str, str] = field(default_factory=dict)
    bench_on_save: bool = True
    snapshot_limit_mb: int = 256
    target: str = ""
    script_timeout: int = 300
    path: Path | None = None                                 # the file read, if any
    problems: list[str] = field(default_factory=list)        # "FILE:LINE: sentence", for the user

    @property
    def themes_dir(self) -> Path:
        return (self.path.parent if self.path else config_dir()) / "themes"


# name -> (type, what the user is told it must be)
_SETTINGS: dict[str, tuple[type, str]] = {
    "theme": (str, "a theme name (a string)"),
    "bench_on_save": (bool, "true or false"),
    "snapshot_limit_mb": (int, "a whole number of megabytes"),
    "target": (str, 'a target such as "cuda:90"'),
    "script_timeout": (int, "a whole number of seconds"),
}


def load_config(path: str | Path | None = None) -> Config:
    """The config at ``path`` (default: :func:`config_path`); defaults where absent or wrong."""
    path = Path(path) if path is not None else config_path()
    config = Config()
    if not path.exists():
        return config
    config.path = path
    data, problems = read_toml(path)
    config.problems += problems
    if data is None:
        return config
    text = _read_text(path)
    for key, value in data.items():
        if key == "keys":
            if not isinstance(value, dict):
                config.problems.append(f"{path}:{line_of(text, None, key)}: [keys] must be a table of "
                                       f'binding id = "keys"')
                continue
            for binding, keys in value.items():
                if isinstance(keys, str) and keys.strip():
                    config.keys[binding] = keys.replace(" ", "")
                else:
                    config.problems.append(f"{path}:{line_of(text, 'keys', binding)}: keys for {binding!r} "
                                           f'must be a string such as "ctrl+f,f3"')
            continue
        if key not in _SETTINGS:
            config.problems.append(f"{path}:{line_of(text, None, key)}: unknown setting {key!r} "
                                   f"(known: {', '.join(sorted(_SETTINGS))}, [keys])")
            continue
        kind, expected = _SETTINGS[key]
        if type(value) is not kind or (kind is int and value < 0):   # bool is not an int here
            config.problems.append(f"{path}:{line_of(text, None, key)}: {key} must be {expected}, "
                                   f"not {value!r}; using {getattr(config, key)!r}")
            continue
        setattr(config, key, value)
    return config


def read_toml(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """(data, problems): data is None when the file cannot be read or parsed."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        return None, [f"{path}: cannot read: {e.strerror or e}"]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        return None, [f"{path}:{line}: not UTF-8 text"]
    try:
        return _loads(text), []
    except ValueError as e:  # tomllib.TOMLDecodeError, tomli's, and ours are ValueErrors
        msg = str(e)
        m = re.search(r"\(at line (\d+), column \d+\)|at line (\d+)", msg)
        line = next((g for g in (m.groups() if m else ()) if g), None)
        msg = re.sub(r"\s*\(at line \d+, column \d+\)|\s*at line \d+", "", msg).strip() or "malformed"
        return None, [f"{path}:{line or 1}: not valid TOML: {msg[0].lower() + msg[1:]}"]


def _loads(text: str) -> dict[str, Any]:
    try:
        import tomllib  # Python 3.11+
    except ModuleNotFoundError:  # pragma: no cover - 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            return _loads_simple(text)
    return tomllib.loads(text)


def _loads_simple(text: str) -> dict[str, Any]:
    """The subset of TOML our files use (tables, strings, booleans, numbers), for 3.10 without tomli."""
    data: dict[str, Any] = {}
    table = data
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if m := re.fullmatch(r'\[\s*([\w.-]+|"[^"]*")\s*\](\s*#.*)?', line):
            table = data.setdefault(m.group(1).strip('"'), {})
            continue
        m = re.fullmatch(r'([\w.-]+|"[^"]*")\s*=\s*(.+?)\s*(#[^"]*)?', line)
        if not m:
            raise ValueError(f"expected key = value (at line {n}, column 1)")
        key, value = m.group(1).strip('"'), m.group(2)
        if re.fullmatch(r'"(?:\\.|[^"\\])*"', value):
            table[key] = value[1:-1].encode().decode("unicode_escape")
        elif value in ("true", "false"):
            table[key] = value == "true"
        elif re.fullmatch(r"[-+]?\d+", value):
            table[key] = int(value)
        elif re.fullmatch(r"[-+]?\d+\.\d*", value):
            table[key] = float(value)
        else:
            raise ValueError(f"invalid value {value!r} (at line {n}, column {raw.index(value) + 1})")
    return data


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def line_of(text: str, table: str | None, key: str) -> int:
    """The 1-based line where ``key`` is set inside ``[table]`` (None: the top level); 1 if not found."""
    current: str | None = None
    key_re = re.compile(r'\s*(?:"' + re.escape(key) + r'"|' + re.escape(key) + r")\s*=")
    for n, line in enumerate(text.splitlines(), 1):
        if m := re.match(r'\s*\[\s*"?([^\]"]+)"?\s*\]', line):
            current = m.group(1).strip()
        elif current == table and key_re.match(line):
            return n
    if table is None:  # a table given as [key]
        for n, line in enumerate(text.splitlines(), 1):
            if re.match(r'\s*\[\s*"?' + re.escape(key) + r'"?\s*\]', line):
                return n
    return 1

"""The app in a real terminal (tmux): it starts, opens the script, and a save from outside, as an
editor in another pane makes it (write a temporary file, rename it over), shows a new result."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from helpers import EXAMPLES, ROOT
from tmux import TMUX, screen as _screen, wait_screen as _wait_screen
from workbench.tui.watcher import EditWatcher, FilesChanged, relevant



def _start_in_tmux(tmp_path, extra_env: dict[str, str], hup_kept_away: bool = False) -> tuple[str, str]:
    """``hup_kept_away``: the app's parent stays in the terminal's session and the hangup's SIGHUP
    never reaches the app, as under ``make app`` (make waits for its child)."""
    script = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", script)
    config = tmp_path / "config.toml"
    config.write_text("bench_on_save = false\n")
    socket, session = f"wb-test-{uuid.uuid4().hex[:8]}", "app"
    path = os.pathsep.join([str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    env = {"PYTHONPATH": path, "WORKBENCH_CONFIG": str(config), **extra_env}
    if os.environ.get("WORKBENCH_CACHE_DIR"):
        env["WORKBENCH_CACHE_DIR"] = os.environ["WORKBENCH_CACHE_DIR"]
    command = " ".join([f"{k}={v}" for k, v in env.items()] + ["exec", "env", "-u", "COLUMNS", "-u", "LINES",
                                                              "-u", "COLORTERM", sys.executable, "-m", "workbench",
                                                              str(script)])
    if hup_kept_away:
        command = "trap '' HUP; (" + command + "); sleep 20"
    subprocess.run([TMUX, "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", session, "-x", "160",
                    "-y", "48", command], check=True)
    subprocess.run([TMUX, "-L", socket, "resize-window", "-t", session, "-x", "160", "-y", "48"], capture_output=True)
    return socket, session


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_the_app_in_tmux_picks_up_an_outside_save(tmp_path):
    script = tmp_path / "vector_add.py"
    socket, session = _start_in_tmux(tmp_path, {"TERM": "xterm-256color"})
    try:
        first = _wait_screen(socket, session, ("starting runner", "add_kernel"), timeout=30)
        assert "vector_add.py" in first
        screen = _wait_screen(socket, session, "add_kernel original: ok")
        assert "TTGIR" in screen and "PTX" in screen and "Python" in screen

        edit = next(script.parent.glob(".workbench/vector_add/add_kernel-*/edit/add_kernel.py"))
        text = edit.read_text().replace("x + y, mask=mask", "x - y, mask=mask")
        tmp = edit.with_name(".add_kernel.py.tmp")
        tmp.write_text(text)
        os.replace(tmp, edit)
        _wait_screen(socket, session, "add_kernel v1 (from Python): MISMATCH")
        time.sleep(0.5)                                # a whole frame, not one caught mid-redraw
        screen = _wait_screen(socket, session, "add_kernel v1 (from Python): MISMATCH")
        assert "differs: out_ptr" in screen
        assert "FAIL" in screen                        # the Outputs table
    finally:
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True)


def _sgr_codes(socket: str, session: str) -> set[str]:
    """Every SGR parameter list the screen holds (tmux re-emits each cell's attributes)."""
    import re
    raw = subprocess.run([TMUX, "-L", socket, "capture-pane", "-e", "-p", "-t", session], capture_output=True,
                         text=True).stdout
    return set(re.findall(r"\x1b\[([\d;]*)m", raw))


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
@pytest.mark.parametrize("mode", ["16 colours", "NO_COLOR"])
def test_the_app_in_a_16_colour_terminal_and_with_no_color(tmp_path, mode):
    """TERM=xterm (16 colours): the screen uses the 16 base colours only; NO_COLOR: no colour at
    all, the text and the marks (bold, reverse, underline) still there."""
    extra = {"TERM": "xterm"} if mode == "16 colours" else {"TERM": "xterm-256color", "NO_COLOR": "1"}
    socket, session = _start_in_tmux(tmp_path, extra)
    try:
        screen = _wait_screen(socket, session, "add_kernel original: ok")
        assert "TTGIR" in screen and "PTX" in screen
        time.sleep(0.5)
        codes = _sgr_codes(socket, session)
        params = {p for c in codes for p in c.split(";") if p}
        extended = {c for c in codes if "38;5" in c or "48;5" in c or "38;2" in c or "48;2" in c}
        assert not extended, f"256-colour or true-colour cells in a {mode} terminal: {sorted(extended)[:5]}"
        colours = {p for p in params if 30 <= int(p) <= 49 or 90 <= int(p) <= 107} - {"39", "49"}
        if mode == "NO_COLOR":
            assert not colours, f"colours under NO_COLOR: {sorted(colours)}"
            assert params & {"1", "4", "7"}, "no bold/underline/reverse marks left"
        else:
            assert colours, "no colour at all in a 16-colour terminal"
    finally:
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True)


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
@pytest.mark.parametrize("hup", ["kept away", "delivered"])
def test_an_app_whose_terminal_goes_away_keeps_its_drafts_and_ends(tmp_path, hup):
    """A dropped SSH connection or a killed tmux: the app must not live on a dead terminal, nor
    die with what was typed. Seen under `make app`, whose make kept the hangup from it: the app
    spun at 20-60% of a CPU for good, holding the workspace; and where the app is the terminal's
    own process, SIGHUP's default ended it at once, its drafts lost. Either way it ends within
    seconds, and the text typed and not saved is in the kernel's drafts/ folder."""
    socket, session = _start_in_tmux(tmp_path, {"TERM": "xterm-256color"}, hup_kept_away=hup == "kept away")
    try:
        _wait_screen(socket, session, "add_kernel original: ok")
        kernel = next(tmp_path.glob(".workbench/vector_add/add_kernel-*"))
        _keys(socket, session, "e# typed, never saved", literal=True)
        _wait(lambda: "# typed, never saved" in _screen(socket, session), "the typed text", 10)
        _keys(socket, session, "Escape")
        _wait_screen(socket, session, "add_kernel.py  draft", timeout=10)
        found = subprocess.run(["pgrep", "-f", "--", f"-m workbench {tmp_path / 'vector_add.py'}"],
                               capture_output=True, text=True).stdout.split()
        pids = [pid for pid in found if Path(f"/proc/{pid}/comm").read_text().startswith("python")]   # (not the shell)
        assert pids, "the app's process"
    finally:
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True)
    _wait(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), "the app to end", 30)
    draft = kernel / "drafts" / "add_kernel.py"
    assert draft.is_file() and "# typed, never saved" in draft.read_text()
    assert "# typed, never saved" not in (kernel / "edit" / "add_kernel.py").read_text()   # (not saved)
    # opened again: the draft is back in its pane, titled so, and said
    socket, session = _start_in_tmux(tmp_path, {"TERM": "xterm-256color"})
    try:
        screen = _wait_screen(socket, session, "drafts back", timeout=60)
        assert "add_kernel.py  draft" in screen
        _keys(socket, session, "e")
        _wait_screen(socket, session, "# typed, never saved", timeout=10)
    finally:
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True)


def test_the_watcher_posts_atomic_saves_and_ignores_temporaries(tmp_path):
    folder = tmp_path / "edit"
    folder.mkdir()
    (folder / "k.ttgir").write_text("old\n")
    got: list[FilesChanged] = []
    watcher = EditWatcher(got.append)
    watcher.watch(folder)
    try:
        tmp = folder / ".k.ttgir.swp"
        tmp.write_text("new\n")
        os.replace(tmp, folder / "k.ttgir")
        (folder / "notes.txt").write_text("not a level")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(folder / "k.ttgir" in m.paths for m in got):
            time.sleep(0.02)
    finally:
        watcher.stop()
    paths = {p for m in got for p in m.paths}
    assert folder / "k.ttgir" in paths
    assert all(p.suffix != ".txt" and not p.name.startswith(".") for p in paths)
    assert relevant([str(folder / "a.ptx"), str(tmp_path / "b.ptx"), None, str(folder / ".a.ptx~")], folder) \
        == [folder / "a.ptx"]


def _keys(socket: str, session: str, *keys: str, literal: bool = False) -> None:
    subprocess.run([TMUX, "-L", socket, "send-keys", "-t", session, *(["-l"] if literal else []), *keys], check=True)


def _titles(screen: str) -> str:
    """The lines holding the level panes' titles."""
    return "\n".join(line for line in screen.splitlines() if "add_kernel." in line)


def _wait(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_in_tmux_no_key_no_draft_and_no_save_is_lost(tmp_path):
    """One app start for what must hold in a real terminal: two quick keys move twice; Esc keeps
    typed text as a draft and quitting asks; E opens $EDITOR at the cursor's line; saves made
    while a compile runs are compiled (A then B, then 100 writes in 5 s: the last one is what the
    status line and the panes show); F2 takes a typed path."""
    record = tmp_path / "editor-args"
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\necho "$@" > {record}\n')
    editor.chmod(0o755)
    other = tmp_path / "other" / "raises_after.py"
    other.parent.mkdir()
    shutil.copy(ROOT / "tests" / "data" / "raises_after.py", other)
    socket, session = _start_in_tmux(tmp_path, {"TERM": "xterm-256color", "EDITOR": str(editor)})
    try:
        _wait_screen(socket, session, "add_kernel original: ok")
        kernel = next(tmp_path.glob(".workbench/vector_add/add_kernel-*"))
        edit = kernel / "edit"

        # 9: ctrl+right twice in one burst moves two panes (Python -> TTGIR -> PTX); 4 puts LLIR there
        _keys(socket, session, "C-Right", "C-Right")
        _keys(socket, session, "4")
        screen = _wait_screen(socket, session, "add_kernel.llir", timeout=10)
        titles = _titles(screen)
        assert "add_kernel.ttgir" in titles and "add_kernel.ptx" not in titles, screen
        _keys(socket, session, "5", "C-Left", "C-Left")      # PTX back, then to Python
        # (a key is routed to the widget focused when it arrives, before the keys ahead of it
        # have run: text typed into a field that a key just opened waits for it to be there)
        _wait(lambda: "add_kernel.ptx" in _titles(_screen(socket, session)), "PTX back", 10)
        # / and the query in one burst: the query lands in the search field the / opened
        _keys(socket, session, "/tl.store(", literal=True)
        _wait(lambda: "▊  tl.store(" in _screen(socket, session), "the query typed", 10)
        _keys(socket, session, "Enter")
        _wait(lambda: "▊  tl.store(" not in _screen(socket, session), "the search done", 10)

        # 17: E opens the editor at the cursor's line
        _keys(socket, session, "E")
        _wait(record.exists, "the editor to run", timeout=20)
        store = next(n for n, line in enumerate((edit / "add_kernel.py").read_text().splitlines(), 1)
                     if "tl.store(" in line)
        assert record.read_text().split() == [f"+{store}", str(edit / "add_kernel.py")]
        _wait_screen(socket, session, "add_kernel.py  original", timeout=10)   # the app is back
        time.sleep(0.5)

        # 2: e, type, Esc: the text stays as a draft (the title says so); e brings it back
        editor_open = lambda: "▊▔" in _screen(socket, session)  # noqa: E731 - the editor's frame
        _keys(socket, session, "e# typed here", literal=True)     # e and the text in one burst
        _wait(lambda: "# typed here" in _screen(socket, session), "the typed text", 10)
        assert editor_open()
        _keys(socket, session, "Escape")
        screen = _wait_screen(socket, session, "add_kernel.py  draft", timeout=10)
        assert "add_kernel.py  draft" in _titles(screen)
        _keys(socket, session, "e")
        _wait(editor_open, "the editor again", 10)
        _wait(lambda: "# typed here" in _screen(socket, session), "the draft back in the editor", 10)
        _keys(socket, session, "Escape")
        _wait(lambda: not editor_open(), "the editor closed", 10)
        # quitting with a draft asks; Esc keeps editing
        _keys(socket, session, "C-q")
        _wait_screen(socket, session, "Unsaved text (a draft) in Python: quit and lose it?", timeout=10)
        _keys(socket, session, "Escape")
        _wait(lambda: "quit and lose it" not in _screen(socket, session), "the question closed", 10)
        time.sleep(0.3)
        assert "add_kernel.py  draft" in _titles(_screen(socket, session))
        _keys(socket, session, "u")                              # discarded on purpose
        _wait(lambda: "add_kernel.py  original" in _titles(_screen(socket, session)), "the draft discarded", 10)
        assert "# typed here" not in _screen(socket, session)

        # 1: outside saves A then B, 0.25 s apart: B compiles after A; v2 is B and is what is shown
        py = edit / "add_kernel.py"
        base = py.read_text()

        def outside_save(text: str) -> None:
            tmp = py.with_name(".add_kernel.py.swp")
            tmp.write_text(text)
            os.replace(tmp, py)
        outside_save(base.replace("x + y, mask=mask", "x - y, mask=mask"))
        time.sleep(0.25)
        outside_save(base.replace("x + y, mask=mask", "x * y, mask=mask"))
        screen = _wait_screen(socket, session, "add_kernel v2 (from Python)")
        v2 = kernel / "versions" / "002"
        assert "x * y" in (v2 / "add_kernel.py").read_text() and "x - y" in (kernel / "versions" / "001" /
                                                                            "add_kernel.py").read_text()
        assert (edit / "add_kernel.ptx").read_bytes() == (v2 / "add_kernel.ptx").read_bytes()
        time.sleep(0.5)
        titles = _titles(_screen(socket, session))
        assert "add_kernel.py  edited (v2)" in titles and "add_kernel.ttgir  edited (v2)" in titles, titles

        # 100 writes in 5 s: the last one is compiled, shown, and nothing after it
        for i in range(100):
            outside_save(base.replace("x + y, mask=mask", f"x + y + {i}, mask=mask"))
            time.sleep(0.05)
        last = base.replace("x + y, mask=mask", "x + y + 99, mask=mask")

        def newest() -> Path:  # the newest version written whole (its version.json comes last)
            return max(p for p in (kernel / "versions").iterdir() if (p / "version.json").is_file())
        _wait(lambda: (newest() / "add_kernel.py").read_text() == last, "the last write compiled")
        number = int(newest().name)
        _wait_screen(socket, session, f"add_kernel v{number} (from Python)")
        time.sleep(1.0)
        assert int(newest().name) == number                      # no compile after the last one
        screen = _screen(socket, session)
        assert f"add_kernel.py  edited (v{number})" in _titles(screen), screen
        assert (edit / "add_kernel.ptx").read_bytes() == (newest() / "add_kernel.ptx").read_bytes()

        # 3: F2, a typed path, Enter: that script opens (not the highlighted list entry)
        # F2, ctrl+u and a path in one burst: they wait for the dialog's path field
        _keys(socket, session, "F2", "C-u")
        _keys(socket, session, str(other), literal=True)
        _wait_screen(socket, session, "other/raises_after.py", timeout=30)
        _keys(socket, session, "Enter")
        _wait_screen(socket, session, "double_kernel original: ok")
    finally:
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True)


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_in_tmux_e_with_no_working_editor_says_so_in_one_line_and_the_app_goes_on(tmp_path):
    """Issue 26: E with EDITOR=/nonexistent left the terminal blank and the app deaf to every
    key (suspended, never resumed); only closing the terminal got out. The editor named here
    is first missing, then a file that cannot be run, then a working one."""
    editor = tmp_path / "bin" / "editor"
    socket, session = _start_in_tmux(tmp_path, {"TERM": "xterm-256color", "EDITOR": str(editor)})
    try:
        _wait_screen(socket, session, "add_kernel original: ok")
        _keys(socket, session, "E")
        screen = _wait_screen(socket, session, "cannot run the editor", timeout=20)
        assert f"cannot run the editor {editor} (from $EDITOR): no such program; set VISUAL or EDITOR" in screen
        _keys(socket, session, "4")                          # the app still reads keys: LLIR shown
        _wait(lambda: "add_kernel.llir" in _titles(_screen(socket, session)), "LLIR shown", 10)
        editor.parent.mkdir()
        editor.write_text("not a program\n")                 # found, but exec refuses it
        editor.chmod(0o755)
        _keys(socket, session, "E")
        screen = _wait_screen(socket, session, "Exec format error", timeout=20)
        assert f"cannot run the editor {editor} (from $EDITOR): Exec format error" in screen
        assert "add_kernel.llir" in _titles(screen)         # the app drawn again
        record = tmp_path / "editor-args"
        editor.write_text(f'#!/bin/sh\necho "$@" > {record}\n')
        _keys(socket, session, "E")
        _wait(record.exists, "the editor to run", timeout=20)
        assert record.read_text().split()[1].endswith("add_kernel.llir")
        _wait_screen(socket, session, "add_kernel.llir  original", timeout=10)
    finally:
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True)


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_in_tmux_a_watched_value_is_redumped_on_a_save_and_f_finds_the_first_divergence(tmp_path):
    """The watch flow as a user drives it: search for y's load, w watches it, a save from another
    editor negates it; the Dumps tab shows both sides and their difference, and F names y as the
    first value that leaves the original's (Triton's interpreter runs the Python level on a CPU)."""
    socket, session = _start_in_tmux(tmp_path, {"TERM": "xterm-256color"})
    try:
        _wait_screen(socket, session, "add_kernel original: ok")
        kernel = next(tmp_path.glob(".workbench/vector_add/add_kernel-*"))
        _keys(socket, session, "/y = tl.load", literal=True)
        _keys(socket, session, "Enter")
        _wait_screen(socket, session, "1 of 1", timeout=10)
        _keys(socket, session, "w")
        screen = _wait_screen(socket, session, "w1  y (line 21)", timeout=30)
        assert "PYTHON" in screen
        py = kernel / "edit" / "add_kernel.py"
        tmp = py.with_name(".add_kernel.py.swp")
        tmp.write_text(py.read_text().replace("y = tl.load(y_ptr", "y = -tl.load(y_ptr"))
        os.replace(tmp, py)
        _wait_screen(socket, session, "1 watched value differs from the original")   # the verdict first ...
        screen = _wait_screen(socket, session, "1024 of 1024 differ", timeout=10)   # ... the Dumps tab a frame after
        assert "add_kernel v1 (from Python)" in screen, screen
        assert "version 1" in screen and "original" in screen
        _keys(socket, session, "F")
        screen = _wait_screen(socket, session, "y is the first value that differs from the original", timeout=180)
        assert "first divergence · version 1" in screen, screen
    finally:
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True)

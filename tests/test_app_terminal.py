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

from conftest import EXAMPLES, ROOT
from workbench.tui.watcher import EditWatcher, FilesChanged, relevant

TMUX = shutil.which("tmux")


def _screen(socket: str, session: str) -> str:
    proc = subprocess.run([TMUX, "-L", socket, "capture-pane", "-p", "-t", session], capture_output=True, text=True)
    return proc.stdout


def _wait_screen(socket: str, session: str, needle: str | tuple[str, ...], timeout: float = 120.0) -> str:
    needles = (needle,) if isinstance(needle, str) else needle
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _screen(socket, session)
        if any(n in screen for n in needles):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never showed; the screen:\n{screen}")


def _start_in_tmux(tmp_path, extra_env: dict[str, str]) -> tuple[str, str]:
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

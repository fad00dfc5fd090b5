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


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_the_app_in_tmux_picks_up_an_outside_save(tmp_path):
    script = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", script)
    config = tmp_path / "config.toml"
    config.write_text("bench_on_save = false\n")
    socket, session = f"wb-test-{uuid.uuid4().hex[:8]}", "app"
    path = os.pathsep.join([str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    env = {"PYTHONPATH": path, "WORKBENCH_CONFIG": str(config), "TERM": "xterm-256color"}
    if os.environ.get("WORKBENCH_CACHE_DIR"):
        env["WORKBENCH_CACHE_DIR"] = os.environ["WORKBENCH_CACHE_DIR"]
    command = " ".join([f"{k}={v}" for k, v in env.items()] + ["exec", "env", "-u", "COLUMNS", "-u", "LINES", sys.executable, "-m", "workbench", str(script)])
    subprocess.run([TMUX, "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", session, "-x", "160",
                    "-y", "48", command], check=True)
    subprocess.run([TMUX, "-L", socket, "resize-window", "-t", session, "-x", "160", "-y", "48"], capture_output=True)
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

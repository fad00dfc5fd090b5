"""The save flow without Textual: which save compiles next, what each level's file is, drafts;
and the watcher over a folder deleted and made again. Real files, no runner (the runner's part,
a version folder with the edited level and the levels it made, is written as the runner writes it)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from helpers import ROOT
from workbench.model.levels import NVIDIA
from workbench.model.results import RunResult, Version
from workbench.tui.editing import EditSession, digest
from workbench.tui.watcher import EditWatcher, FilesChanged


def kernel_dir(tmp_path: Path) -> EditSession:
    original, edit = tmp_path / "k" / "original", tmp_path / "k" / "edit"
    original.mkdir(parents=True)
    for suffix, text in ((".py", "x + y\n"), (".ttir", "addf\n"), (".ttgir", "addf ttg\n"), (".ptx", "add.f32\n")):
        (original / f"k{suffix}").write_text(text)
    shutil.copytree(original, edit)
    return EditSession(edit, original, "k")


def save(path: Path, text: str) -> str:
    """An editor's atomic save."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return digest(text.encode())


def make_version(flow: EditSession, number: int, level: str, files: dict[str, str]) -> list[Version]:
    """What the runner's apply leaves: versions/NNN with the edited level and the levels it made,
    the made ones copied into edit/."""
    folder = flow.edit_dir.parent / "versions" / f"{number:03d}"
    folder.mkdir(parents=True)
    for suffix, text in files.items():
        (folder / f"k{suffix}").write_text(text)
        if suffix != {"python": ".py"}.get(level, f".{level}"):
            (flow.edit_dir / f"k{suffix}").write_text(text)
    return flow.versions + [Version.parse({"number": number, "level": level, "folder": str(folder), "result": None})]


def test_a_save_made_while_a_compile_runs_compiles_next_and_the_latest_wins(tmp_path):
    flow = kernel_dir(tmp_path)
    py = flow.path("python")
    a = save(py, "x - y\n")
    first = flow.saved("python", a)
    assert first.action == "compile" and first.apply.digest == a
    assert flow.note("python", a) == "saved, compiling…"
    # two more saves while A compiles: both wait; none is taken for seen
    b = save(py, "x * y\n")
    assert flow.saved("python", b).action == "wait"
    time.sleep(0.01)
    c = save(py, "x / y\n")
    assert flow.saved("python", c).action == "wait"
    assert flow.next_save() is None                   # one compile at a time
    # A's compile ends (the runner read A): v1 holds A, edit/ holds C
    versions = make_version(flow, 1, "python", {".py": "x - y\n", ".ttgir": "subf\n"})
    assert flow.finished(versions, failed=False) == "1"
    assert flow.current == "1"
    assert flow.note("ttgir", digest(b"subf\n")) == "edited (v1)"
    assert flow.note("python", c) == "saved, not compiled yet"
    nxt = flow.next_save()
    assert nxt is not None and nxt.action == "compile" and nxt.apply.digest == c   # the newest text, B superseded
    versions = make_version(flow, 2, "python", {".py": "x / y\n", ".ttgir": "divf\n"})
    flow.finished(versions, failed=False)
    assert flow.next_save() is None                   # nothing on disk is uncompiled now
    assert flow.note("python", c) == "edited (v2)"


def test_the_same_text_again_is_no_new_version_and_an_older_one_restores(tmp_path):
    flow = kernel_dir(tmp_path)
    py = flow.path("python")
    flow.saved("python", save(py, "x - y\n"))
    flow.finished(make_version(flow, 1, "python", {".py": "x - y\n", ".ttgir": "subf\n"}), failed=False)
    same = flow.saved("python", save(py, "x - y\n"))
    assert same.action == "nothing" and same.version == "1"
    assert "no new version" in same.sentence(NVIDIA)
    back = flow.saved("python", save(py, "x + y\n"))     # the original's text: restore it, no new version
    assert back.action == "restore" and back.version == "original"
    assert flow.note("python", digest(b"x + y\n")) == "original"


def test_a_version_text_saved_while_a_restore_waited_restores_that_version_after_it(tmp_path):
    """v1's text saved (v1 restored), then v2's before the runner got to that restore: the
    restore keeps the newer save (Workspace.restore), and the later save wins: v2 next."""
    flow = kernel_dir(tmp_path)
    py = flow.path("python")
    flow.saved("python", save(py, "x - y\n"))
    flow.finished(make_version(flow, 1, "python", {".py": "x - y\n", ".ttgir": "subf\n"}), failed=False)
    flow.saved("python", save(py, "x * y\n"))
    flow.finished(make_version(flow, 2, "python", {".py": "x * y\n", ".ttgir": "mulf\n"}), failed=False)
    assert flow.saved("python", save(py, "x - y\n")).action == "restore"     # v1's text
    save(py, "x * y\n")                                                      # v2's, while v1's restore waits
    (flow.edit_dir / "k.ttgir").write_text("subf\n")                          # the restore of v1, python kept
    flow.current = "1"
    assert flow.next_save() is None                    # (after a compile: no new text, nothing to do)
    nxt = flow.next_save(saved=["python", "ttgir"])
    assert nxt is not None and nxt.action == "restore" and nxt.version == "2" and nxt.level == "python"
    flow.current = "2"
    (flow.edit_dir / "k.ttgir").write_text("mulf\n")
    assert flow.next_save(saved=["python", "ttgir"]) is None     # each holds the current version's text


def test_a_kernel_shown_again_is_current_at_the_version_its_edit_folder_holds(tmp_path):
    """Reopened (or shown again), edit/ is what the panes show: the version it holds is the
    current one, what runs and what the verdict is about; a text no compile made leaves the
    version the other levels hold (it compiles when the edits are kept)."""
    flow = kernel_dir(tmp_path)
    assert flow.shown_again() == "original" and flow.current == "original"
    py, ttgir = flow.path("python"), flow.path("ttgir")
    save(py, "x - y\n")
    v1 = {".py": "x - y\n", ".ttir": "subf\n", ".ttgir": "subf ttg\n", ".ptx": "sub.f32\n"}
    versions = make_version(flow, 1, "python", v1)
    save(ttgir, "subf ttg fast\n")
    versions = make_version(EditSession(flow.edit_dir, flow.original_dir, "k", versions), 2, "ttgir",
                            {".ttgir": "subf ttg fast\n", ".ptx": "sub.f32 fast\n"})
    again = EditSession(flow.edit_dir, flow.original_dir, "k", versions)
    assert again.current == "original"
    assert again.shown_again() == "2" and again.current == "2"   # v2's TTGIR and PTX over v1's Python
    assert again.note("python", digest(b"x - y\n")) == "edited (v1)"
    assert again.note("ttgir", digest(b"subf ttg fast\n")) == "edited (v2)"
    save(ttgir, v1[".ttgir"])                                    # v1 restored: every level v1's
    save(flow.path("ptx"), v1[".ptx"])
    assert EditSession(flow.edit_dir, flow.original_dir, "k", versions).shown_again() == "1"
    save(py, "x * y\n")                                        # a save no compile made, on top of v1
    third = EditSession(flow.edit_dir, flow.original_dir, "k", versions)
    assert third.shown_again() == "1" and third.note("python", digest(b"x * y\n")) == "saved, not compiled yet"
    nxt = third.next_save()
    assert nxt is not None and nxt.action == "compile" and nxt.level == "python"


def test_a_failed_compile_waits_for_the_next_save_and_a_crash_keeps_its_version(tmp_path):
    flow = kernel_dir(tmp_path)
    ttgir = flow.path("ttgir")
    bad = save(ttgir, "bogus\n")
    flow.saved("ttgir", bad)
    assert flow.finished(flow.versions, failed=True) is None
    assert flow.note("ttgir", bad) == "saved, did not compile"
    assert flow.next_save() is None                   # not compiled again and again
    # a compile whose run hung: the runner made v1 (and wrote the levels below) before it died
    py = flow.path("python")
    flow.saved("python", save(py, "while True\n"))
    versions = make_version(flow, 1, "python", {".py": "while True\n", ".ttir": "loop\n", ".ttgir": "loop ttg\n"})
    assert flow.finished(versions, failed=False) == "1"
    # the TTIR the runner wrote is v1's: not a save (no phantom "v2 from TTIR")
    assert flow.saved("ttir", digest(b"loop\n")).action == "nothing"
    assert flow.next_save() is None


def test_what_edit_holds_when_reopened_and_drafts(tmp_path):
    flow = kernel_dir(tmp_path)
    assert flow.edited_levels() == {}
    versions = make_version(flow, 1, "python", {".py": "x - y\n", ".ttgir": "subf\n"})
    reopened = EditSession(flow.edit_dir, flow.original_dir, "k", versions)
    assert reopened.edited_levels() == {"ttgir": "edited (v1)"}   # edit/ Python is still the original's
    (flow.edit_dir / "k.ptx").unlink()
    assert reopened.note("ptx", reopened.disk_digest("ptx")) == "missing: restore a version"
    reopened.drafts["python"] = "typed\n"
    assert reopened.note("python", digest(b"x + y\n")) == "draft"
    assert reopened.drafts_sentence() == "Python"


def test_a_result_makes_its_version_current_only_in_its_own_kernel(tmp_path):
    """The one current version: what a pane shows as current is the last result's version (what R
    runs, what the verdict and the watches are about); another kernel's result changes nothing."""
    flow = EditSession(kernel_dir(tmp_path).edit_dir, tmp_path / "k" / "original", "k", spec_id="s1")
    run = {"kernel": "k", "spec_id": "s1", "version": "1", "level": "python", "status": "mismatch"}
    flow.ran(RunResult.parse(run))
    assert flow.current == "1" and flow.result.status == "mismatch"
    flow.ran(RunResult.parse(run | {"spec_id": "s2", "version": "original", "status": "ok"}))
    assert flow.current == "1" and flow.result.spec_id == "s2"


def test_a_save_while_a_restore_rewrites_edit_waits_for_it_then_restores_its_version(tmp_path):
    flow = kernel_dir(tmp_path)
    py = flow.path("python")
    flow.saved("python", save(py, "x - y\n"))
    flow.finished(make_version(flow, 1, "python", {".py": "x - y\n", ".ttgir": "subf\n"}), failed=False)
    flow.runner_writing()                                    # the restore of the original, asked for
    queued = flow.save_arrived("python", save(py, "x - y\n"))   # v1's text, saved while it runs
    assert queued.action == "queued" and list(flow.pending) == [py]
    assert flow.take_pending() == {} and flow.after_runner_write(restored=True) is None   # still writing
    flow.runner_wrote()
    flow.current = "original"                                # the restore made the original current
    nxt = flow.after_runner_write(restored=True)
    assert nxt is not None and (nxt.action, nxt.version, nxt.level) == ("restore", "1", "python")
    assert flow.pending == {}


def test_drafts_kept_when_the_terminal_went_away_come_back_and_go(tmp_path):
    flow = kernel_dir(tmp_path)
    kept = flow.keep_drafts({"python": "typed\n", "ttgir": "typed ttg\n"})
    drafts = tmp_path / "k" / "drafts"
    assert sorted(kept) == [str(drafts / "k.py"), str(drafts / "k.ttgir")]
    again = EditSession(flow.edit_dir, flow.original_dir, "k")
    assert again.kept_drafts() == {"python": "typed\n", "ttgir": "typed ttg\n"}
    again.forget_kept_draft("python")
    assert again.kept_drafts() == {"ttgir": "typed ttg\n"} and not (drafts / "k.py").exists()


def test_the_edit_flow_needs_no_textual():
    import subprocess
    code = ("import sys; import workbench.tui.editing; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))")
    root = ROOT
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(root)), check=True).stdout
    assert out.strip() == "[]"


def test_the_watcher_goes_on_after_its_folder_is_deleted_and_made_again(tmp_path):
    folder = tmp_path / "k" / "edit"
    folder.mkdir(parents=True)
    (folder / "k.ttgir").write_text("old\n")
    got: list[FilesChanged] = []
    watcher = EditWatcher(got.append)
    watcher.watch(folder)

    def seen(path: Path) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if any(path in m.paths for m in got):
                return True
            time.sleep(0.02)
        return False
    try:
        shutil.rmtree(folder)
        folder.mkdir()
        (folder / "k.py").write_text("made again\n")
        assert seen(folder / "k.py")
        got.clear()
        save(folder / "k.ttgir", "saved after\n")
        assert seen(folder / "k.ttgir")
        # a folder moved into place (a restore by hand) is seen whole
        shutil.rmtree(folder)
        staged = tmp_path / "k" / "staged"
        staged.mkdir()
        (staged / "k.ptx").write_text("moved in\n")
        got.clear()
        os.replace(staged, folder)
        assert seen(folder / "k.ptx")
    finally:
        watcher.stop()

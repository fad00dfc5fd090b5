"""Issue 26, the CLI side: faults a user (or the disk) causes are one line naming the file,
what is wrong and what to do; never an abort, a traceback or a folder left behind. Real
files, real compiles, the real CLI in a subprocess."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers import EXAMPLES, run_cli
from workbench.runner.client import RunnerClient
from workbench.runner.protocol import RunnerError


def _lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith(("running ", "note: "))]


@pytest.fixture(scope="module")
def levels(tmp_path_factory):
    """vector_add's levels (and metadata) as `compile --out` writes them."""
    work = tmp_path_factory.mktemp("levels")
    (work / "vector_add.py").write_text((EXAMPLES / "vector_add.py").read_text())
    proc = run_cli("compile", str(work / "vector_add.py"), "--no-sass", "--out", str(work / "out"))
    assert proc.returncode == 0, proc.stderr
    return next((work / "out").iterdir())


# -- 7: a level with no kernel in it ----------------------------------------------------------

EMPTY = "is empty: there is no kernel in it to compile"


@pytest.mark.parametrize("level", ["ttir", "ttgir", "llir", "ptx"])
@pytest.mark.parametrize("text", ["", "  \n\n\t\n"], ids=["empty", "blank"])
def test_an_empty_level_is_one_line_not_an_abort(levels, tmp_path, level, text):
    """An empty .ttgir aborted the process in MLIR (exit 134, nothing printed); an empty .llir
    said `AssertionError: AssertionError`; an empty .ptx named a temporary file."""
    path = tmp_path / f"add_kernel.{level}"
    path.write_text(text)
    (tmp_path / "add_kernel.json").write_bytes((levels / "add_kernel.json").read_bytes())
    proc = run_cli("compile", str(path), "--no-sass")
    assert (proc.returncode, _lines(proc.stderr)) == (2, [f"{path}: error: {EMPTY}"]), proc.stderr


@pytest.mark.parametrize("text", ["// only a comment\n", "module {\n}\n", "private"],
                         ids=["comment", "empty-module", "private-function"])
@pytest.mark.parametrize("level", ["ttir", "ttgir"])
def test_an_mlir_level_with_no_kernel_function_is_one_line(levels, tmp_path, level, text):
    """MLIR asserts there is a kernel (a public tt.func) and aborts the process when there is none."""
    if text == "private":
        text = (levels / f"add_kernel.{level}").read_text().replace("tt.func public", "tt.func private")
    path = tmp_path / f"k.{level}"
    path.write_text(text)
    proc = run_cli("compile", str(path), "--no-sass")
    assert (proc.returncode, _lines(proc.stderr)) == (2, [
        f"{path}: error: holds no kernel: a public tt.func is what is compiled"]), proc.stderr


def test_llir_with_no_kernel_is_one_line(levels, tmp_path):
    path = tmp_path / "add_kernel.llir"
    path.write_text("; only a comment\ndefine void @helper() {\n  ret void\n}\n")
    (tmp_path / "add_kernel.json").write_bytes((levels / "add_kernel.json").read_bytes())
    proc = run_cli("compile", str(path), "--no-sass")
    assert proc.returncode == 2 and "AssertionError" not in proc.stderr, proc.stderr
    assert _lines(proc.stderr) == [f"{path}: error: LLVM made no single kernel of it: the LLIR must define "
                                   "exactly one kernel function"], proc.stderr


def test_an_emptied_edit_is_a_diagnostic_in_the_runner_not_a_crash_loop(tmp_path):
    """The app's runner compiles what is saved in edit/: an emptied TTGIR restarted it ~20
    times a minute. Now the save is answered with the line, and the runner lives on."""
    script = tmp_path / "vector_add.py"
    script.write_text((EXAMPLES / "vector_add.py").read_text())
    with RunnerClient() as client:
        opened = client.call("open", script=str(script), workspace=str(tmp_path / "ws"), with_sass=False)
        ttgir = Path(opened["kernels"][0]["edit"]) / "add_kernel.ttgir"
        ttgir.write_text("")
        pid = client.pid
        with pytest.raises(RunnerError) as err:
            client.call("apply", kernel="add_kernel", path=str(ttgir))
        assert err.value.lines() == [f"{ttgir}: error: {EMPTY}"]
        assert client.pid == pid and client.alive()
        assert client.call("run", kernel="add_kernel")["status"] in ("ok", "compiled-only")


# -- 10 and 16: a workspace or file the system refuses --------------------------------------

def _copy_script(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "vector_add.py"
    script.write_text((EXAMPLES / "vector_add.py").read_text())
    return script


@pytest.mark.parametrize("command", ["compile", "run"])
def test_a_lock_that_is_a_folder_is_one_line(tmp_path, command):
    """compile printed IsADirectoryError's traceback; run said `error: IsADirectoryError: [Errno 21] ...`."""
    script = _copy_script(tmp_path)
    lock = tmp_path / ".workbench" / "vector_add" / ".lock"
    lock.mkdir(parents=True)
    proc = run_cli(command, str(script), "--no-sass" if command == "compile" else "--json")
    assert (proc.returncode, _lines(proc.stderr)) == (2, [
        f"{lock}: error: is a folder where the workspace's lock file goes: remove it"]), proc.stderr


def _read_only_run(folder: Path, *args: str) -> "subprocess.CompletedProcess | None":
    """The CLI with ``folder`` read-only: a read-only bind mount in a mount namespace of its own
    (root ignores permission bits), or the permission bits for anyone else; None where neither can."""
    import os
    import subprocess
    import sys
    from helpers import ROOT
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cli = [sys.executable, "-m", "workbench", *args]
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return subprocess.run(cli, capture_output=True, text=True, env=env, timeout=600)
        finally:
            folder.chmod(0o755)
    mount = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && exec \"$@\""
    if subprocess.run(["unshare", "-m", "sh", "-c", mount, "sh", "true"], capture_output=True).returncode:
        return None
    return subprocess.run(["unshare", "-m", "sh", "-c", mount, "sh", *cli], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.mark.parametrize("command, hint", [("compile", "--out DIR writes the levels elsewhere"),
                                           ("run", "--workspace DIR puts the workspace elsewhere")])
def test_a_read_only_script_folder_is_one_line_with_what_to_do(tmp_path, command, hint):
    script = _copy_script(tmp_path / "ro")
    proc = _read_only_run(script.parent, command, str(script), *(["--no-sass"] if command == "compile" else []))
    if proc is None:
        pytest.skip("no way to make a read-only folder here (root without mount namespaces)")
    lines = _lines(proc.stderr)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and lines[0].startswith(f"{script.parent / '.workbench'}: error: "), proc.stderr
    assert lines[0].endswith(hint) and ("Read-only" in lines[0] or "Permission" in lines[0]), lines


def test_metadata_that_is_not_utf8_or_is_a_folder_is_one_line(levels, tmp_path):
    ptx = tmp_path / "add_kernel.ptx"
    ptx.write_bytes((levels / "add_kernel.ptx").read_bytes())
    meta = tmp_path / "add_kernel.json"
    meta.write_bytes(b'{"name": "add_kernel",\n "x": "\xff\xfe"}\n')
    proc = run_cli("compile", str(ptx), "--no-sass")
    assert (proc.returncode, _lines(proc.stderr)) == (2, [
        f"{meta}:2:8: error: not UTF-8 text: byte 0xff cannot be read"]), proc.stderr
    meta.unlink()
    meta.mkdir()
    proc = run_cli("compile", str(ptx), "--no-sass")
    assert (proc.returncode, _lines(proc.stderr)) == (2, [
        f"{meta}: error: is a folder, not the kernel's metadata: remove it or pass --metadata FILE"]), proc.stderr


# -- 11: a version that lost its file ---------------------------------------------------------

def test_export_of_a_version_missing_its_edited_level_is_one_line(tmp_path):
    from workbench.session.session import Session
    script = _copy_script(tmp_path)
    session = Session(script, mode="interpret", with_sass=False)
    opened = session.open()
    ttgir = Path(opened["kernels"][0]["edit"]) / "add_kernel.ttgir"
    ttgir.write_text(ttgir.read_text().replace("arith.addf", "arith.mulf"))
    info, _ = session.compile("add_kernel", ttgir)
    session.close()
    (info.folder / "add_kernel.ttgir").unlink()
    proc = run_cli("export", str(script), "--kernel", "add_kernel", "--version", str(info.number),
                   "--out", str(tmp_path / "exp"))
    assert (proc.returncode, [line for line in proc.stderr.splitlines() if "error" in line]) == (2, [
        f"{info.folder / 'add_kernel.ttgir'}: error: version {info.number} of add_kernel has lost its edited "
        "TTGIR file, so it cannot be compiled again: put the file back, or export another version"]), proc.stderr
    assert not (tmp_path / "exp").exists()


# -- 16: said badly ---------------------------------------------------------------------------

def test_binary_junk_saved_as_a_level_names_the_file_and_the_byte(tmp_path):
    """`error: UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff ...`, no file."""
    script = _copy_script(tmp_path)
    junk = tmp_path / "add_kernel.ttgir"
    junk.write_bytes(b"module {\n  \xff\xfe\x00junk\n}\n")
    proc = run_cli("run", str(script), "--from", str(junk))
    assert proc.returncode == 2, proc.stderr
    assert _lines(proc.stderr) == [f"{junk}:2:3: error: not UTF-8 text: byte 0xff cannot be read"], proc.stderr


def test_a_folder_given_as_a_file_is_called_a_folder(tmp_path):
    script = _copy_script(tmp_path)
    folder = tmp_path / "add_kernel.ttgir"
    folder.mkdir()
    proc = run_cli("run", str(script), "--from", str(folder))
    assert (proc.returncode, _lines(proc.stderr)) == (2, [
        f"{folder}: error: is a folder, not a level file"]), proc.stderr
    proc = run_cli("run", str(tmp_path))
    assert (proc.returncode, _lines(proc.stderr)) == (2, [f"{tmp_path}: error: is a folder, not a script"])


def test_a_symlinked_from_file_is_named_as_given(tmp_path):
    """`--from add_kernel.ttgir` (a link to a file named otherwise) said "no kernel 'passwd' was
    launched": the kernel is found by the name the user gave, and errors name that path."""
    script = _copy_script(tmp_path)
    target = tmp_path / "elsewhere" / "notes.txt"
    target.parent.mkdir()
    target.write_text("this is not IR\n")
    link = tmp_path / "add_kernel.ttgir"
    link.symlink_to(target)
    proc = run_cli("run", str(script), "--from", str(link))
    assert proc.returncode == 2 and "notes" not in proc.stderr, proc.stderr
    assert _lines(proc.stderr)[0].startswith(f"{link}:1:"), proc.stderr


def test_a_version_without_its_record_is_listed_in_a_note(tmp_path):
    from workbench.session.session import Session
    script = _copy_script(tmp_path)
    session = Session(script, mode="compile-only", with_sass=False)
    opened = session.open()
    ttgir = Path(opened["kernels"][0]["edit"]) / "add_kernel.ttgir"
    ttgir.write_text(ttgir.read_text().replace("arith.addf", "arith.mulf"))
    info, _ = session.compile("add_kernel", ttgir)
    folder_name = opened["kernels"][0]["spec"]["folder_name"]
    session.close()
    (info.folder / "version.json").unlink()
    from workbench.session.workspace import Workspace
    ws = Workspace.beside(script)
    assert ws.versions(folder_name) == []
    assert ws.notes == [f"{info.folder / 'version.json'}: missing, so version {info.number} is not listed: "
                        "the folder is kept as it is"]


def test_a_full_disk_is_one_line_naming_the_file(tmp_path):
    """`OSError: [Errno 28] No space left on device`: a workspace on a full filesystem (a tmpfs
    of 64 KiB mounted over the script's folder in a mount namespace of its own)."""
    import os
    import subprocess
    import sys
    from helpers import ROOT
    script = _copy_script(tmp_path / "full")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    folder = script.parent
    mount = (f"cp {script} /tmp/.wb-script-$$ && mount -t tmpfs -o size=64k tmpfs {folder} && "
             f"cp /tmp/.wb-script-$$ {script} && rm /tmp/.wb-script-$$ && "
             f"(head -c 1M /dev/zero > {folder}/filler 2>/dev/null; true) && exec \"$@\"")
    probe = subprocess.run(["unshare", "-m", "sh", "-c", mount, "sh", "true"], capture_output=True)
    if os.geteuid() != 0 or probe.returncode:
        pytest.skip("no mount namespace to make a full filesystem in")
    for command in ("run", "compile"):
        proc = subprocess.run(["unshare", "-m", "sh", "-c", mount, "sh", sys.executable, "-m", "workbench",
                               command, str(script)], capture_output=True, text=True, env=env, timeout=600)
        lines = _lines(proc.stderr)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and "Errno" not in proc.stderr, proc.stderr
        assert len(lines) == 1 and lines[0].startswith(f"{folder}/"), lines
        assert lines[0].endswith("No space left on device: free some space, or --workspace DIR puts the "
                                 "workspace elsewhere" if command == "run" else
                                 "No space left on device: free some space, or --out DIR writes the levels "
                                 "elsewhere"), lines


# -- 9: a kernel name that cannot be printed as it is ------------------------------------------

def test_a_lone_surrogate_kernel_name_is_printed_escaped(tmp_path):
    script = tmp_path / "sur.py"
    script.write_text((EXAMPLES / "vector_add.py").read_text().replace(
        "@triton.jit\ndef add_kernel", "def add_kernel_src", 1).replace(
        "def add(x", "add_kernel_src.__name__ = '\\ud800'\nadd_kernel = triton.jit(add_kernel_src)\n\n\ndef add(x", 1))
    proc = run_cli("compile", str(script), "--no-sass")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert any(line.startswith("\\ud800 ") for line in proc.stdout.splitlines()), proc.stdout
    # (Triton's interpreter looks the kernel up by its name and fails with a KeyError, Triton's
    # compiler on a GPU writes the name out and fails with a UnicodeEncodeError: said in one line)
    proc = run_cli("run", str(script))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    (line,) = _lines(proc.stderr)
    assert line.startswith(f"{script}:32: error: the script raised ") and "before launching any kernel: " in line
    assert "\\ud800" in line and "\ud800" not in line, line


# -- 13: a scratch workspace outlives no one --------------------------------------------------

def test_a_scratch_workspace_of_a_killed_run_is_swept_by_the_next(tmp_path):
    """`workbench run` beside the app works in a scratch copy in $TMPDIR; killed (-9), it left
    the copy there for ever. The next run removes copies whose runner is gone."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import time
    from helpers import ROOT
    from workbench.session.session import Session
    script = _copy_script(tmp_path / "s")
    slow = script.parent / "slow.py"
    slow.write_text(script.read_text().replace("def main():", "def main():\n    import time; time.sleep(60)", 1))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), TMPDIR=str(tmp))
    app = Session(slow, mode="compile-only", with_sass=False)   # the app holds the real workspace
    app.open()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "workbench", "run", str(slow)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 120
        while not (left := [p for p in tmp.iterdir() if "slow" in p.name]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left, "the run never made its scratch workspace"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        app.close()
    owners = [int(m.group(1)) for p in left if (m := re.match(r"triton-workbench-(\d+)-", p.name))]
    assert len(owners) == len(left), left   # named after the process that works in it
    deadline = time.monotonic() + 15
    while any(Path(f"/proc/{pid}").exists() for pid in owners) and time.monotonic() < deadline:
        time.sleep(0.1)   # the runner dies with its front end
    assert all(p.exists() for p in left)   # what the kill left
    again = subprocess.run([sys.executable, "-m", "workbench", "run", str(script)], env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert not any(p.exists() for p in left), left


# -- 15: a lock whose record cannot be written is not held ------------------------------------

def test_a_lock_file_that_cannot_be_written_leaves_the_lock_free(tmp_path):
    """The lock file's write failing (a full disk: here /dev/full, whose writes say so) left
    the flock held by a descriptor nobody would close: the process kept the workspace."""
    import fcntl
    import os
    from workbench.session.lock import WorkspaceLock
    root = tmp_path / "ws"
    root.mkdir()
    (root / ".lock").symlink_to("/dev/full")
    lock = WorkspaceLock(root)
    with pytest.raises(OSError) as failed:
        lock.acquire()
    assert failed.value.filename == str(root / ".lock") and not lock.held
    fd = os.open("/dev/full", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # BlockingIOError while anything holds it
    finally:
        os.close(fd)

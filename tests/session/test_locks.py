"""One writer per workspace. Two apps on one script once made every save two versions and
ended edit/<kernel>.json in `}}`; `workbench run --from` while the app was open wrote into the
app's edit/ (a phantom version nobody saved). Now the runner's session locks the workspace,
a second opener is told who holds it, `workbench run` then works in a scratch workspace, and
`run --from` never writes edit/."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import EXAMPLES, ROOT, run_cli
from workbench.session.lock import WorkspaceBusy, WorkspaceLock
from workbench.runner.client import RunnerClient
from workbench.runner.protocol import RunnerError

HOLD = '''
import sys, time
from workbench.session.lock import WorkspaceLock
WorkspaceLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(600)
'''


def _holder(root: Path, command: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_COMMAND=command)
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout.readline() == b"held\n"
    return proc


def test_a_second_writer_is_told_who_holds_the_workspace_and_a_killed_holder_frees_it(tmp_path):
    root = tmp_path / ".workbench" / "x"
    proc = _holder(root, "workbench app x.py")
    try:
        with pytest.raises(WorkspaceBusy) as err:
            WorkspaceLock(root).acquire()
        assert re.fullmatch(rf"{re.escape(str(root))}: error: workspace is in use by `workbench app x\.py` "
                            rf"\(pid {proc.pid}, since \d\d:\d\d:\d\d\): it has one writer at a time", str(err.value))
        assert err.value.kind == "busy" and err.value.holder.pid == proc.pid
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # no chance to release: the kernel drops the flock
        proc.wait()
        proc.stdout.close()
    mine = WorkspaceLock(root)
    assert mine.acquire("workbench run x.py").pid == os.getpid()
    assert WorkspaceLock(root).holder().command == "workbench run x.py"
    mine.release()
    assert WorkspaceLock(root).acquire().pid == os.getpid()


def test_a_leftover_lock_file_of_a_dead_process_is_taken(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (root / ".lock").write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename, "command": "gone",
                                            "since": time.time()}))
    lock = WorkspaceLock(root)
    assert lock.acquire().pid == os.getpid() and lock.holder().pid == os.getpid()
    lock.release()


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "vector_add.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", path)
    return path


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_second_runner_gets_the_holder_named_or_a_scratch_workspace(script, tmp_path):
    workspace = tmp_path / ".workbench" / "vector_add"
    env = dict(os.environ, WORKBENCH_COMMAND="workbench app vector_add.py")
    with RunnerClient(env=env) as app, RunnerClient() as other:
        opened = app.call("open", script=str(script), with_sass=False)
        assert opened["workspace"] == str(workspace) and not opened["scratch"]
        with pytest.raises(RunnerError) as err:
            other.call("open", script=str(script), with_sass=False)
        assert err.value.kind == "busy"
        assert (f"workspace is in use by `workbench app vector_add.py` (pid {app.pid}, since "
                in err.value.message), err.value.message
        scratch = other.call("open", script=str(script), with_sass=False, if_busy="scratch")
        assert scratch["scratch"] and not Path(scratch["workspace"]).is_relative_to(workspace)
        assert any(f"workspace {workspace} is in use by `workbench app vector_add.py`" in n
                   and "scratch workspace" in n for n in scratch["notes"])
        # an edit run in the scratch workspace: a version there, nothing in the app's
        edit = Path(scratch["kernels"][0]["edit"])
        (edit / "add_kernel.py").write_text((edit / "add_kernel.py").read_text().replace("x + y,", "x * y,"))
        assert other.call("apply", kernel="add_kernel", path=str(edit / "add_kernel.py"))["status"] == "mismatch"
        # (a save in edit/, the app's apply, regenerates the levels below there)
        assert "arith.mulf" in (edit / "add_kernel.ttir").read_text()
        assert not list(workspace.glob("*/versions/*"))
        other.call("shutdown")
        assert not Path(scratch["workspace"]).exists()  # a scratch workspace goes when its session does
    # the app closed: the workspace is free again
    with RunnerClient() as after:
        assert not after.call("open", script=str(script), with_sass=False)["scratch"]


def test_run_from_never_writes_edit_and_works_beside_an_open_app(script, tmp_path):
    workspace = tmp_path / ".workbench" / "vector_add"
    edited = tmp_path / "add_kernel.py"
    edited.write_text(script.read_text().replace("x + y, mask=mask", "x * y, mask=mask"))
    # a file outside edit/ (nobody holds the workspace): a new version, edit/ as first compiled
    proc = run_cli("run", str(script), "--from", str(edited))
    assert proc.returncode == 1, proc.stderr
    [kernel] = workspace.glob("add_kernel-*")
    assert _snapshot(kernel / "edit") == _snapshot(kernel / "original")
    assert json.loads((kernel / "versions" / "001" / "version.json").read_text())["source"] == str(edited)
    # the file in edit/ itself: still no regenerated levels there
    (kernel / "edit" / "add_kernel.py").write_text(edited.read_text())
    before = _snapshot(kernel / "edit")
    proc = run_cli("run", str(script), "--from", str(kernel / "edit" / "add_kernel.py"))
    assert proc.returncode == 1, proc.stderr
    assert _snapshot(kernel / "edit") == before and (kernel / "versions" / "002").is_dir()
    # with the app open on the script: the run verifies in a scratch workspace and says so
    env = dict(os.environ, WORKBENCH_COMMAND="workbench app vector_add.py")
    with RunnerClient(env=env) as app:
        app.call("open", script=str(script), with_sass=False)
        everything = _snapshot(workspace)
        proc = run_cli("run", str(script), "--from", str(edited))
        assert proc.returncode == 1, proc.stderr
        assert f"note: workspace {workspace} is in use by `workbench app vector_add.py` (pid {app.pid}" in proc.stderr
        rows = [line.split() for line in proc.stdout.splitlines()]
        assert rows[2][2:5] == ["original", "python", "ok"] and rows[3][2:5] == ["1", "python", "FAIL"]
        assert _snapshot(workspace) == everything  # not a byte of the app's workspace changed


def test_compile_does_not_write_a_workspace_another_process_holds(script, tmp_path):
    workspace = tmp_path / ".workbench" / "vector_add"
    proc = _holder(workspace, "workbench app vector_add.py")
    try:
        out = run_cli("compile", str(script), "--no-sass")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert out.returncode == 2 and out.stderr.splitlines() == [
        f"{workspace}: error: workspace is in use by `workbench app vector_add.py` (pid {proc.pid}, since "
        f"{out.stderr.split('since ')[1][:8]}): --out DIR writes the levels elsewhere"]
    assert [p.name for p in workspace.iterdir()] == [".lock"]


def test_a_script_that_forks_leaves_no_copy_of_the_runner_holding_the_lock(script, tmp_path):
    """Issue 26: a script whose child (os.fork()) lingered kept the runner's lock descriptor:
    after the run the workspace stayed locked, and the next run was told it was "in use by
    another process (it is starting up)". The lock is the runner's alone."""
    child_pid = tmp_path / "child.pid"
    script.write_text(script.read_text().replace("def main():", f"""def main():
    import os, time
    if os.fork() == 0:
        with open({str(child_pid)!r}, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(120)
        os._exit(0)
""", 1))
    try:
        first = run_cli("run", str(script))
        assert first.returncode == 0, first.stderr
        workspace = tmp_path / ".workbench" / "vector_add"
        lock = WorkspaceLock(workspace)
        assert lock.acquire().pid == os.getpid()          # free while the child lives on
        lock.release()
        again = run_cli("run", str(script))
        assert again.returncode == 0 and "in use" not in again.stderr, again.stderr
    finally:
        if child_pid.exists():
            os.kill(int(child_pid.read_text()), signal.SIGKILL)

"""The fault matrix of issues 9 and 26: each case provokes one fault the way a user (or a crash,
or a workspace received from someone else) does, through the real CLI, runner, files and app
(Textual's Pilot, or tmux where a real terminal is the point), and checks what the user is left with.

    python benchmarks/fault_matrix.py [--only NAME]

Prints one row per case: the promise it tests (issue 26's cases), survived (the tool kept
working and said something true), the one line the user saw, and what data was lost (edits,
versions, outputs; or a file a workspace's expression created). Exit status 1 if any case did
not survive or lost data. Runs on a CPU (the interpreter replays Python-level kernels); the GPU
cases run where there is a GPU and say "skipped" elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLES = ROOT / "examples"
ALIASING = ROOT / "tests" / "data" / "aliasing"
ENV = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
GPU = None


def has_gpu() -> bool:
    global GPU
    if GPU is None:
        import torch
        GPU = torch.cuda.is_available()
    return GPU


def cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, cwd=cwd,
                          env=dict(ENV, **(env or {})), timeout=timeout)


def first_error(text: str, needle: str = "error") -> str:
    """The line the user reads first about the fault: the first with ``needle``, else the last."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return next((ln for ln in lines if needle in ln), lines[-1] if lines else "")


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def levels(folder: Path) -> dict[str, bytes]:
    """The level files under ``folder`` (not the metadata JSON, which records stage times)."""
    return {k: v for k, v in tree(folder).items() if Path(k).suffix in (".ttir", ".ttgir", ".llir", ".ptx", ".cubin")}


def copy_scripts(work: Path, *files: Path) -> None:
    for f in files:
        shutil.copy(f, work / f.name)


# -- the cases: each returns (survived, the line the user saw, what was lost) -------------------

def aliasing(name: str) -> Callable[[Path], tuple[bool, str, str]]:
    def case(work: Path):
        copy_scripts(work, *ALIASING.glob("*.py"))
        proc = cli("run", str(work / f"{name}.py"), "--json")
        runs = json.loads(proc.stdout)["runs"] if proc.stdout.strip().startswith("{") else []
        bad = [o["sentence"] for r in runs for o in r["outputs"] if not o["ok"]]
        ok = proc.returncode == 0 and runs and not bad
        return bool(ok), (bad[0] if bad else f"{len(runs)} launches verify against themselves"), "-"
    return case


def corrupt_cache(how: str) -> Callable[[Path], tuple[bool, str, str]]:
    def case(work: Path):
        cache = work / "cache"
        env = {"WORKBENCH_CACHE_DIR": str(cache)}
        copy_scripts(work, EXAMPLES / "vector_add.py")
        first = cli("compile", str(work / "vector_add.py"), "--out", str(work / "a"), "--no-sass", env=env)
        if first.returncode:
            return False, first_error(first.stderr), "-"
        good = levels(work / "a")
        level = next(data for name, data in good.items() if name.endswith("." + how))
        target = next(p for p in cache.rglob("*.out") if p.read_bytes() == level)
        if how == "ptx":
            target.write_bytes(target.read_bytes().replace(b"add.f32", b"sub.f32"))
        elif how == "cubin":
            data = bytearray(target.read_bytes())
            data[len(data) // 2:len(data) // 2 + 64] = b"\0" * 64
            target.write_bytes(bytes(data))
        else:  # an emptied LLIR entry
            target.write_bytes(b"")
        again = cli("compile", str(work / "vector_add.py"), "--out", str(work / "b"), "--no-sass", env=env)
        same = levels(work / "b") == good
        said = first_error(again.stderr, "dropped")
        return again.returncode == 0 and same and "dropped" in said, said, \
            "-" if same else "a level differs from a clean compile"
    return case


def edited_description(work: Path):
    """A cache entry's description edited to `registers 255, shared 99999` (issue 26)."""
    cache = work / "cache"
    env = {"WORKBENCH_CACHE_DIR": str(cache)}
    copy_scripts(work, EXAMPLES / "vector_add.py")
    first = cli("compile", str(work / "vector_add.py"), "--out", str(work / "a"), "--no-sass", env=env)
    if first.returncode:
        return False, first_error(first.stderr), "-"
    for description in cache.rglob("*.json"):
        sidecar = json.loads(description.read_text())
        if "resources" in sidecar["info"]:
            sidecar["info"]["resources"]["registers"] = 255
        if "shared" in sidecar["metadata"]:
            sidecar["metadata"]["shared"] = 99999
        description.write_text(json.dumps(sidecar))
    again = cli("compile", str(work / "vector_add.py"), "--out", str(work / "b"), "--no-sass", env=env)
    written = json.loads(next((work / "b").rglob("add_kernel.json")).read_text())
    false = written["shared"] == 99999 or " 255 " in again.stdout
    said = first_error(again.stderr, "dropped")
    return again.returncode == 0 and not false and "dropped" in said, said, \
        "registers 255 / shared 99999 served" if false else "-"


def second_writer(work: Path):
    from workbench.model.diagnostics import WorkbenchError
    from workbench.session.session import Session
    copy_scripts(work, EXAMPLES / "vector_add.py")
    first = Session(work / "vector_add.py", mode="compile-only", with_sass=False)
    first.open()
    try:
        Session(work / "vector_add.py", mode="compile-only", with_sass=False).open()
    except WorkbenchError as e:
        return True, str(e).splitlines()[0].replace(str(work) + "/", "").replace(" benchmarks/fault_matrix.py", ""), "-"
    finally:
        first.close()
    return False, "a second writer opened the workspace", "-"


def edited_session(work: Path, mode: str, op: str):
    """vector_add opened in a session of this process (the app's writer), its TTGIR in edit/
    edited to ``op``: (session, what open answered, edit/, the TTGIR)."""
    from workbench.session.session import Session
    copy_scripts(work, EXAMPLES / "vector_add.py")
    session = Session(work / "vector_add.py", mode=mode, with_sass=False)
    opened = session.open()
    edit = Path(opened["kernels"][0]["edit"])
    ttgir = edit / "add_kernel.ttgir"
    ttgir.write_text(ttgir.read_text().replace("arith.addf", op))
    return session, opened, edit, ttgir


def run_from_beside_the_app(work: Path):
    app, _, edit, ttgir = edited_session(work, "interpret", "arith.mulf")
    before = tree(edit)
    try:
        proc = cli("run", str(work / "vector_add.py"), "--from", str(ttgir))
    finally:
        app.close()
    kept = tree(edit) == before
    return proc.returncode in (0, 1) and kept, first_error(proc.stderr), "-" if kept else "edit/ was rewritten"


def failed_version_write(work: Path):
    from workbench.model.diagnostics import WorkbenchError
    s, opened, edit, ttgir = edited_session(work, "compile-only", "arith.subf")
    (edit / "add_kernel.ptx").unlink()
    (edit / "add_kernel.ptx").mkdir()  # a folder where a level file goes
    before, versions = tree(edit), s.workspace.versions_dir(opened["kernels"][0]["spec"]["folder_name"])
    try:
        s.compile("add_kernel", ttgir)
        said = "the version was written"
    except WorkbenchError as e:
        said = str(e).splitlines()[0].replace(str(work) + "/", "")
    finally:
        s.close()
    partial = [p.name for p in versions.iterdir()] if versions.is_dir() else []
    lost = "-" if tree(edit) == before else "edit/ half updated"
    if partial:
        lost = f"a partial version {partial}"
    return lost == "-" and "error" in said, said, lost


KILLER = """
import sys
from pathlib import Path
from workbench.session.session import Session
s = Session(sys.argv[1], mode="compile-only", with_sass=False)
opened = s.open()
ttgir = Path(opened["kernels"][0]["edit"]) / "add_kernel.ttgir"
print("ready", flush=True)
for i in range(1000):
    s.compile("add_kernel", ttgir)
"""


def killed_writer(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")
    proc = subprocess.Popen([sys.executable, "-c", KILLER, str(work / "vector_add.py")], stdout=subprocess.PIPE,
                            env=ENV, text=True)
    assert proc.stdout.readline() == "ready\n"
    time.sleep(1.5)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    from workbench.session.workspace import Workspace
    ws = Workspace.beside(work / "vector_add.py")
    folder = next(p for p in ws.root.iterdir() if p.is_dir())
    vdir = folder / "versions"
    numbered = sorted(p for p in vdir.iterdir() if p.name.isdigit())
    partial = [p.name for p in numbered if not (p / "version.json").is_file()]
    listed = len(ws.versions(folder.name))
    return not partial and listed == len(numbered), f"killed after {listed} whole versions", \
        f"partial versions {partial}" if partial else "-"


def escaping_name(work: Path):
    script = work / "sub" / "evil.py"
    script.parent.mkdir()
    script.write_text((EXAMPLES / "vector_add.py").read_text().replace(
        "@triton.jit\ndef add_kernel", "def add_kernel_src", 1).replace(
        "def add(x", "add_kernel_src.__name__ = '../../outside'\nadd_kernel = triton.jit(add_kernel_src)\n\n\ndef add(x", 1))
    before = {p for p in work.rglob("*")}
    proc = cli("compile", str(script), "--no-sass")
    outside = [p for p in work.rglob("*") if p not in before and ".workbench" not in p.parts]
    return proc.returncode == 0 and not outside, "compiled inside .workbench/evil/", \
        f"files outside: {outside[:2]}" if outside else "-"


def empty_level(level: str) -> Callable[[Path], tuple[bool, str, str]]:
    """A level file saved empty (issue 26: MLIR aborted the process, LLVM asserted)."""
    def case(work: Path):
        copy_scripts(work, EXAMPLES / "vector_add.py")
        cli("compile", str(work / "vector_add.py"), "--out", str(work / "lv"), "--no-sass")
        path = next((work / "lv").rglob(f"*.{level}"))
        path.write_text("\n  \n")
        proc = cli("compile", str(path), "--no-sass")
        line = first_error(proc.stderr).replace(str(work) + "/", "") or f"exit status {proc.returncode}, nothing said"
        return proc.returncode == 2 and len(proc.stderr.splitlines()) == 1 and "is empty" in line, line, "-"
    return case


def one_line(proc, work: Path, needle: str) -> tuple[bool, str, str]:
    """Survived: exit 2, one line of error with ``needle``, no traceback."""
    errors = [ln for ln in proc.stderr.splitlines() if "error" in ln or "Error" in ln]
    line = (errors[0] if errors else f"exit status {proc.returncode}").replace(str(work) + "/", "")
    ok = proc.returncode == 2 and len(errors) == 1 and "Traceback" not in proc.stderr and needle in line
    return ok, line, "-"


def lock_is_a_folder(command: str) -> Callable[[Path], tuple[bool, str, str]]:
    def case(work: Path):
        copy_scripts(work, EXAMPLES / "vector_add.py")
        (work / ".workbench" / "vector_add" / ".lock").mkdir(parents=True)
        return one_line(cli(command, str(work / "vector_add.py")), work, "is a folder")
    return case


def metadata_not_utf8(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")
    cli("compile", str(work / "vector_add.py"), "--out", str(work / "lv"), "--no-sass")
    meta = next((work / "lv").rglob("add_kernel.json"))
    meta.write_bytes(meta.read_bytes().replace(b'"name"', b'"\xff\xfe"', 1))
    return one_line(cli("compile", str(meta.with_suffix(".ptx")), "--no-sass"), work, "not UTF-8")


def script_os_exit(work: Path):
    """A script ending in os._exit(7) after its launches: it ran in the CLI's process and ended it
    (rc 7, nothing printed, nothing compiled)."""
    shutil.copy(ROOT / "tests" / "data" / "launch" / "os_exit.py", work / "os_exit.py")
    proc = cli("compile", str(work / "os_exit.py"), "--no-sass", "--out", str(work / "lv"), "--", "7")
    compiled = any((work / "lv").rglob("fill.cubin"))
    return proc.returncode == 0 and compiled, first_error(proc.stderr, "os._exit").replace(str(work) + "/", ""), \
        "-" if compiled else "the launches"


def export_without_its_level(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")
    s, opened, edit, ttgir = edited_session(work, "interpret", "arith.mulf")
    info, _ = s.compile("add_kernel", ttgir)
    s.close()
    (info.folder / "add_kernel.ttgir").unlink()
    return one_line(cli("export", str(work / "vector_add.py"), "-k", "add_kernel", "--version", str(info.number)),
                    work, "lost its edited")


def junk_saved_as_a_level(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")
    (work / "add_kernel.ttgir").write_bytes(b"\xff\xfe\x00junk")
    return one_line(cli("run", str(work / "vector_add.py"), "--from", str(work / "add_kernel.ttgir")), work,
                    "add_kernel.ttgir:1:1: error: not UTF-8")


def symlinked_from(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")
    (work / "notes.txt").write_text("not IR\n")
    (work / "add_kernel.ttgir").symlink_to(work / "notes.txt")
    return one_line(cli("run", str(work / "vector_add.py"), "--from", str(work / "add_kernel.ttgir")), work,
                    "add_kernel.ttgir:1:")


def surrogate_name(work: Path):
    script = work / "sur.py"
    script.write_text((EXAMPLES / "vector_add.py").read_text().replace(
        "@triton.jit\ndef add_kernel", "def add_kernel_src", 1).replace(
        "def add(x", "add_kernel_src.__name__ = '\\ud800'\nadd_kernel = triton.jit(add_kernel_src)\n\n\ndef add(x", 1))
    proc = cli("compile", str(script), "--no-sass")
    row = next((ln for ln in proc.stdout.splitlines() if ln.startswith("\\ud800")), "")
    return proc.returncode == 0 and bool(row), row[:60] or first_error(proc.stderr), "-"


def killed_run_in_scratch(work: Path):
    """`workbench run` killed (-9) while the app holds the workspace: its scratch copy goes."""
    from workbench.session.session import Session
    tmp = work / "tmp"
    tmp.mkdir()
    script = work / "slow.py"
    script.write_text((EXAMPLES / "vector_add.py").read_text().replace(
        "def main():", "def main():\n    import time; time.sleep(60)", 1))
    app = Session(script, mode="compile-only", with_sass=False)
    app.open()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "workbench", "run", str(script)], env=dict(ENV, TMPDIR=str(tmp)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while not list(tmp.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        app.close()
    time.sleep(2.0)  # the runner dies with its front end
    copy_scripts(work, EXAMPLES / "vector_add.py")
    cli("run", str(work / "vector_add.py"), env={"TMPDIR": str(tmp)})
    left = [p.name for p in tmp.iterdir()]
    return not left, "the next run removed the scratch workspace" if not left else "scratch left", \
        f"{left[0]} left in TMPDIR" if left else "-"


def lock_write_fails(work: Path):
    import fcntl
    from workbench.session.lock import WorkspaceLock
    (work / "ws").mkdir()
    (work / "ws" / ".lock").symlink_to("/dev/full")
    try:
        WorkspaceLock(work / "ws").acquire()
        return False, "the lock was taken on /dev/full", "-"
    except OSError as e:
        said = f"{e.strerror}: {e.filename}".replace(str(work) + "/", "")
    fd = os.open("/dev/full", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True, said, "-"
    except BlockingIOError:
        return False, said, "the lock stays held in this process"
    finally:
        os.close(fd)


def stale_sass(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")
    cli("compile", str(work / "vector_add.py"), "--out", str(work / "lv"))
    folder = next((work / "lv").iterdir())
    ttgir = folder / "add_kernel.ttgir"
    ttgir.write_text(ttgir.read_text().replace("arith.addf", "arith.mulf"))
    proc = cli("compile", str(ttgir), "--no-sass")
    stale = (folder / "add_kernel.sass").exists()
    return proc.returncode == 0 and not stale, "no .sass beside the new cubin" if not stale else "stale .sass", "-"


def ptxas_failure_temp_files(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")
    cli("compile", str(work / "vector_add.py"), "--out", str(work / "lv"), "--no-sass")
    ptx = next((work / "lv").rglob("*.ptx"))
    ptx.write_text(ptx.read_text().replace("add.f32", "add.f33"))
    tmp = work / "tmp"
    tmp.mkdir()
    proc = cli("compile", str(ptx), "--no-sass", env={"TMPDIR": str(tmp)})
    left = list(tmp.rglob("*"))
    return proc.returncode == 2 and not left, first_error(proc.stderr).replace(str(work) + "/", ""), \
        f"{len(left)} files left in TMPDIR" if left else "-"


def bad_metadata(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")
    cli("compile", str(work / "vector_add.py"), "--out", str(work / "lv"), "--no-sass")
    meta = next((work / "lv").rglob("add_kernel.json"))
    data = json.loads(meta.read_text())
    data["num_warps"] = "four"
    meta.write_text(json.dumps(data, indent=1))
    proc = cli("compile", str(meta.with_suffix(".ptx")), "--no-sass")
    line = first_error(proc.stderr).replace(str(work) + "/", "")
    return proc.returncode == 2 and "Traceback" not in proc.stderr and ":" in line, line, "-"


def bad_target(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")
    t0 = time.perf_counter()
    proc = cli("compile", str(work / "vector_add.py"), "--target", "cuda:999")
    quick = time.perf_counter() - t0 < 20
    return proc.returncode == 2 and quick and "Traceback" not in proc.stderr, first_error(proc.stderr)[:110], "-"


def front_end_signal(sig: int) -> Callable[[Path], tuple[bool, str, str]]:
    def case(work: Path):
        script = work / "slow.py"
        script.write_text((EXAMPLES / "vector_add.py").read_text().replace(
            "def main():", "def main():\n    import time; time.sleep(60)", 1))
        proc = subprocess.Popen([sys.executable, "-m", "workbench", "run", str(script)], env=ENV,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        runner = None
        deadline = time.monotonic() + 60
        while runner is None and time.monotonic() < deadline:
            runner = _child_runner(proc.pid)
            time.sleep(0.2)
        if runner is None:
            proc.kill()
            return False, "the runner never started", "-"
        time.sleep(1.0)  # it is now running the script
        os.kill(proc.pid, sig)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        gone = _wait_gone(runner, 10)
        if not gone:
            os.kill(runner, signal.SIGKILL)
        said = first_error(err, "stopped") or f"exit status {proc.returncode}"
        return gone, said, "-" if gone else f"runner pid {runner} left running"
    return case


def _child_runner(parent: int) -> int | None:
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"workbench.runner" in cmd:
            return int(pid)
    return None


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def script_timeout(work: Path):
    script = work / "loops.py"
    script.write_text("while True:\n    pass\n")
    t0 = time.perf_counter()
    proc = cli("run", str(script), "--script-timeout", "3", timeout=120)
    took = time.perf_counter() - t0
    line = first_error(proc.stderr).replace(str(work) + "/", "")
    return proc.returncode == 2 and took < 60 and "loops.py" in line, line, "-"


def gpu_fault(work: Path):
    if not has_gpu():
        return None
    from workbench.runner.client import RunnerClient
    from workbench.runner.protocol import RunnerCrashed
    copy_scripts(work, EXAMPLES / "vector_add.py")
    with RunnerClient(kernel_timeout=20) as client:
        opened = client.call("open", script=str(work / "vector_add.py"), with_sass=False)
        py = Path(opened["kernels"][0]["edit"]) / "add_kernel.py"
        py.write_text(py.read_text().replace("tl.store(out_ptr + offsets,", "tl.store(out_ptr + offsets + (1 << 40),"))
        try:
            client.call("apply", kernel="add_kernel", path=str(py))
            return False, "an illegal access went unnoticed", "-"
        except RunnerCrashed as e:
            said = e.reason
        again = client.call("run", kernel="add_kernel")["status"]
    return again == "ok", said, "-"


# -- issue 26, the app's side: the real app through Textual's Pilot (or tmux), a real runner ---

FAST_BENCH = {"warmup_ms": 1.0, "rep_ms": 5.0, "graph": False}


def in_app(script: Path, body: Callable, ready: Callable | None = None):
    """``body(pilot, app)`` (a coroutine) against the real app on ``script``, once ``ready(app)``
    (default: the original has run); what it returns."""
    import asyncio
    os.environ["WORKBENCH_CONFIG"] = str(script.parent / "config" / "config.toml")  # not the user's
    from workbench.tui.app import WorkbenchApp

    async def main():
        app = WorkbenchApp(script, bench=FAST_BENCH)
        async with app.run_test(size=(180, 50)) as pilot:
            await until(pilot, (lambda: ready(app)) if ready else (lambda: app.last_good is not None))
            return await body(pilot, app)
    return asyncio.run(main())


async def until(pilot, condition, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            await pilot.pause()
            return True
        await pilot.pause(0.05)
    return False


def save_while_restore_waits(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")

    async def body(pilot, app):
        pane, py = app.pane("python"), app.level_path("python")
        base = py.read_text()
        pane.view.focus()
        await pilot.press("e")
        pane.editor.load_text(base.replace("x + y, mask=mask", "x - y, mask=mask"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.last_good.version == "1")
        newer = base.replace("x + y, mask=mask", "x * y, mask=mask")
        os.kill(app.link.client.pid, signal.SIGSTOP)   # the runner gets to the restore after the next save
        try:
            pane.editor.load_text(base)           # the original's text: restores the original
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.runner_writes == 1, 10)
            pane.editor.load_text(newer)
            await pilot.press("ctrl+s")
            await pilot.pause(0.2)
        finally:
            os.kill(app.link.client.pid, signal.SIGCONT)
        made = await until(pilot, lambda: app.last_good.version == "2", 60)
        kept = py.read_text() == newer
        v2 = next((v.folder for v in app.versions if v.number == 2), None)
        ok = made and kept and v2 is not None and (v2 / py.name).read_text() == newer
        return ok, ("the later save became v2" if ok else f"status: {app.status.message}"), \
            "-" if kept else "the save made while the restore waited"
    return in_app(work / "vector_add.py", body)


def bad_result_json(work: Path):
    from workbench.runner.client import RunnerClient
    copy_scripts(work, EXAMPLES / "vector_add.py")
    with RunnerClient() as client:
        opened = client.call("open", script=str(work / "vector_add.py"), with_sass=False)
        py = Path(opened["kernels"][0]["edit"]) / "add_kernel.py"
        py.write_text(py.read_text().replace("x + y, mask=mask", "x - y, mask=mask"))
        folder = Path(client.call("apply", kernel="add_kernel", path=str(py))["version_folder"])
    (folder / "result.json").write_text("[1, 2]")

    async def body(pilot, app):
        from workbench.tui.screens.choice_screen import ChoiceScreen
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen), 10)
        await pilot.press("enter")                # keep the edits
        app.main.action_results("history")
        table = app.query_one("#history-table")
        drawn = await until(pilot, lambda: table.row_count == 2, 20)
        return drawn and app.is_running, "History lists v1 without its result" if drawn else "History not drawn", "-"
    return in_app(work / "vector_add.py", body, ready=lambda app: app.current is not None)


def bad_watch_json(work: Path):
    from workbench.runner.client import RunnerClient
    copy_scripts(work, EXAMPLES / "vector_add.py")
    with RunnerClient() as client:
        opened = client.call("open", script=str(work / "vector_add.py"), with_sass=False)
        kernel = opened["kernels"][0]
        (Path(kernel["folder"]) / "watch.json").write_text("[1, 2]")
        py = Path(kernel["edit"]) / "add_kernel.py"
        py.write_text(py.read_text().replace("x + y, mask=mask", "x - y, mask=mask"))
        try:
            out = client.call("apply", kernel="add_kernel", path=str(py))
        except Exception as e:  # noqa: BLE001 - the save failed: what the user saw
            return False, str(e).splitlines()[0].replace(str(work) + "/", ""), "v1 made, never run"
    said = (out.get("watch_notes") or ["no note"])[0].replace(str(work) + "/", "")
    return out["status"] == "mismatch" and "watch.json" in said, said, "-"


def no_editor(work: Path):
    if not shutil.which("tmux"):
        return None
    copy_scripts(work, EXAMPLES / "vector_add.py")
    (work / "config.toml").write_text("bench_on_save = false\n")
    sock = f"fault-{os.getpid()}"
    env = {"PYTHONPATH": ENV["PYTHONPATH"], "WORKBENCH_CONFIG": str(work / "config.toml"), "TERM": "xterm-256color",
           "EDITOR": "/nonexistent"}
    command = " ".join([f"{k}={v}" for k, v in env.items()] + ["exec", sys.executable, "-m", "workbench",
                                                              str(work / "vector_add.py")])
    subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", "app", "-x", "160", "-y", "48",
                    command], check=True)

    def screen() -> str:
        return subprocess.run(["tmux", "-L", sock, "capture-pane", "-p", "-t", "app"], capture_output=True,
                              text=True).stdout

    def wait(needle: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in screen():
                return True
            time.sleep(0.2)
        return False
    try:
        if not wait("add_kernel original: ok", 120):
            return False, "the app never opened the script", "-"
        subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "app", "E"], check=True)
        said = wait("cannot run the editor", 20)
        subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "app", "4"], check=True)   # LLIR: still reads keys
        alive = wait("add_kernel.llir", 10)
        line = next((ln.strip(" ▏▕│") for ln in screen().splitlines() if "cannot run the editor" in ln),
                    "the screen stayed blank, no key read")
        return said and alive, line.strip(), "-"
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)


def runner_killed_first_open(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")
    script, go = work / "vector_add.py", work / "go"
    script.write_text(script.read_text().replace(
        "def main():", f"def main():\n    import os, time\n    while not os.path.exists({str(go)!r}):\n"
                       f"        time.sleep(0.05)\n", 1))

    async def body(pilot, app):
        os.kill(app.link.client.pid, signal.SIGKILL)
        await until(pilot, lambda: "could not open" in app.status.message, 30)
        said = app.status.message.replace(str(work) + "/", "")
        go.touch()
        await pilot.press("f2")
        await pilot.pause(0.3)
        await pilot.press("enter")
        again = await until(pilot, lambda: app.last_good is not None, 60)
        return again, said + ("; F2 + Enter opened it" if again else "; F2 + Enter did nothing"), "-"
    return in_app(script, body, ready=lambda app: app.status.message.startswith("running vector_add.py"))


def forking_script(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")
    script, child = work / "vector_add.py", work / "child.pid"
    script.write_text(script.read_text().replace("def main():", f"""def main():
    import os, time
    if os.fork() == 0:
        with open({str(child)!r}, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(120)
        os._exit(0)
""", 1))
    try:
        first = cli("run", str(script))
        again = cli("run", str(script))
    finally:
        if child.exists():
            os.kill(int(child.read_text()), signal.SIGKILL)
    busy = "in use" in again.stderr
    said = first_error(again.stderr, "in use") if busy else "the next run works in place"
    return first.returncode == 0 and again.returncode == 0 and not busy, said.replace(str(work) + "/", ""), "-"
def _exploit(target: Path, through: str = "cdiv") -> str:
    """An expression that creates ``target`` where grids and FLOPs were ``eval``'d (issue 26)."""
    reach = "cdiv.__globals__" if through == "cdiv" else "x_ptr.__deepcopy__.__globals__"
    return f"{reach}['__builtins__']['open']({str(target)!r}, 'w').write('x')"


def _why(said: str, where: str) -> str:
    """What a refusal says after the (long) expression it quotes; any other line as it is."""
    return f"{where}: {said.rsplit(chr(34) + ': ', 1)[-1]}" if "cannot evaluate" in said else said


def stored_grid_exploit(work: Path):
    """A workspace received from someone else, its tried.json grid reaching for the builtins."""
    from workbench.session.workspace import Workspace
    copy_scripts(work, EXAMPLES / "vector_add.py")
    cli("run", str(work / "vector_add.py"))
    folder = next(p for p in Workspace.beside(work / "vector_add.py").root.iterdir() if p.is_dir())
    pwned = work / "pwned"
    (folder / "tried.json").write_text(json.dumps([{"config": {"BLOCK_SIZE": 256}, "grid": _exploit(pwned)}]))
    proc = cli("run", str(work / "vector_add.py"))
    said = first_error(proc.stdout + proc.stderr, "cannot evaluate")
    ok = proc.returncode == 0 and not pwned.exists() and "tried.json: error: cannot evaluate" in said
    return ok and "not allowed" in said, _why(said, "tried.json"), "a file was created" if pwned.exists() else "-"


def flag_exploit(flag: str) -> Callable[[Path], tuple[bool, str, str]]:
    def case(work: Path):
        copy_scripts(work, EXAMPLES / "vector_add.py")
        pwned = work / "pwned"
        extra = ["--config", "BLOCK_SIZE=512"] if flag == "--grid" else ["--bench"]
        proc = cli("run", str(work / "vector_add.py"), *extra, flag,
                   _exploit(pwned, "cdiv" if flag == "--grid" else "tensor"))
        said = first_error(proc.stderr)
        ok = proc.returncode == 2 and not pwned.exists() and said.startswith(f"{flag}: error: cannot evaluate")
        return ok and "not allowed" in said, _why(said, flag), "a file was created" if pwned.exists() else "-"
    return case


def interpreted_grid_expression(work: Path):
    copy_scripts(work, EXAMPLES / "vector_add.py")
    proc = cli("run", str(work / "vector_add.py"), "--json", "--config", "BLOCK_SIZE=512",
               "--grid", "cdiv(n_elements, BLOCK_SIZE)")
    tables = json.loads(proc.stdout)["configs"] if proc.stdout.strip().startswith("{") else []
    tried = [r for t in tables for r in t["rows"] if r["tried"]]
    if not tried:
        return False, first_error(proc.stderr), "-"
    return tried[0]["status"] == "ok", f"BLOCK_SIZE=512: {tried[0]['status']} {tried[0]['message']}".strip(), "-"


CASES: dict[str, Callable] = {
    "one tensor passed twice (dy, dx)": aliasing("same_tensor_twice"),
    "overlapping slices of one buffer": aliasing("overlapping_slices"),
    "interleaved and transposed views": aliasing("strided_views"),
    "in-place out=x, unaligned view": aliasing("inplace_out"),
    "cached PTX entry edited (add->sub)": corrupt_cache("ptx"),
    "cached cubin bytes overwritten": corrupt_cache("cubin"),
    "cached LLIR entry emptied": corrupt_cache("llir"),
    "cache description: registers 255, shared 99999": edited_description,
    "a second app on one workspace": second_writer,
    "run --from while the app is open": run_from_beside_the_app,
    "a version write that fails": failed_version_write,
    "kill -9 while writing versions": killed_writer,
    "kernel named ../../outside": escaping_name,
    "compile --no-sass over old levels": stale_sass,
    "an empty .ttgir": empty_level("ttgir"),
    "an empty .llir": empty_level("llir"),
    "compile: .lock is a folder": lock_is_a_folder("compile"),
    "run: .lock is a folder": lock_is_a_folder("run"),
    "metadata JSON not UTF-8": metadata_not_utf8,
    "export of a version missing its level": export_without_its_level,
    "compile of a script ending in os._exit(7)": script_os_exit,
    "binary junk saved as a level (run --from)": junk_saved_as_a_level,
    "run --from a symlink named otherwise": symlinked_from,
    "a kernel named '\\ud800'": surrogate_name,
    "kill -9 of run in a scratch workspace": killed_run_in_scratch,
    "the lock file's write fails (disk full)": lock_write_fails,
    "ptxas fails (temp files)": ptxas_failure_temp_files,
    "metadata num_warps = \"four\"": bad_metadata,
    "--target cuda:999": bad_target,
    "SIGTERM to workbench run": front_end_signal(signal.SIGTERM),
    "SIGHUP to workbench run (window closed)": front_end_signal(signal.SIGHUP),
    "SIGKILL to workbench run": front_end_signal(signal.SIGKILL),
    "a script that loops before launching": script_timeout,
    "illegal memory access on the GPU": gpu_fault,
    "a save while a restore waits (app)": save_while_restore_waits,
    "a version's result.json is [1, 2] (app)": bad_result_json,
    "watch.json is [1, 2], then a save": bad_watch_json,
    "E with EDITOR=/nonexistent (app, tmux)": no_editor,
    "runner killed in the first open (app)": runner_killed_first_open,
    "a script that forks, then run again": forking_script,
    "tried.json grid through cdiv.__globals__": stored_grid_exploit,
    "--grid through cdiv.__globals__": flag_exploit("--grid"),
    "--flops through a tensor's __globals__": flag_exploit("--flops"),
    "--grid 'cdiv(n_elements, BLOCK_SIZE)'": interpreted_grid_expression,
}

PROMISES = {   # what docs/faults.md promises, for the cases of issue 26
    "cache description: registers 255, shared 99999": "the cache's digest covers the whole entry: rebuilt",
    "an empty .ttgir": "an empty level is one line, never an abort",
    "an empty .llir": "an empty level is one line, never an abort",
    "compile: .lock is a folder": "one line with the file, never a traceback",
    "run: .lock is a folder": "one line with the file, never a traceback",
    "metadata JSON not UTF-8": "one line at the JSON's place",
    "export of a version missing its level": "one line naming the file",
    "compile of a script ending in os._exit(7)": "a script's exit never decides the CLI's status",
    "binary junk saved as a level (run --from)": "one line at the byte",
    "run --from a symlink named otherwise": "the file named as the user typed it",
    "a kernel named '\\ud800'": "any kernel name prints",
    "kill -9 of run in a scratch workspace": "the next run removes the scratch folder",
    "the lock file's write fails (disk full)": "a failed lock write holds no lock",
    "a save while a restore waits (app)": "a restore never writes over a later save",
    "a version's result.json is [1, 2] (app)": "a file of the wrong shape is a note",
    "watch.json is [1, 2], then a save": "a file of the wrong shape is a note; the save runs",
    "E with EDITOR=/nonexistent (app, tmux)": "no editor is one line; the app goes on",
    "runner killed in the first open (app)": "F2 + Enter opens it again",
    "a script that forks, then run again": "a forked child never holds the lock",
    "tried.json grid through cdiv.__globals__": "a workspace runs no code: grids are arithmetic",
    "--grid through cdiv.__globals__": "--grid is arithmetic, refused in one line",
    "--flops through a tensor's __globals__": "--flops is arithmetic, refused in one line",
    "--grid 'cdiv(n_elements, BLOCK_SIZE)'": "a grid sees numbers: a correct config verifies, no GPU too",
}


def main() -> int:
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    rows = []
    for name, case in CASES.items():
        if only and only not in name:
            continue
        work = Path(tempfile.mkdtemp(prefix="fault-"))
        t0 = time.perf_counter()
        try:
            out = case(work)
        except Exception as e:  # noqa: BLE001 - a case that breaks the harness did not survive
            out = (False, f"{type(e).__name__}: {e}".splitlines()[0], "?")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if out is None:
            rows.append((name, "skipped", "needs a GPU", "-", time.perf_counter() - t0))
        else:
            rows.append((name, "yes" if out[0] else "NO", out[1], out[2], time.perf_counter() - t0))
        print(f"{rows[-1][0]:<42} {rows[-1][1]:<8} {rows[-1][4]:5.1f} s", file=sys.stderr, flush=True)
    promise = max(len(PROMISES.get(r[0], "-")) for r in rows + [("promise",)])
    widths = [max(len(str(r[i])) for r in rows + [("case", "survived", "message", "data lost", 0)]) for i in range(3)]
    print(f"{'case':<{widths[0]}}  {'promise':<{promise}}  {'survived':<{widths[1]}}  "
          f"{'message':<{min(widths[2], 100)}}  data lost")
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {PROMISES.get(r[0], '-'):<{promise}}  {r[1]:<{widths[1]}}  "
              f"{r[2][:100]:<{min(widths[2], 100)}}  {r[3]}")
    failed = [r for r in rows if r[1] == "NO" or r[3] not in ("-",)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The runner lives and dies with its front end, and a script that never gets to its launches is
stopped at its time limit, at the line it was running. Real processes and signals: the front end
(`workbench run`, a process holding a RunnerClient, the app in tmux) is stopped while its runner
is busy running a script, and the runner must be gone soon after."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from helpers import EXAMPLES, ROOT, run_cli
from workbench.runtime.capture.script import run_script
from workbench.runner.client import RunnerClient
from workbench.runner.protocol import RunnerCrashed, RunnerError

DATA = ROOT / "tests" / "data"
SLEEPS, STUCK = DATA / "sleeps_before.py", DATA / "stuck_in_c.py"
TMUX = shutil.which("tmux")


def _env(pidfile: Path) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    return dict(os.environ, PYTHONPATH=path, WB_PIDFILE=str(pidfile))


def _runner_pid(pidfile: Path, front: subprocess.Popen | None = None, timeout: float = 120) -> int:
    """The pid the script wrote from inside the runner: the runner is busy running it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pidfile.is_file() and pidfile.read_text().strip():
            return int(pidfile.read_text())
        if front is not None and front.poll() is not None:
            raise AssertionError(f"the front end exited first: {front.stderr.read() if front.stderr else ''}")
        time.sleep(0.05)
    raise AssertionError("the script never started in the runner")


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent that does not reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # reaped between the open and the read
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _gone(pid: int, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _kill_if_alive(pid: int) -> None:
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _cli(script: Path, pidfile: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workbench", "run", str(script), "--workspace",
                             str(pidfile.parent / "ws"), *extra], env=_env(pidfile), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


# -- the runner dies with its front end ---------------------------------------------------------

@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_the_runner_dies_with_workbench_run(tmp_path, sig, status):
    """(SIGKILL: test_a_runner_stuck_in_c_code_dies_with_its_front_end.)"""
    pidfile = tmp_path / "pid"
    front = _cli(SLEEPS, pidfile)
    runner = _runner_pid(pidfile, front)
    try:
        front.send_signal(sig)
        assert front.wait(30) == status
        assert _gone(runner), f"runner {runner} outlived `workbench run` ({sig.name})"
        lines = [line for line in front.stderr.read().splitlines() if not line.startswith("running ")]
        assert lines == [f"workbench: stopped by {sig.name}"]   # one line, no traceback
    finally:
        _kill_if_alive(runner)


def test_sigterm_stops_a_command_whose_script_can_be_interrupted_in_one_line(tmp_path):
    """compile's script runs in its runner: SIGTERM interrupts it there (even for a front end started
    as a shell's background job, which ignores SIGINT), one line says so, and the runner is gone."""
    pidfile = tmp_path / "pid"
    front = subprocess.Popen([sys.executable, "-m", "workbench", "compile", str(SLEEPS), "--out", str(tmp_path / "o")],
                             env=_env(pidfile), stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    runner = _runner_pid(pidfile, front)
    try:
        assert runner != front.pid
        front.send_signal(signal.SIGTERM)
        assert front.wait(30) == 143
        assert _gone(runner)
        assert front.stderr.read().splitlines() == ["workbench: stopped by SIGTERM"]
    finally:
        _kill_if_alive(runner)


def test_the_runner_dies_with_a_killed_process_that_holds_its_client(tmp_path):
    """The client is started from a thread that has ended (as the app's workers do) and the
    process is SIGKILLed: nothing of the client runs, the runner notices by itself."""
    pidfile = tmp_path / "pid"
    code = ("import threading, sys\n"
            "from workbench.runner.client import RunnerClient\n"
            "box = {}\n"
            "t = threading.Thread(target=lambda: box.update(c=RunnerClient().start())); t.start(); t.join()\n"
            f"box['c'].call('open', script={str(SLEEPS)!r}, workspace={str(tmp_path / 'ws')!r})\n")
    front = subprocess.Popen([sys.executable, "-c", code], env=_env(pidfile), stderr=subprocess.PIPE, text=True)
    runner = _runner_pid(pidfile, front)
    try:
        front.kill()
        front.wait(30)
        assert _gone(runner)
    finally:
        _kill_if_alive(runner)


def test_a_runner_stuck_in_c_code_dies_with_its_front_end(tmp_path):
    """No thread of the runner can run while the script holds the GIL: the parent-death signal."""
    pidfile = tmp_path / "pid"
    front = _cli(STUCK, pidfile)
    runner = _runner_pid(pidfile, front)
    try:
        time.sleep(0.5)   # well inside the regular expression
        front.kill()
        front.wait(30)
        assert _gone(runner)
    finally:
        _kill_if_alive(runner)


def test_a_runner_started_from_a_thread_that_ended_keeps_serving():
    """The parent-death signal fires when the *thread* that forked the runner ends: a client
    started from a worker thread (the app's open worker: start, hello, then it ends) must keep
    its runner."""
    box: dict = {}

    def worker() -> None:
        box["client"] = client = RunnerClient().start()
        box["pid"] = client.call("hello", timeout=120)["pid"]   # the runner is up, its signal set
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    client = box["client"]
    try:
        time.sleep(0.5)
        assert client.call("hello", timeout=120)["pid"] == box["pid"] == client.pid
        assert client.restarts == []
    finally:
        client.close()


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
@pytest.mark.parametrize("how", ["kill-window", "SIGTERM"])
def test_closing_the_apps_tmux_window_or_terminating_the_app_stops_its_runner(tmp_path, how):
    pidfile = tmp_path / "pid"
    script = tmp_path / "sleeps_before.py"
    shutil.copy(SLEEPS, script)
    config = tmp_path / "config.toml"
    config.write_text("bench_on_save = false\n")
    socket = f"wb-test-{uuid.uuid4().hex[:8]}"
    env = {"PYTHONPATH": _env(pidfile)["PYTHONPATH"], "WORKBENCH_CONFIG": str(config), "WB_PIDFILE": str(pidfile),
           "TERM": "xterm-256color"}
    if os.environ.get("WORKBENCH_CACHE_DIR"):
        env["WORKBENCH_CACHE_DIR"] = os.environ["WORKBENCH_CACHE_DIR"]
    command = " ".join([f"{k}={v}" for k, v in env.items()] + ["exec", sys.executable, "-m", "workbench",
                                                              str(script)])
    subprocess.run([TMUX, "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "app", "-x", "120",
                    "-y", "40", command], check=True)
    runner = None
    try:
        runner = _runner_pid(pidfile)
        if how == "kill-window":   # the pane's processes get SIGHUP
            subprocess.run([TMUX, "-L", socket, "kill-window", "-t", "app"], check=True)
        else:
            app = subprocess.run([TMUX, "-L", socket, "list-panes", "-t", "app", "-F", "#{pane_pid}"],
                                 capture_output=True, text=True, check=True).stdout
            os.kill(int(app), signal.SIGTERM)
        assert _gone(runner), f"the app's runner outlived {how}"
    finally:
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True)
        if runner is not None:
            _kill_if_alive(runner)


# -- the script's time limit --------------------------------------------------------------------

def test_a_script_that_loops_before_launching_is_stopped_at_its_line(tmp_path):
    proc = run_cli("run", str(SLEEPS), "--workspace", str(tmp_path), "--script-timeout", "1")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("running ")]
    assert lines == [f"{SLEEPS}:9: error: the script ran past the 1 s limit before launching its kernels "
                     "(--script-timeout): stopped"]


def test_the_runner_stops_a_script_at_its_limit_and_stays_up(tmp_path):
    with RunnerClient() as client:
        pid = client.call("hello", timeout=120)["pid"]
        with pytest.raises(RunnerError) as err:
            client.call("open", script=str(SLEEPS), workspace=str(tmp_path), script_timeout=0.5,
                        limit_name="script_timeout in the config")
        assert not isinstance(err.value, RunnerCrashed)
        assert err.value.lines() == [f"{SLEEPS}:9: error: the script ran past the 0.5 s limit before launching "
                                     "its kernels (script_timeout in the config): stopped"]
        assert client.call("hello")["pid"] == pid and client.restarts == []


def test_a_script_past_its_limit_after_its_launches_keeps_them(tmp_path):
    script = tmp_path / "then_loops.py"
    text = (EXAMPLES / "vector_add.py").read_text().replace('if __name__ == "__main__":\n    main()\n', "")
    script.write_text(text + "add(torch.ones(16, device=DEVICE), torch.ones(16, device=DEVICE))\n"
                      "import time\nwhile True: time.sleep(0.05)\n")
    capture = run_script(script, time_limit=1)
    assert [s.kernel for s in capture.specs] == ["add_kernel"] and len(capture.launches) == 1
    assert str(capture.error) == (f"{script}:{script.read_text().count(chr(10))}: warning: the script ran past "
                                  "the 1 s limit after its launches (--script-timeout): stopped")


def test_the_app_config_has_the_script_time_limit(tmp_path, monkeypatch):
    from workbench.tui.config import load_config
    config = tmp_path / "config.toml"
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    assert load_config().script_timeout == 300
    config.write_text("script_timeout = 30\n")
    assert load_config().script_timeout == 30 and load_config().problems == []
    config.write_text('script_timeout = "soon"\n')
    assert load_config().script_timeout == 300
    assert load_config().problems == [f"{config}:1: script_timeout must be a whole number of seconds, not 'soon'; "
                                      "using 300"]


def test_a_script_stuck_in_c_code_is_stopped_by_the_client_at_its_line(tmp_path):
    """The runner cannot interrupt C code holding the GIL; the client kills it past the limit
    and still says which line the script was on (the runner's faulthandler dump)."""
    with RunnerClient() as client:
        with pytest.raises(RunnerCrashed) as err:
            client.call("open", script=str(STUCK), workspace=str(tmp_path), script_timeout=1)
        assert err.value.lines() == [f"{STUCK}:11: error: the script ran past the 1 s limit (--script-timeout) "
                                     "in code that cannot be interrupted: the runner was stopped and restarted"]
        assert len(client.restarts) == 1
        assert client.call("hello", timeout=120)["protocol"] == 1   # a fresh runner, no script re-opened


@pytest.mark.parametrize("command", ["dump", "compile"])
def test_workbench_dump_and_compile_have_the_script_time_limit(tmp_path, command):
    """They run the script in a runner of their own, which stops it at its limit."""
    script = tmp_path / "sleeps_before.py"
    shutil.copy(SLEEPS, script)
    proc = run_cli(command, str(script), "--script-timeout", "1")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == (f"{script}:9: error: the script ran past the 1 s limit before "
                                           "launching its kernels (--script-timeout): stopped")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_a_sweeps_compile_workers_go_with_a_runner_killed_mid_sweep(tmp_path):
    """kill -9 gives the runner no chance to shut its compile pool down: the workers see their
    parent gone and exit, instead of waiting for work forever."""
    shutil.copy(EXAMPLES / "matmul.py", tmp_path / "matmul.py")
    with RunnerClient() as client:
        client.call("open", script=str(tmp_path / "matmul.py"), workspace=str(tmp_path / "ws"), with_sass=False,
                    timeout=300)
        configs = [{"BLOCK_M": m, "num_warps": w} for m in (32, 64) for w in (1, 2)]
        ahead = client.call("prefetch_configs", kernel="matmul_kernel", configs=configs,
                            grid="cdiv(M, BLOCK_M) * cdiv(N, BLOCK_N)", timeout=300)
        assert ahead["prefetching"] == 4
        workers = _children(client.pid)
        assert workers, "no compile worker was started"
        os.kill(client.pid, signal.SIGKILL)
        assert all(_gone(w) for w in workers), [w for w in workers if _alive(w)]


def test_an_interrupted_call_is_said_in_words_and_the_runner_stays_up(tmp_path):
    """Issue 26.16: a Ctrl-C that reached the runner mid-call was said as 'KeyboardInterrupt: '."""
    with RunnerClient() as client:
        pid = client.call("hello", timeout=120)["pid"]
        threading.Timer(2.0, os.kill, (client.pid, signal.SIGINT)).start()
        with pytest.raises(RunnerError) as err:
            client.call("open", script=str(SLEEPS), workspace=str(tmp_path), script_timeout=60)
        assert not isinstance(err.value, RunnerCrashed)
        (line,) = err.value.lines()
        assert line == f"{SLEEPS}: error: interrupted (Ctrl-C, SIGINT) while opening the script: nothing of this " \
                       "call was kept; run it again"
        assert client.call("hello")["pid"] == pid


# -- a script stuck in native code in a CLI command's runner --------------------------------------

@pytest.mark.parametrize("command", ["compile", "dump"])
def test_the_script_time_limit_stops_a_script_stuck_in_c_code_in_the_clis_process(tmp_path, command):
    """compile and dump run the script in their runner: SIGALRM cannot get into the C call, the
    client stops the runner and says where the script was, in the same line as ever."""
    script = tmp_path / "stuck_in_c.py"
    shutil.copy(STUCK, script)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "workbench", command, str(script), "--script-timeout", "1"],
                          capture_output=True, text=True, env=_env(tmp_path / "pid"), timeout=60)
    assert time.monotonic() - t0 < 30 and proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == (f"{script}:11: error: the script ran past the 1 s limit "
                                                    "(--script-timeout) in code that cannot be interrupted: stopped")


def test_sigterm_stops_the_cli_with_its_script_stuck_in_c_code(tmp_path):
    """The script runs in the command's runner; interrupted, the runner does not answer (a matmul
    goes on to its end; stuck_in_c.py's libc sleep would return on the signal), so the command
    says where it was stuck and the runner goes with it."""
    script = tmp_path / "stuck_in_matmul.py"
    shutil.copy(DATA / "stuck_in_matmul.py", script)
    pidfile = tmp_path / "pid"
    front = subprocess.Popen([sys.executable, "-m", "workbench", "compile", str(script)], env=_env(pidfile),
                             stderr=subprocess.PIPE, text=True)
    try:
        runner = _runner_pid(pidfile, front)
        assert runner != front.pid   # the script runs in the command's runner, not in its own process
        time.sleep(0.3)
        front.send_signal(signal.SIGTERM)
        front.wait(30)
        assert front.stderr.read().strip().splitlines()[-1] == (
            f"workbench: stopped by SIGTERM in code that cannot be interrupted ({script}:13)")
        assert _gone(runner)
    finally:
        _kill_if_alive(front.pid)

"""The runner process through its client: open a script, replay and verify any version, and
survive faults (a kernel past its time limit, the runner killed, scripts that raise, inputs
over the snapshot limit, metadata that disagrees with the binary). On the CPU, Python-level
kernels run in Triton's interpreter; the GPU tests at the end run the same flows on a card."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import torch

from helpers import EXAMPLES, ROOT, run_cli
from workbench.runner.client import RunnerClient
from workbench.runner.protocol import RunnerCrashed, RunnerError

GPU = torch.cuda.is_available()


@pytest.fixture
def vector_add(tmp_path):
    """vector_add.py opened in a runner, with its workspace in tmp_path."""
    script = tmp_path / "vector_add.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", script)
    client = RunnerClient(kernel_timeout=6).start()
    opened = client.call("open", script=str(script), with_sass=False)
    yield client, opened, tmp_path / ".workbench" / "vector_add"
    client.close()


def _edit_python(opened, old: str, new: str):
    """Write an edited copy of the kernel's Python file into edit/ and return its path."""
    from pathlib import Path
    entry = opened["kernels"][0]
    path = Path(entry["edit"]) / "add_kernel.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


def test_open_replays_and_verifies_the_original(vector_add):
    client, opened, workspace = vector_add
    assert opened["mode"] == ("gpu" if GPU else "interpret")
    entry = opened["kernels"][0]
    assert entry["spec"]["kernel"] == "add_kernel"
    assert entry["pure_outputs"] == ["out_ptr"]  # written in full without being read: poisoned each run
    folder = workspace / f"add_kernel-{entry['spec']['spec_id']}"
    assert entry["edit"] == str(folder / "edit")
    for level in ("ttir", "ttgir", "llir", "ptx", "cubin", "json", "py"):
        assert (folder / "edit" / f"add_kernel.{level}").is_file()
    result = client.call("run", kernel="add_kernel")
    assert result["status"] == "ok"
    assert {o["name"]: o["ok"] for o in result["outputs"]} == {"x_ptr": True, "y_ptr": True, "out_ptr": True}


def test_a_python_edit_is_a_version_whose_wrong_output_is_located(vector_add):
    client, opened, workspace = vector_add
    path = _edit_python(opened, "x + y, mask=mask", "x - y, mask=mask")
    result = client.call("apply", kernel="add_kernel", path=str(path))
    assert result["version"] == "1" and result["level"] == "python" and result["status"] == "mismatch"
    out = next(o for o in result["outputs"] if o["name"] == "out_ptr")
    assert out["first_mismatch"] == [0] and out["mismatches"] > 90_000 and out["unwritten"] == 0
    saved = json.loads((workspace / f"add_kernel-{result['spec_id']}" / "versions" / "001" / "result.json")
                       .read_text())
    assert saved["status"] == "mismatch"
    assert client.call("versions", kernel="add_kernel")[0]["level"] == "python"
    # restoring the original puts its file back into edit/
    client.call("restore", kernel="add_kernel", version="original")
    assert "x + y, mask=mask" in path.read_text()


def test_a_request_sent_from_an_event_loop_is_answered_once_from_the_reader_thread(vector_add):
    """The app sends a request from its event loop (``send_now``: nothing waits on a thread) and
    gets the answer once, from the client's reader thread (``on_answer``); a thread waiting on the
    same request (the CLI's ``call``) gets the same answer, and nothing is handed on twice."""
    import threading
    client, opened, _ = vector_add
    path = _edit_python(opened, "x + y, mask=mask", "x - y, mask=mask")
    answered = threading.Event()
    seen = []

    def on_answer(pending):
        seen.append((threading.current_thread().name, pending.response["result"]["version"]))
        answered.set()

    sent = client.send_now("apply", on_answer=on_answer, kernel="add_kernel", path=str(path))
    assert sent is not None
    assert answered.wait(120)
    result = client.result_of(sent)
    assert result["version"] == "1" and result["status"] == "mismatch"
    assert sent.received > 0 and client.pending_count() == 0
    assert client.call("versions", kernel="add_kernel")[0]["number"] == 1
    assert seen == [("runner-stdout", "1")]   # once, though the waiting thread took it too
    client.close()
    assert client.send_now("versions", kernel="add_kernel") is None   # no runner: the caller uses submit


def test_a_save_with_timing_is_one_request_whose_verdict_comes_first(vector_add):
    """The app's save is one ``apply`` carrying the bench options: its verdict comes as a progress
    event while the version is timed (on the CPU the timing is refused after it), one launch."""
    client, opened, workspace = vector_add
    path = _edit_python(opened, "x + y, mask=mask", "x - y, mask=mask")
    events: list[dict] = []
    bench = {"warmup_ms": 1.0, "rep_ms": 5.0, "graph": False}
    if GPU:
        result = client.call("apply", kernel="add_kernel", path=str(path), bench=bench, on_event=events.append)
        assert result["timing"]["stats"]["median"] > 0 and result["vs_original"]["ratio"] > 0
    else:
        with pytest.raises(RunnerError, match="no timings: without a GPU"):
            client.call("apply", kernel="add_kernel", path=str(path), bench=bench, on_event=events.append)
    whats = [e["what"] for e in events]
    assert whats.count("launch") == 1 and whats.count("verdict") == 1, whats
    verdict = next(e for e in events if e["what"] == "verdict")
    assert set(verdict) == {"id", "event", "what", "info"}   # the protocol's progress event
    assert verdict["info"]["version"] == "1" and verdict["info"]["status"] == "mismatch"
    assert verdict["info"]["versions"][0]["number"] == 1 and verdict["info"]["timing"] is None
    # then its levels made after it (the SASS, the map), then the version's and the original's timing
    assert whats[whats.index("verdict") + 1:] == (["levels", "bench", "bench"] if GPU else ["levels"])
    saved = json.loads((workspace / f"add_kernel-{verdict['info']['spec_id']}" / "versions" / "001" / "result.json")
                       .read_text())
    assert saved["status"] == "mismatch" and (saved.get("timing") is not None) == GPU


def test_elements_a_kernel_never_writes_are_caught(vector_add):
    """The output is poisoned before each run: a kernel that stops 100 elements short fails,
    even though the memory it left alone held the right answer in the original run."""
    client, opened, _ = vector_add
    path = _edit_python(opened, "mask = offsets < n_elements", "mask = offsets < n_elements - 100")
    result = client.call("apply", kernel="add_kernel", path=str(path))
    out = next(o for o in result["outputs"] if o["name"] == "out_ptr")
    assert result["status"] == "mismatch"
    assert out["unwritten"] == 100 and out["mismatches"] == 100
    assert out["first_mismatch"] == [98432 - 100]
    assert "100 never written" in out["sentence"]


def test_a_syntax_error_in_an_edit_is_reported_at_its_line(vector_add):
    client, opened, _ = vector_add
    path = _edit_python(opened, "pid = tl.program_id(axis=0)", "pid = tl.program_id(axis=0")
    with pytest.raises(RunnerError) as err:
        client.call("apply", kernel="add_kernel", path=str(path))
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "tl.program_id(axis=0" in t)
    assert re.search(rf"add_kernel\.py:{line}(:\d+)?: error: SyntaxError", err.value.lines()[0])
    assert client.call("run", kernel="add_kernel")["status"] == "ok"  # the runner is still up


HANG = ("    pid = tl.program_id(axis=0)\n",
        "    pid = tl.program_id(axis=0)\n"
        "    flag = tl.load(x_ptr, volatile=True)\n"
        "    while flag < 2.0:\n"
        "        flag = tl.load(x_ptr, volatile=True)\n")


def test_a_kernel_that_never_ends_is_stopped_and_the_runner_comes_back(vector_add):
    client, opened, _ = vector_add
    client.kernel_timeout = 4
    path = _edit_python(opened, *HANG)
    with pytest.raises(RunnerCrashed) as err:
        client.call("apply", kernel="add_kernel", path=str(path))
    assert re.fullmatch(r"add_kernel, version 1 \(from Python\) ran past the 4 s limit: the runner was stopped "
                        r"and restarted", err.value.reason)
    assert client.call("run", kernel="add_kernel")["status"] == "ok"  # re-opened by itself
    assert len(client.restarts) == 1


def test_a_runner_killed_by_a_signal_comes_back(vector_add):
    client, _, _ = vector_add
    pid = client.pid
    with pytest.raises(RunnerCrashed, match="killed by SIGKILL"):
        client.call("crash", signal=9)
    assert client.call("run", kernel="add_kernel")["status"] == "ok"
    assert client.pid != pid


def test_a_script_that_raises_before_launching_is_an_error_at_its_line(tmp_path):
    with RunnerClient() as client:
        with pytest.raises(RunnerError) as err:
            client.call("open", script=str(ROOT / "tests" / "data" / "raises_before.py"), workspace=str(tmp_path))
        assert re.match(r".*raises_before\.py:5: error: the script raised KeyError before launching any kernel",
                        err.value.lines()[0])
        assert client.call("hello")["protocol"] == 1


def test_a_script_that_raises_after_its_launch_still_replays(tmp_path):
    with RunnerClient() as client:
        opened = client.call("open", script=str(ROOT / "tests" / "data" / "raises_after.py"),
                             workspace=str(tmp_path))
        assert opened["script_error"]["line"] == 24
        assert "AssertionError after its launches" in opened["script_error"]["message"]
        assert client.call("run", kernel="double_kernel")["status"] == "ok"


def test_inputs_over_the_snapshot_limit_are_named_and_not_replayed(tmp_path):
    with RunnerClient() as client:
        opened = client.call("open", script=str(EXAMPLES / "vector_add.py"), workspace=str(tmp_path),
                             snapshot_limit=100_000, with_sass=False)
        assert any(re.match(r"inputs of add_kernel were not kept: \d+ MiB over the snapshot limit", n)
                   for n in opened["notes"])
        result = client.call("run", kernel="add_kernel")
        assert result["status"] == "compiled-only" and "snapshot limit" in result["message"]


def test_metadata_that_disagrees_with_the_binary_is_refused(tmp_path):
    """num_warps against the cubin's block size; shared memory below what the kernel uses."""
    script = tmp_path / "matmul.py"
    shutil.copyfile(EXAMPLES / "matmul.py", script)
    with RunnerClient() as client:
        opened = client.call("open", script=str(script), with_sass=False)
        edit = __import__("pathlib").Path(opened["kernels"][0]["edit"])
        meta = json.loads((edit / "matmul_kernel.json").read_text())
        assert meta["num_warps"] == 8 and meta["shared"] > 0
        (edit / "matmul_kernel.json").write_text(json.dumps(dict(meta, num_warps=4)))
        with pytest.raises(RunnerError, match=r"compiled for 256 threads per block \(.reqntid, 8 warps\), but the "
                                              r"metadata says num_warps 4"):
            client.call("apply", kernel="matmul_kernel", path=str(edit / "matmul_kernel.cubin"))
        (edit / "matmul_kernel.json").write_text(json.dumps(dict(meta, shared=1024)))
        with pytest.raises(RunnerError, match=rf"gives 1024 bytes of shared memory, but this kernel was compiled to "
                                              rf"use {meta['shared']}"):
            client.call("apply", kernel="matmul_kernel", path=str(edit / "matmul_kernel.ptx"))
        (edit / "matmul_kernel.json").write_text(json.dumps(meta))
        result = client.call("apply", kernel="matmul_kernel", path=str(edit / "matmul_kernel.ptx"))
        assert result["status"] == ("ok" if GPU else "compiled-only")


def test_workbench_run_verifies_vector_add(tmp_path):
    """`workbench run` without a GPU: the interpreter replays the Python level and verifies."""
    proc = run_cli("run", str(EXAMPLES / "vector_add.py"), "--workspace", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    run = out["runs"][0]
    assert run["kernel"] == "add_kernel" and run["status"] == "ok"
    assert [o["name"] for o in run["outputs"]] == ["x_ptr", "y_ptr", "out_ptr"]


def test_workbench_run_from_an_edited_level(tmp_path):
    script = tmp_path / "vector_add.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", script)
    edited = tmp_path / "add_kernel.py"
    edited.write_text(script.read_text().replace("x + y, mask=mask", "x * y, mask=mask"))
    proc = run_cli("run", str(script), "--from", str(edited))
    assert proc.returncode == 1, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert rows[1][:5] == ["kernel", "spec", "version", "from", "verify"]
    spec = rows[2][1]
    assert rows[2][:5] == ["add_kernel", spec, "original", "python", "ok"]
    assert rows[3][:5] == ["add_kernel", spec, "1", "python", "FAIL"]
    assert "out_ptr: FAIL: " in proc.stdout
    # --from never writes edit/: its TTGIR is still the original's (x + y), not version 1's
    folder = tmp_path / ".workbench" / "vector_add" / f"add_kernel-{spec}"
    ttgir = folder / "edit" / "add_kernel.ttgir"
    assert ttgir.read_bytes() == (folder / "original" / "add_kernel.ttgir").read_bytes()
    # the TTGIR edited to compute x * y: on a GPU it fails as the Python edit did
    text = ttgir.read_text()
    assert text.count("arith.addf") == 1
    ttgir.write_text(text.replace("arith.addf", "arith.mulf"))
    proc = run_cli("run", str(script), "--from", str(ttgir))
    assert proc.returncode == (1 if GPU else 0), proc.stderr
    assert proc.stdout.splitlines()[3].split()[2:5] == ["2", "ttgir", "FAIL" if GPU else "compiled"]
    assert ("out_ptr: FAIL: " in proc.stdout) == GPU
    assert ttgir.read_text() == text.replace("arith.addf", "arith.mulf")  # and edit/ is as the user left it


# -- on the GPU --------------------------------------------------------------------------------

OOB = ("    tl.store(out_ptr + offsets, x + y, mask=mask)",
       "    tl.store(out_ptr + offsets + (1 << 40), x + y, mask=mask)")


@pytest.mark.gpu
def test_an_out_of_bounds_kernel_is_named_and_the_runner_comes_back(vector_add):
    client, opened, _ = vector_add
    path = _edit_python(opened, *OOB)
    with pytest.raises(RunnerCrashed) as err:
        client.call("apply", kernel="add_kernel", path=str(path))
    assert re.match(r"illegal (memory access|address) in add_kernel, version 1, started from Python",
                    err.value.reason), err.value.reason
    assert client.call("run", kernel="add_kernel")["status"] == "ok"


@pytest.mark.gpu
def test_a_hung_gpu_kernel_is_stopped(vector_add):
    client, opened, _ = vector_add
    client.kernel_timeout = 5
    path = _edit_python(opened, *HANG)
    with pytest.raises(RunnerCrashed, match="ran past the 5 s limit"):
        client.call("apply", kernel="add_kernel", path=str(path))
    assert client.call("run", kernel="add_kernel")["status"] == "ok"


@pytest.mark.gpu
@pytest.mark.parametrize("example", ["vector_add", "softmax", "matmul", "matmul_tma", "layernorm", "flash_attention",
                                     "gluon_vector_add", "autotuned_add"])
def test_every_example_replays_and_verifies_with_timing(example, tmp_path):
    with RunnerClient() as client:
        opened = client.call("open", script=str(EXAMPLES / f"{example}.py"), workspace=str(tmp_path),
                             with_sass=False)
        replayed = 0
        for k in opened["kernels"]:
            result = client.call("run", kernel=k["spec"]["spec_id"], bench={"rep_ms": 20, "warmup_ms": 5})
            assert k["snapshot"], k["spec"]  # every autotune config replays on the chosen one's inputs
            replayed += 1
            assert result["status"] == "ok", (example, result)
            stats = result["timing"]["stats"]
            assert 0 < stats["min"] <= stats["median"] <= stats["max"] and result["timing"]["gbps"] > 0
        assert replayed >= 1


def test_a_saved_version_runs_again_after_a_restart_without_becoming_a_new_one(vector_add):
    """A fresh runner knows versions only from the workspace: running one compiles its saved
    level again, and the version list stays as it was."""
    client, opened, _ = vector_add
    path = _edit_python(opened, "x + y, mask=mask", "x - y, mask=mask")
    assert client.call("apply", kernel="add_kernel", path=str(path))["version"] == "1"
    with pytest.raises(RunnerCrashed):
        client.call("crash", signal=9)
    result = client.call("run", kernel="add_kernel", version="1")
    assert result["version"] == "1" and result["level"] == "python" and result["status"] == "mismatch"
    assert [v["number"] for v in client.call("versions", kernel="add_kernel")] == [1]


def test_a_saved_ptx_has_its_verdict_before_its_sass_and_then_its_own_sass(tmp_path):
    """The app's save asks for its verdict first: nvdisasm (hundreds of ms) is no part of it. The
    verdict comes while edit/ holds no SASS (never the previous version's), then a ``levels`` event
    says the version's SASS is written, and it is the disassembly of that version's cubin."""
    from pathlib import Path
    from workbench.compiler import compat
    from workbench.compiler.sass import disassemble
    script = tmp_path / "matmul.py"
    shutil.copyfile(EXAMPLES / "matmul.py", script)
    with RunnerClient() as client:
        opened = client.call("open", script=str(script), mode="compile-only", target="cuda:90", with_sass=True)
        edit = Path(opened["kernels"][0]["edit"])
        ptx, sass = edit / "matmul_kernel.ptx", edit / "matmul_kernel.sass"
        before = sass.read_text()
        head, sep, rest = ptx.read_text().partition("\n{\n")   # the kernel's body
        ptx.write_text(f"{head}{sep}\tmembar.cta;\n{rest}")   # another binary, another SASS
        events, at_verdict = [], []

        def on_event(msg):
            events.append(msg)
            if msg["what"] == "verdict":
                at_verdict.append(sass.read_text() if sass.exists() else None)

        answer = client.call("apply", kernel="matmul_kernel", path=str(ptx), verdict_first=True, on_event=on_event)
    whats = [e["what"] for e in events]
    assert whats.index("verdict") < whats.index("levels"), whats
    verdict = next(e["info"] for e in events if e["what"] == "verdict")
    levels = next(e["info"] for e in events if e["what"] == "levels")
    assert verdict["version"] == levels["version"] == answer["version"] == "1"
    assert verdict["status"] == "compiled-only" and verdict["srcmap"] is None
    assert "sass" not in verdict["compile"]["stage_ms"]   # not disassembled before the verdict
    folder = Path(answer["version_folder"])
    new = disassemble((folder / "matmul_kernel.cubin").read_bytes(), compat.nvidia_tool("nvdisasm")).text
    assert new != before and "MEMBAR" in new and "MEMBAR" not in before
    assert at_verdict[0] in (None, new)   # absent, or already this version's: never the previous one
    assert levels["levels"] == ["sass"] and sass.read_text() == new == (folder / "matmul_kernel.sass").read_text()
    assert "sass" in levels["srcmap"] and levels["srcmap"] == answer["srcmap"]
    assert "sass" in answer["compile"]["stage_ms"]

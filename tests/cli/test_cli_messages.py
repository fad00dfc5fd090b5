"""What the user reads when a script or an argument is wrong: one line `FILE:LINE: error: ...`,
exit status 2, never a traceback, never `None`. Real scripts through the real CLI and runner."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from helpers import EXAMPLES, run_cli
from workbench.runtime.capture.script import run_script
from workbench.runner.client import RunnerClient
from workbench.model.results import KernelEntry
from workbench.tui.format import kernel_facts

BROKEN_KERNEL = textwrap.dedent('''\
    import torch
    import triton
    import triton.language as tl


    @triton.jit
    def broken_kernel(x_ptr, BLOCK: tl.constexpr):
        offs = tl.arange(0, BLOCK)
        x = tl.load(x_ptr + offs)
        tl.store(x_ptr + offs, x + undefined_name)


    broken_kernel[(1,)](torch.zeros(128), BLOCK=128)
    ''')


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith(("running ", "note: "))]


def test_an_original_that_does_not_compile_is_one_line_in_run_and_in_the_app(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text(BROKEN_KERNEL)
    proc = run_cli("run", str(script), "--workspace", str(tmp_path / "ws"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "None" not in proc.stderr
    assert f"{script}:10:32: error: NameError('undefined_name is not defined')" in _errors(proc.stderr)
    with RunnerClient() as client:   # the app reads the same entry
        opened = client.call("open", script=str(script), workspace=str(tmp_path / "ws"), with_sass=False)
    (entry,) = opened["kernels"]
    assert kernel_facts(KernelEntry.parse(entry)) == f"compile failed: {script}:10:32: error: NameError('undefined_name is not defined')"


def test_a_latin1_script_compiles_and_runs(tmp_path):
    """PEP 263: plain python runs a `coding: latin-1` script; so must the workbench."""
    script = tmp_path / "latin1.py"
    text = "# -*- coding: latin-1 -*-\n# caf\xe9 au lait\n" + (EXAMPLES / "vector_add.py").read_text()
    script.write_bytes(text.encode("latin-1"))
    proc = run_cli("compile", str(script), "--no-sass", "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "out").glob("add_kernel-*/add_kernel.ttgir"))) == 1
    # the workspace's copy is UTF-8 and says so: an edit of it loads with its accents intact
    from workbench.session.session import Session
    session = Session(script, mode="interpret", workspace=tmp_path / "ws", with_sass=False)
    opened = session.open()
    edit = Path(opened["kernels"][0]["edit"]) / "add_kernel.py"
    text = edit.read_text(encoding="utf-8")
    assert text.startswith("# -*- coding: utf-8 -*-\n# caf\xe9 au lait\n")
    edit.write_text(text.replace("x + y, mask=mask", "x - y, mask=mask").replace("caf\xe9", "th\xe9"),
                    encoding="utf-8")
    _, version = session.compile("add_kernel", edit)
    assert session.run("add_kernel", version.label).status == "mismatch"
    assert "th\xe9" in version.result.levels["python"]
    session.close()


def test_sys_exit_is_reported_at_its_line_never_none(tmp_path):
    after = tmp_path / "exit3.py"
    after.write_text((EXAMPLES / "vector_add.py").read_text() + "import sys\nsys.exit(3)\n")
    line = after.read_text().count("\n")
    proc = run_cli("run", str(after), "--workspace", str(tmp_path / "ws"))
    assert "None" not in proc.stderr
    assert _errors(proc.stderr) == [f"{after}:{line}: error: the script exited with status 3"]
    assert proc.returncode == 2 and "add_kernel" in proc.stdout   # its launch still replays
    before = tmp_path / "exits_early.py"   # the capture the runner makes, in this process
    before.write_text("import sys\n\nsys.exit(3)\n")
    assert str(run_script(before).error) == f"{before}:3: error: the script exited with status 3"
    before.write_text("raise SystemExit('no input file')\n")
    assert str(run_script(before).error) == f"{before}:1: error: the script exited with status 1: no input file"


def test_a_syntax_error_in_the_script_is_at_the_scripts_line(tmp_path):
    """The capture both `run` and the app get from the runner (not `<frozen runpy>:259`)."""
    script = tmp_path / "syn.py"
    script.write_text("import torch\n\nx = (1,\n")
    assert str(run_script(script).error) == (f"{script}:3:5: error: the script raised SyntaxError before "
                                             "launching any kernel: '(' was never closed")


def test_run_from_a_missing_or_wrong_file_says_so_before_running_the_script(tmp_path):
    script = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", script)
    script.write_text("open(__file__ + '.ran', 'w').close()\n" + script.read_text())
    proc = run_cli("run", str(script), "--from", str(tmp_path / "missing.ttgir"))
    assert (proc.returncode, proc.stderr.splitlines()) == (2, [f"{tmp_path / 'missing.ttgir'}: error: no such file"])
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    proc = run_cli("run", str(script), "--from", str(notes))
    assert (proc.returncode, proc.stderr.splitlines()) == (2, [
        f"{notes}: error: not a level file (expected one of .py, .ttir, .ttgir, .llir, .ptx, .cubin, .amdgcn, .hsaco, .mlir)"])
    assert not (tmp_path / "vector_add.py.ran").exists()   # the script never ran

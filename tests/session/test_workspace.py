"""The workspace on disk: names made from kernels and scripts stay inside it, a version is
written whole or not at all (a failed write, a writer killed at any moment, two writers at
once), and a corrupt record is skipped with a note."""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import threading

import pytest

from helpers import ROOT, run_cli
from workbench.runtime.capture.model import KernelSpec
from workbench.model.diagnostics import WorkbenchError
from workbench.compiler.files import atomic_write, safe_name
from workbench.session.workspace import Workspace

# -- names ---------------------------------------------------------------------------------------

NAMES = ["../../outside", "a/b", "a\\b", "..", ".", "", ".hidden", "con", "NUL.txt", "a\x00b", "tab\there", "x" * 300,
         "vecé", "名前", "trailing. "]


@pytest.mark.parametrize("name", NAMES)
def test_a_name_becomes_one_safe_path_component(name, tmp_path):
    safe = safe_name(name)
    assert safe and "/" not in safe and "\\" not in safe and not safe.startswith(".")
    assert all(c.isprintable() for c in safe) and len(safe.encode()) <= 120
    assert safe.split(".")[0].upper() not in ("CON", "NUL") and not safe.endswith((".", " "))
    assert safe_name(safe) == safe  # made safe once, a name stays as it is
    assert (tmp_path / safe).resolve().parent == tmp_path.resolve()
    (tmp_path / f"{safe}.ttgir").write_text("x")  # a real file name, suffix included


def test_readable_names_stay_readable_and_long_ones_stay_apart():
    assert [safe_name(n) for n in ("add_kernel", "vecé", "名前", "_attn_fwd")] == ["add_kernel", "vecé", "名前",
                                                                                   "_attn_fwd"]
    assert safe_name("a/b") == "a_b" and safe_name("..") == "__" and safe_name("con") == "_con"
    assert safe_name("x" * 300 + "1") != safe_name("x" * 300 + "2")


@pytest.mark.parametrize("name", NAMES)
def test_every_workspace_path_of_a_kernel_stays_inside_it(name, tmp_path):
    spec = KernelSpec(spec_id="ab12cd34", kernel=name, qualname=name, file=None, line=None, language="triton",
                      signature={}, constexprs={}, attrs={}, options={})
    ws = Workspace(tmp_path / "ws")
    root = ws.root.resolve()
    for folder in (ws.kernel_dir(spec.folder_name), ws.original(spec.folder_name), ws.edit(spec.folder_name),
                   ws.versions_dir(spec.folder_name), ws.edit_file(spec.folder_name, spec.stem, "ttgir")):
        assert root in folder.resolve().parents
    assert ws.kernel_dir(spec.folder_name).name.endswith("-ab12cd34")  # the spec id survives a long name


def test_a_script_stem_is_made_safe(tmp_path):
    assert Workspace.beside(tmp_path / ".hidden.py").root == tmp_path.resolve() / ".workbench" / "_hidden"
    assert Workspace.beside(tmp_path / "vecé.py").root.name == "vecé"


ESCAPING = '''
import torch, triton, triton.language as tl

def add_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) + 1.0, mask=mask)

add_kernel.__name__ = "../../outside"
add_kernel = triton.jit(add_kernel)
x = torch.arange(64, dtype=torch.float32)
out = torch.empty_like(x)
add_kernel[(1,)](x, out, 64, BLOCK=64)
'''


def _files(folder):
    return {p for p in folder.rglob("*") if p.is_file()}


def test_a_kernel_named_to_escape_writes_only_inside_the_workspace(tmp_path):
    """`__name__ = "../../outside"` once made `workbench compile` write beside and above the script."""
    home = tmp_path / "a" / "b"
    home.mkdir(parents=True)
    script = home / "esc.py"
    script.write_text(ESCAPING)
    proc = run_cli("compile", str(script), "--no-sass", "--target", "cuda:90")
    assert proc.returncode == 0, proc.stderr
    workspace = home / ".workbench" / "esc"
    assert _files(tmp_path) - _files(workspace) == {script}
    original = next(workspace.glob("*-*")) / "original"
    assert {p.suffix for p in original.iterdir()} >= {".ttir", ".ttgir", ".ptx", ".cubin", ".json"}
    # the runner's session writes inside too (Triton's interpreter itself cannot run a kernel
    # named so: a KeyError in the script, reported at its line, and the kernel compiled only)
    proc = run_cli("run", str(script), "--json")
    # exit status 2: the script's own error (at its line); its launch still replays
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert json.loads(proc.stdout)["runs"][0]["kernel"] == "../../outside"
    assert json.loads(proc.stdout)["script_error"]["line"] is not None
    assert _files(tmp_path) - _files(workspace) == {script}
    assert (next(workspace.glob("*-*")) / "edit" / f"{safe_name('../../outside')}.py").is_file()


# -- versions ------------------------------------------------------------------------------------

@pytest.fixture
def filled(compiled, tmp_path):
    """A workspace with vector_add's original in it, and a TTGIR edit compiled (its derived levels)."""
    spec, result = compiled("vector_add")
    ws = Workspace(tmp_path / "ws")
    ws.write_original(spec.folder_name, spec.stem, result)
    return ws, spec, result


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_version_is_the_edit_and_what_it_compiled_to_and_regenerates_edit(filled):
    ws, spec, result = filled
    edit = ws.edit(spec.folder_name)
    (edit / "add_kernel.ptx").write_text("stale")
    info = ws.new_version(spec.folder_name, spec.stem, "ttgir", "edited ttgir", result)
    assert info.number == 1 and info.folder.name == "001"
    assert (info.folder / "add_kernel.ttgir").read_text() == "edited ttgir"
    assert (info.folder / "add_kernel.cubin").read_bytes() == result.levels["cubin"]
    assert json.loads((info.folder / "version.json").read_text())["number"] == 1
    assert (edit / "add_kernel.ptx").read_text() == result.levels["ptx"]  # the levels below: regenerated
    # a version kept without touching edit/ (what `workbench run --from` makes)
    before = _snapshot(edit)
    assert ws.new_version(spec.folder_name, spec.stem, "ttgir", "other", result, update_edit=False).number == 2
    assert _snapshot(edit) == before


@pytest.mark.parametrize("break_it", ["folder where an edit file goes", "file where versions/ goes"])
def test_a_failed_version_write_leaves_no_version_and_edit_as_it_was(filled, break_it):
    """Once: versions/021 without version.json, and edit/ half updated."""
    ws, spec, result = filled
    edit, vdir = ws.edit(spec.folder_name), ws.versions_dir(spec.folder_name)
    if break_it.startswith("folder"):
        (edit / "add_kernel.ptx").unlink()
        (edit / "add_kernel.ptx").mkdir()
        culprit = edit / "add_kernel.ptx"
    else:
        vdir.write_text("not a folder")
        culprit = vdir
    before = _snapshot(ws.root)
    with pytest.raises(WorkbenchError) as err:
        ws.new_version(spec.folder_name, spec.stem, "ttgir", "edited ttgir", result)
    [d] = err.value.diagnostics
    assert d.file == str(culprit) and "\n" not in str(err.value)
    assert d.message.startswith("could not write: ") and len(d.message) > len("could not write: ")
    assert _snapshot(ws.root) == before  # nothing new anywhere: no version, no temporary file, edit/ unchanged
    assert sorted(p.name for p in edit.iterdir()) == sorted(p.name for p in ws.original(spec.folder_name).iterdir())
    assert ws.versions(spec.folder_name) == []


def test_a_corrupt_record_is_skipped_with_a_note(filled):
    ws, spec, result = filled
    for _ in range(3):
        ws.new_version(spec.folder_name, spec.stem, "ttgir", "t", result, update_edit=False)
    vdir = ws.versions_dir(spec.folder_name)
    (vdir / "001" / "version.json").write_text('{"number": 1, "level": "ttgir"}}')
    (vdir / "002" / "result.json").write_text("}}")
    versions = ws.versions(spec.folder_name)
    assert [(v.number, v.result) for v in versions] == [(2, None), (3, None)]
    assert any(str(vdir / "001" / "version.json") in n and "skipped" in n for n in ws.notes)
    assert any(str(vdir / "002" / "result.json") in n for n in ws.notes)


@pytest.mark.parametrize("text,why", [("[1, 2]", "a JSON object was expected, not list"),
                                      ('{"status": ["ok"]}', "its status is not a string"),
                                      ('{"status": "ok", "compile": {"registers": "many"}}',
                                       "its compile facts are not numbers")])
def test_a_result_of_the_wrong_shape_is_a_version_without_a_result(filled, text, why):
    """Issue 26: ``[1, 2]`` as a version's result.json crashed the app's History."""
    ws, spec, result = filled
    info = ws.new_version(spec.folder_name, spec.stem, "ttgir", "t", result, update_edit=False)
    (info.folder / "result.json").write_text(text)
    assert [(v.number, v.result) for v in ws.versions(spec.folder_name)] == [(1, None)]
    assert ws.notes == [f"{info.folder / 'result.json'}: not a run result ({why}); the version is listed without it"]


def test_a_sanitize_run_is_kept_beside_its_version_and_read_back_damaged_ones_skipped_with_a_note(filled):
    """Issue 29: History's sanitize rows lasted only for the app's session."""
    ws, spec, result = filled
    info = ws.new_version(spec.folder_name, spec.stem, "ttgir", "t", result, update_edit=False)
    run = {"version": "1", "tools": ["memcheck"], "time": "17:20:01", "result": "1 error, 1 new",
           "lines": ["memcheck: reads 16 bytes 128 past the end of x_ptr"]}
    first = ws.keep_sanitize_run(spec.folder_name, run)
    second = ws.keep_sanitize_run(spec.folder_name, dict(run, tools=["racecheck"], result="no errors"))
    clean = ws.keep_sanitize_run(spec.folder_name, dict(run, version="original", result="no errors"))
    assert (first, second) == (info.folder / "sanitize" / "001.json", info.folder / "sanitize" / "002.json")
    assert clean == ws.original(spec.folder_name) / "sanitize" / "001.json"
    assert json.loads(first.read_text()) == run
    assert [(r["version"], r["tools"], r["result"]) for r in ws.sanitize_runs(spec.folder_name)] == [
        ("original", ["memcheck"], "no errors"), ("1", ["memcheck"], "1 error, 1 new"),
        ("1", ["racecheck"], "no errors")]
    assert ws.notes == [] and [v.number for v in ws.versions(spec.folder_name)] == [1]
    # a restore of the version never copies its runs into edit/
    ws.restore(spec.folder_name, 1)
    assert not (ws.edit(spec.folder_name) / "sanitize").exists()
    with pytest.raises(KeyError):
        ws.keep_sanitize_run(spec.folder_name, dict(run, version="7"))
    # damaged records: each left out with one note naming it
    damaged = {"003.json": b"\xff\xfe not utf-8", "004.json": b"{not json",
               "005.json": json.dumps(dict(run, tools="memcheck")).encode(), "006.json": b"[1]"}
    for name, data in damaged.items():
        (info.folder / "sanitize" / name).write_bytes(data)
    assert len(ws.sanitize_runs(spec.folder_name)) == 3
    assert len(ws.notes) == 4 and all("\n" not in n for n in ws.notes)
    for note, name in zip(ws.notes, damaged):
        assert note.startswith(f"{info.folder / 'sanitize' / name}: skipped, not a sanitize run (")
    assert ws.notes[2].endswith("(its tools is not a list)") and ws.notes[3].endswith(
        "(a JSON object was expected, not list)")


def test_two_writers_at_once_never_share_a_version_number(filled):
    ws, spec, result = filled
    writers = [Workspace(ws.root) for _ in range(2)]
    made: list[tuple[str, int]] = []

    def write(who: int):
        for i in range(8):
            text = f"writer {who} edit {i}"
            made.append((text, writers[who].new_version(spec.folder_name, spec.stem, "ttgir", text, result,
                                                        update_edit=False).number))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(n for _, n in made) == list(range(1, 17))
    for text, number in made:
        assert (ws.versions_dir(spec.folder_name) / f"{number:03d}" / "add_kernel.ttgir").read_text() == text


WRITER = '''
import pickle, sys
from workbench.session.workspace import Workspace
result = pickle.load(open(sys.argv[2], "rb"))
ws = Workspace(sys.argv[1])
i = 0
while True:
    i += 1
    ws.new_version(sys.argv[3], "add_kernel", "ttgir", f"edit {i}\\n" * 20000, result)
    if i == 1:
        print("ready", flush=True)  # one version whole: the kill lands in a later one
'''


def test_a_writer_killed_at_any_moment_leaves_no_partial_version(filled, tmp_path):
    """kill -9 a process writing versions in a loop, 20 times at random moments: every version
    that is visible is whole, and every file in edit/ is one whole file (the original's or a
    version's), never half of one."""
    ws, spec, result = filled
    pickled = tmp_path / "result.pickle"
    pickled.write_bytes(pickle.dumps(result))
    vdir, edit = ws.versions_dir(spec.folder_name), ws.edit(spec.folder_name)
    originals = {p.name: data for p, data in _snapshot(ws.original(spec.folder_name)).items()}
    derived = {f"add_kernel{suffix}" for suffix in (".llir", ".ptx", ".cubin", ".sass", ".json")}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rng = random.Random(9)
    for _ in range(20):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(ws.root), str(pickled), spec.folder_name],
                                stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline() == b"ready\n"
        threading.Event().wait(rng.uniform(0, 0.06))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    versions = ws.versions(spec.folder_name)
    assert ws.notes == [] and len(versions) >= 20
    assert sorted(p.name for p in vdir.iterdir() if p.name.isdigit()) == [f"{v.number:03d}" for v in versions]
    for v in versions:
        files = {p.name: p.read_bytes() for p in v.folder.iterdir()}
        number = int(files["add_kernel.ttgir"].split()[1])
        assert files["add_kernel.ttgir"] == f"edit {number}\n".encode() * 20000
        assert files["add_kernel.cubin"] == result.levels["cubin"]
        assert json.loads(files["add_kernel.json"])["name"] == "add_kernel"
    for name in derived:
        assert (edit / name).read_bytes() in (originals[name], (versions[-1].folder / name).read_bytes())
    json.loads((edit / "add_kernel.json").read_text())
    # what the dead writers left half written is removed by the next writer
    ws.new_version(spec.folder_name, spec.stem, "ttgir", "after", result)
    assert all(p.name.isdigit() for p in vdir.iterdir())
    assert not [p for p in edit.iterdir() if p.name.startswith(".")]


def test_a_restore_keeps_a_file_saved_after_it_was_asked_for(filled):
    """Issue 26: a save landing while the restore waited for the runner was overwritten by it.
    ``seen`` is edit/ as the requester saw it: a file saved since is kept (even when the save
    holds bytes this workspace wrote before), one the workspace itself wrote since is restored."""
    from workbench.session.workspace import edit_digest
    ws, spec, result = filled
    edit, original = ws.edit(spec.folder_name), ws.original(spec.folder_name)
    ws.new_version(spec.folder_name, spec.stem, "ttgir", "edited", result)
    py, ttgir, ptx = (edit / f"add_kernel{s}" for s in (".py", ".ttgir", ".ptx"))
    py.write_text("typed")
    seen = {p.name: edit_digest(p.read_bytes()) for p in edit.iterdir()}   # the request
    ws.new_version(spec.folder_name, spec.stem, "ttir", "an apply answered first", result)  # rewrites the PTX
    atomic_write(ttgir, "saved while the restore waited")
    atomic_write(py, (original / py.name).read_bytes())                     # the original's bytes, saved again
    restored = ws.restore(spec.folder_name, "original", seen)
    assert ttgir.read_text() == "saved while the restore waited" and ttgir not in restored
    assert py.read_bytes() == (original / py.name).read_bytes() and py not in restored
    assert ptx.read_bytes() == (original / ptx.name).read_bytes() and ptx in restored
    ws.restore(spec.folder_name, "original")                                 # no ``seen``: everything
    assert _snapshot(edit) == _snapshot(original)


def test_restore_puts_a_version_back_whole(filled):
    ws, spec, result = filled
    edit = ws.edit(spec.folder_name)
    ws.new_version(spec.folder_name, spec.stem, "ttgir", "edited", result)
    (edit / "add_kernel.ttgir").write_text("typed since")
    ws.restore(spec.folder_name, 1)
    assert (edit / "add_kernel.ttgir").read_text() == "edited"
    ws.restore(spec.folder_name, "original")
    assert _snapshot(edit) == _snapshot(ws.original(spec.folder_name))
    shutil.rmtree(edit)
    (edit.parent / "edit").write_text("")
    with pytest.raises(WorkbenchError, match="could not write: "):
        ws.restore(spec.folder_name, "original")

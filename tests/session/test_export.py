"""``workbench export``: a version as a folder whose run.py needs torch and Triton only.

CPU: a Python-level version of vector_add is exported through the real CLI and its run.py runs
in Triton's interpreter, in a plain Python (not the venv) whose path holds torch, Triton and
their dependencies and nothing else (the workbench is not importable there). GPU (the H200): an
exported TTGIR version of the matmul example runs, verifies and times.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, EXAMPLES, has_cuda, run_cli


def _top_level(dist) -> set[str]:
    names = set()
    for f in dist.files or []:
        head = f.parts[0]
        if head.endswith((".dist-info", ".data")) or head == "..":
            continue
        names.add(head)
    return names


def _only_torch_and_triton(tmp: Path) -> Path:
    """A folder holding links to torch, triton and what they need to import, nothing else."""
    folder = tmp / "site"
    folder.mkdir()
    seen: set[str] = set()
    todo = ["torch", "triton", "numpy"]
    while todo:
        name = re.split(r"[ ;<>=!\[~]", todo.pop())[0].lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        todo += [r for r in dist.requires or [] if "extra ==" not in r]
        for top in _top_level(dist):
            src = Path(dist.locate_file(top))
            if src.exists() and not (folder / top).exists():
                (folder / top).symlink_to(src)
        info = Path(getattr(dist, "_path", ""))   # its metadata: Triton finds its backends by entry point
        if info.name.endswith(".dist-info") and not (folder / info.name).exists():
            (folder / info.name).symlink_to(info)
    assert not any(p.name.startswith("workbench") for p in folder.iterdir())
    return folder


def _plain_python(site: Path, *args: str, cwd: Path, interpret: bool = True) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(site),
           "TRITON_CACHE_DIR": str(cwd / ".triton-cache")}
    if interpret:
        env["TRITON_INTERPRET"] = "1"
    return subprocess.run([sys._base_executable, "-s", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600)


def _version(script: Path, old: str, new: str, mode: str = "interpret", level: str = "python") -> str:
    """Save an edited level of the script's first kernel as a version (in-process session)."""
    from workbench.session.session import Session
    session = Session(script, mode=mode, with_sass=False)
    try:
        opened = session.open()
        entry = opened["kernels"][0]
        path = Path(entry["edit"]) / f"{entry['spec']['stem']}{'.py' if level == 'python' else '.' + level}"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
        return str(session.apply(entry["spec"]["spec_id"], path)["version"])
    finally:
        session.close()


@pytest.fixture
def vector_add(tmp_path) -> Path:
    script = tmp_path / "vector_add.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", script)
    return script


def test_a_python_version_exports_and_runs_with_only_torch_and_triton(vector_add, tmp_path):
    version = _version(vector_add, "tl.store(out_ptr + offsets, x + y", "tl.store(out_ptr + offsets, y + x")
    out = tmp_path / "export"
    proc = run_cli("export", str(vector_add), "--kernel", "add_kernel", "--version", version, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"to {out}" in proc.stdout
    files = {p.name for p in out.iterdir()}
    assert {"run.py", "launch.json", "inputs.pt", "outputs.pt", "add_kernel.py", "add_kernel.json",
            "add_kernel.ttgir", "add_kernel.ptx"} <= files
    assert not re.search(r"^\s*(from|import)\s+workbench", (out / "run.py").read_text(), re.MULTILINE)
    site = _only_torch_and_triton(tmp_path)
    probe = _plain_python(site, "-c", "import importlib.util as u; print(u.find_spec('workbench'), "
                                      "u.find_spec('torch') is not None, u.find_spec('triton') is not None)", cwd=out)
    assert probe.stdout.split() == ["None", "True", "True"], probe.stderr
    run = _plain_python(site, "run.py", cwd=out)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"run.py: add_kernel version {version} from python (add_kernel.py), grid (97, 1, 1), interpreter"
    assert "run.py: out_ptr: ok" in lines and lines[-1] == "run.py: verified"
    assert any(re.fullmatch(r"run\.py: [\d.]+ ms wall clock in the interpreter \(not a kernel timing\)", ln)
               for ln in lines)


def test_an_autotuned_kernels_export_launches_the_kernel_under_the_tuner_with_the_chosen_config(tmp_path):
    # run.py takes the JITFunction out of the Autotuner: the tuner would add its config's
    # BLOCK_SIZE to the exported arguments' ("got multiple values for argument 'BLOCK_SIZE'")
    script = tmp_path / "autotuned_add.py"
    shutil.copyfile(EXAMPLES / "autotuned_add.py", script)
    out = tmp_path / "export"
    proc = run_cli("export", str(script), "--kernel", "scale_add_kernel", "--version", "original", "--out", str(out),
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    launch = json.loads((out / "launch.json").read_text())
    run = _plain_python(_only_torch_and_triton(tmp_path), "run.py", cwd=out)
    assert run.returncode == 0, run.stdout + run.stderr
    grid = tuple(launch["grid"])
    assert run.stdout.splitlines()[0] == (f"run.py: scale_add_kernel version original from python "
                                          f"(scale_add_kernel.py), grid {grid}, interpreter")
    assert grid[0] == -(-98432 // launch["constexprs"]["BLOCK_SIZE"])
    assert "run.py: out_ptr: ok" in run.stdout and run.stdout.splitlines()[-1] == "run.py: verified"


def test_a_wrong_version_runs_and_says_its_outputs_differ(vector_add, tmp_path):
    version = _version(vector_add, "tl.store(out_ptr + offsets, x + y", "tl.store(out_ptr + offsets, x - y")
    out = tmp_path / "export"
    assert run_cli("export", str(vector_add), "-k", "add_kernel", "--version", version, "--out",
                   str(out)).returncode == 0
    run = _plain_python(_only_torch_and_triton(tmp_path), "run.py", cwd=out)
    assert run.returncode == 1, run.stdout + run.stderr
    assert any(ln.startswith("run.py: out_ptr: MISMATCH") for ln in run.stdout.splitlines())
    assert run.stdout.splitlines()[-1] == "run.py: outputs differ from the original's"


def test_random_inputs_keep_shapes_and_say_nothing_is_checked(vector_add, tmp_path):
    out = tmp_path / "export"
    proc = run_cli("export", str(vector_add), "-k", "add_kernel", "--version", "original", "--out", str(out),
                   "--inputs", "random")
    assert proc.returncode == 0, proc.stderr
    assert not (out / "inputs.pt").exists() and not (out / "outputs.pt").exists()
    run = _plain_python(_only_torch_and_triton(tmp_path), "run.py", cwd=out)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "run.py: random inputs: the outputs are not checked (the original's outputs were not exported)" \
        in run.stdout.splitlines()


def test_an_ir_version_without_a_gpu_says_run_py_needs_one(vector_add, tmp_path):
    version = _version(vector_add, "ttg.num-warps", "ttg.num-warps", level="ttgir")
    out = tmp_path / "export"
    assert run_cli("export", str(vector_add), "-k", "add_kernel", "--version", version, "--out",
                   str(out)).returncode == 0
    assert (out / "add_kernel.ttgir").is_file() and (out / "add_kernel.cubin").is_file()
    if has_cuda():
        return
    run = _plain_python(_only_torch_and_triton(tmp_path), "run.py", cwd=out, interpret=False)
    assert run.returncode == 2
    assert run.stderr.strip() == (f"{out / 'add_kernel.ttgir'}: error: this version starts from TTGIR: it runs on a "
                                  "GPU (cuda:90); without one only Python-level exports run (in Triton's interpreter)")


def test_bad_requests_are_one_line_errors(vector_add, tmp_path):
    proc = run_cli("export", str(vector_add), "-k", "nope", "--version", "original", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("error: no kernel 'nope' was launched (launched: add_kernel)"), proc.stderr
    proc = run_cli("export", str(vector_add), "-k", "add_kernel", "--version", "7", "--out", str(tmp_path / "y"))
    assert proc.returncode == 2 and "error: no version 7 of add_kernel" in proc.stderr, proc.stderr


def test_export_reads_the_version_from_the_workspace_the_app_holds(vector_add, tmp_path):
    """Issue 27 point 7: with the app holding the workspace, export worked in a scratch copy and
    said `no version 1 of add_kernel`. Reading a version needs no lock: it is read where it is."""
    from workbench.session.session import Session
    holder = Session(vector_add, mode="interpret", with_sass=False)   # as the app's runner holds it
    try:
        entry = holder.open()["kernels"][0]
        path = Path(entry["edit"]) / "add_kernel.py"
        path.write_text(path.read_text().replace("tl.store(out_ptr + offsets, x + y",
                                                 "tl.store(out_ptr + offsets, y + x"))
        version = str(holder.apply(entry["spec"]["spec_id"], path)["version"])
        assert holder.lock.held
        out = tmp_path / "export"
        proc = run_cli("export", str(vector_add), "-k", "add_kernel", "--version", version, "--out", str(out))
        # the first divergence reads it the same way (Session.home)
        diverge = run_cli("dump", str(vector_add), "--diverge", "--version", version)
    finally:
        holder.close()
    assert proc.returncode == 0, proc.stderr
    assert "tl.store(out_ptr + offsets, y + x" in (out / "add_kernel.py").read_text()
    launch = json.loads((out / "launch.json").read_text())
    assert launch["version"] == version and launch["level"] == "python"
    assert diverge.returncode == 0 and f"version {version}: the outputs match the original's" in diverge.stdout, \
        diverge.stdout + diverge.stderr


@pytest.mark.gpu
@pytest.mark.parametrize("level", ["ttgir", "ptx", "python"])
def test_gpu_an_exported_matmul_version_runs_verifies_and_times(tmp_path, level):
    script = tmp_path / "matmul.py"
    shutil.copyfile(EXAMPLES / "matmul.py", script)
    marker = {"python": ("acc = tl.dot(a, b, acc)", "acc = tl.dot(a, b, acc)  # exported"),
              "ttgir": ("ttg.num-warps", "ttg.num-warps"), "ptx": (".version", ".version")}[level]
    version = _version(script, *marker, mode="gpu", level=level)
    out = tmp_path / "export"
    proc = run_cli("export", str(script), "-k", "matmul_kernel", "--version", version, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    run = _plain_python(_only_torch_and_triton(tmp_path), "run.py", cwd=out, interpret=False)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == "run.py: verified" and any(ln.startswith("run.py: c_ptr: ok") for ln in lines)
    assert any(re.fullmatch(r"run\.py: median [\d.]+ us per launch \(triton\.testing\.do_bench\)", ln) for ln in lines)


# run.py's compile step, from every level, with no GPU: Triton's driver is replaced by the
# workbench's compile-only one, so everything up to the launch runs (the launch needs a GPU)
_COMPILE_ONLY = """
import sys
import torch
torch.cuda.is_available = lambda: True
folder, target = sys.argv[1], sys.argv[2]
src = open(folder + "/run.py").read().replace('if __name__ == "__main__":', 'if False:')
from workbench.compiler import compat
with compat.compile_only_driver(compat.parse_target(target)):
    scope = {"__file__": folder + "/run.py", "__name__": "run"}
    exec(compile(src, folder + "/run.py", "exec"), scope)
    launch = scope["_ir_kernel"]()
print("compiled", callable(launch))
"""


@pytest.mark.parametrize("target,levels", [("cuda:90", ["ttir", "ttgir", "llir", "ptx", "cubin"]),
                                           ("hip:gfx942", ["ttgir", "llir", "amdgcn", "hsaco"])])
def test_run_py_compiles_from_every_exported_level(vector_add, tmp_path, target, levels):
    from workbench.session.export import export
    from workbench.session.session import Session
    session = Session(vector_add, mode="interpret", target=target, with_sass=False)
    try:
        entry = session.open()["kernels"][0]
        for level in levels:
            version = session.apply(entry["spec"]["spec_id"], Path(entry["edit"]) / f"add_kernel.{level}")["version"]
            export(session, "add_kernel", str(version), tmp_path / level)
    finally:
        session.close()
    for level in levels:
        proc = subprocess.run([sys.executable, "-c", _COMPILE_ONLY, str(tmp_path / level), target],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert proc.returncode == 0 and proc.stdout.strip().endswith("compiled True"), (level, proc.stderr[-2000:])


def test_a_gluon_layout_and_a_dtype_constexpr_are_written_as_data_and_built_again_by_run_py(tmp_path, monkeypatch):
    # (seen on the H100: gluon_vector_add's export said "argument layout = BlockedLayout(...) cannot
    # be rebuilt outside the script", so it could not be replayed, profiled or sanitized)
    import triton.language as tl
    from triton.experimental.gluon import language as gl

    from workbench.session import export
    blocked = gl.BlockedLayout(size_per_thread=[4], threads_per_warp=[32], warps_per_cta=[4], order=[0])
    sliced = gl.SliceLayout(0, gl.BlockedLayout([1, 4], [4, 8], [4, 1], [1, 0]))
    args = [export._arg(name, value) for name, value in
            (("x", export.TensorSlot("x")), ("layout", blocked), ("rows", sliced), ("dtype", tl.float16),
             ("fn", len))]
    assert args[1] == {"name": "layout", "value": str(blocked), "rebuild": {"gluon": "BlockedLayout", "fields": {
        "size_per_thread": [4], "threads_per_warp": [32], "warps_per_cta": [4], "order": [0], "cga_layout": []}}}
    assert args[3]["rebuild"] == {"dtype": "fp16"} and args[4]["repr"] is True   # a function: not rebuilt
    assert export._arg("layout", tl.constexpr(blocked))["rebuild"] == args[1]["rebuild"]
    launch = {"kernel": "k", "level": "python", "file": "k.py", "version": "1", "triton_version": "3.6.0",
              "target": {"backend": "cuda", "arch": 90, "warp_size": 32}, "inputs": "random", "align": 16,
              "storages": [16], "views": {"x": {"dtype": "float32", "storage": 0, "offset": 0, "shape": [4],
                                                 "strides": [1]}},
              "signature": {"x": "*fp32", "layout": "constexpr", "rows": "constexpr", "dtype": "constexpr",
                            "fn": "constexpr"}, "args": json.loads(json.dumps(args[:4]))}
    (tmp_path / "launch.json").write_text(json.dumps(launch))
    shutil.copyfile(ROOT / "workbench" / "session" / "export_run.py", tmp_path / "run.py")   # (as export copies it)
    # run.py sets TRITON_INTERPRET without a GPU: in this process only for this test (the scripts
    # later tests run would inherit it, and their captures would see no launch)
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    spec = importlib.util.spec_from_file_location("exported_run_py", tmp_path / "run.py")
    run_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_py)
    built, views = run_py.fresh_args()
    assert built[0] is views["x"] and built[1:] == [blocked, sliced, tl.float16]
    # a name that is no Gluon layout is one line, nothing looked up beyond Gluon's language
    launch["args"][1]["rebuild"]["gluon"] = "__class__"
    (tmp_path / "launch.json").write_text(json.dumps(launch))
    spec.loader.exec_module(run_py)
    with pytest.raises(SystemExit):
        run_py.fresh_args()

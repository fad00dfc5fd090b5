"""``@workbench.jit``: a drop-in for ``@triton.jit`` whose launches can start from any level."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from helpers import EXAMPLES, ROOT


def _kernel():
    import triton.language as tl
    import workbench

    @workbench.jit
    def scale_kernel(x_ptr, out_ptr, n, alpha, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * alpha, mask=mask)
    return scale_kernel


def test_save_levels_writes_every_level_for_the_arguments(tmp_path):
    from workbench.api import WorkbenchJITFunction
    kernel = _kernel()
    assert isinstance(kernel, WorkbenchJITFunction)
    x = torch.rand(4096)
    paths = kernel.save_levels(tmp_path, x, torch.empty_like(x), 4096, 2.0, BLOCK=512, num_warps=2)
    assert {"ttir", "ttgir", "llir", "ptx", "cubin", "sass", "json"} <= set(paths)
    assert '"ttg.num-warps" = 2' in paths["ttgir"].read_text()
    assert "tt.divisibility = 16" in paths["ttir"].read_text()  # the specialization the arguments give


def test_a_level_launch_compiles_once_then_is_tritons_own_cache_hit(tmp_path, capfd):
    """No GPU: warm-up launches (compile, no run) from two levels. The level keyword is part
    of Triton's kernel cache key, so the second launch from the same folder is the same
    kernel object, with no workbench code on its path."""
    from workbench.compiler import compat
    from workbench.model.diagnostics import WorkbenchError
    kernel = _kernel()
    x = torch.rand(4096)
    kernel.save_levels(tmp_path, x, torch.empty_like(x), 4096, 2.0, BLOCK=512)
    capfd.readouterr()
    args = (x, torch.empty_like(x), 4096, 2.0)
    with compat.compile_only_driver(compat.parse_target("cuda:90")):
        first = kernel.warmup(*args, BLOCK=512, grid=(1,), ttgir_dir=tmp_path)
        again = kernel.warmup(*args, BLOCK=512, grid=(1,), ttgir_dir=tmp_path)
        ptx = kernel.warmup(*args, BLOCK=512, grid=(1,), ptx_dir=str(tmp_path))
        plain = kernel.warmup(*args, BLOCK=512, grid=(1,))
        with pytest.raises(WorkbenchError, match="no such folder"):
            kernel.warmup(*args, BLOCK=512, grid=(1,), llir_dir=tmp_path / "missing")
        with pytest.raises(TypeError, match="name one level to launch from"):
            kernel.warmup(*args, BLOCK=512, grid=(1,), llir_dir=tmp_path, ptx_dir=tmp_path)
    assert first is again and first is not ptx and plain is not first
    assert first.metadata.name == ptx.metadata.name == "scale_kernel"
    err = capfd.readouterr().err
    assert err.count("scale_kernel from TTGIR") == 1 and err.count("scale_kernel from PTX") == 1
    assert f"from TTGIR {tmp_path}/scale_kernel.ttgir: " in err


def test_a_level_compiled_for_other_arguments_is_refused(tmp_path):
    from workbench.model.diagnostics import WorkbenchError
    from workbench.api import _check_signature
    kernel = _kernel()
    x = torch.rand(4096)
    paths = kernel.save_levels(tmp_path, x, torch.empty_like(x), 4096, 2.0, BLOCK=512)
    odd = kernel.save_levels(tmp_path / "odd", x[1:], torch.empty_like(x), 4095, 2.0, BLOCK=512)
    _check_signature("ttir", paths["ttir"], paths["ttir"].read_text(), "scale_kernel")
    with pytest.raises(WorkbenchError, match=r"scale_kernel\.ttir:\d+: error: this TTIR was compiled for other "
                                             r"arguments: .*refusing to launch"):
        _check_signature("ttir", paths["ttir"], odd["ttir"].read_text(), "scale_kernel")


def test_an_existing_triton_kernel_is_wrapped_with_its_options(tmp_path):
    code = ("import triton, triton.language as tl, workbench\n"
            "@triton.jit(do_not_specialize=['n'])\n"
            "def k(x_ptr, n, B: tl.constexpr):\n    pass\n"
            "w = workbench.jit(k)\n"
            "print(type(w).__name__, w.do_not_specialize, w.fn is k.fn)\n")
    (tmp_path / "wrap.py").write_text(code)
    out = subprocess.run([sys.executable, str(tmp_path / "wrap.py")], capture_output=True, text=True, cwd=ROOT,
                         env={"PATH": "/usr/bin:/bin", "TRITON_INTERPRET": "0", "PYTHONPATH": str(ROOT)})
    assert out.stdout.split() == ["WorkbenchJITFunction", "['n']", "True"], out.stderr


@pytest.mark.gpu
@pytest.mark.parametrize("example", ["matmul_levels", "matmul_tma_levels"])
def test_one_launch_per_level_examples(example, tmp_path):
    proc = subprocess.run([sys.executable, str(EXAMPLES / "levels" / f"{example}.py"), str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["python", "ttir", "ttgir", "llir", "ptx", "cubin"]
    assert all(line.endswith("identical to the Python launch") for line in lines), proc.stdout
    # each level compiled once, said so, and where the levels went
    for level in ("TTIR", "TTGIR", "LLIR", "PTX", "CUBIN"):
        assert f" from {level} {tmp_path}" in proc.stderr
    again = subprocess.run([sys.executable, str(EXAMPLES / "levels" / f"{example}.py"), str(tmp_path)],
                           capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert again.stderr.count(": cache hit; levels saved in ") == 5, again.stderr


@pytest.mark.gpu
def test_an_edited_ttgir_launches_from_its_folder(tmp_path):
    kernel = _kernel()
    x = torch.rand(4096, device="cuda")
    out = torch.empty_like(x)
    paths = kernel.save_levels(tmp_path, x, out, 4096, 2.0, BLOCK=512)
    ttgir = paths["ttgir"]
    ttgir.write_text(ttgir.read_text().replace("arith.mulf", "arith.addf"))
    kernel[(8,)](x, out, 4096, 2.0, BLOCK=512, ttgir_dir=tmp_path)
    torch.testing.assert_close(out, x + 2.0)
    kernel[(8,)](x, out, 4096, 2.0, BLOCK=512)
    torch.testing.assert_close(out, x * 2.0)


def test_a_workspace_version_launches_from_the_level_it_edited(tmp_path, capfd):
    """version_dir= names a folder under .workbench/.../versions/: the launch starts from the
    level that version edited (here TTGIR), with the metadata saved beside it."""
    from workbench.compiler import compat
    from workbench.session.workspace import Workspace
    kernel = _kernel()
    x = torch.rand(4096)
    levels = kernel.save_levels(tmp_path / "levels", x, torch.empty_like(x), 4096, 2.0, BLOCK=512)
    from workbench.api import shared_compiler
    edited = levels["ttgir"].read_text().replace("arith.mulf", "arith.addf")
    derived = shared_compiler("cuda:90").compile_level("ttgir", edited, __import__("json").loads(levels["json"].read_text()),
                                                 with_sass=False)
    ws = Workspace(tmp_path / "ws")
    (ws.edit("scale_kernel-x")).mkdir(parents=True)
    info = ws.new_version("scale_kernel-x", "scale_kernel", "ttgir", edited, derived)
    capfd.readouterr()
    with compat.compile_only_driver(compat.parse_target("cuda:90")):
        k = kernel.warmup(x, torch.empty_like(x), 4096, 2.0, BLOCK=512, grid=(1,), version_dir=info.folder)
        unedited = kernel.warmup(x, torch.empty_like(x), 4096, 2.0, BLOCK=512, grid=(1,), ttgir_dir=tmp_path / "levels")
    assert k.metadata.name == "scale_kernel"
    assert k.asm["cubin"] == derived.levels["cubin"] != unedited.asm["cubin"]  # the edit is what launches
    assert f"scale_kernel from TTGIR {info.folder}/scale_kernel.ttgir" in capfd.readouterr().err

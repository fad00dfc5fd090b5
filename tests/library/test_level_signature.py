"""A TTIR/TTGIR level launch checks what specializes (argument types, 16-byte divisibility, the
arguments specialized away), not how the arguments are named: triton-runner's level files name
them %arg0, %arg1, ... where ours say %x_ptr."""

from __future__ import annotations

import re

import pytest
import torch


def _kernel():
    import triton.language as tl
    import workbench

    @workbench.jit
    def scale_kernel(x_ptr, out_ptr, n, alpha, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * alpha, mask=mask)
    return scale_kernel


def _renamed(text: str) -> str:
    """Every argument of the kernel renamed %argN, as Triton prints a module without names."""
    head = re.search(r"tt\.func public @\w+\((.*?)\) attributes", text, re.S).group(1)
    names = re.findall(r"%(\w+):", head)
    for i, name in enumerate(names):
        text = re.sub(rf"%{name}\b", f"%arg{i}", text)
    return text


@pytest.mark.parametrize("level", ["ttir", "ttgir"])
def test_a_level_with_its_arguments_renamed_launches(tmp_path, level, capfd):
    from workbench.compiler import compat
    kernel = _kernel()
    x = torch.rand(4096)
    args = (x, torch.empty_like(x), 4096, 2.0)
    paths = kernel.save_levels(tmp_path / "ours", *args, BLOCK=512)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    text = _renamed(paths[level].read_text())
    assert "%arg0: !tt.ptr<f32> {tt.divisibility = 16 : i32}" in text and "%x_ptr" not in text
    (theirs / f"scale_kernel.{level}").write_text(text)
    (theirs / "scale_kernel.json").write_text(paths["json"].read_text())
    with compat.compile_only_driver(compat.parse_target("cuda:90")):
        compiled = kernel.warmup(*args, BLOCK=512, grid=(8,), **{f"{level}_dir": theirs})
    assert compiled.asm["cubin"] and f"scale_kernel from {level.upper()} {theirs}" in capfd.readouterr().err


def test_a_renamed_level_for_other_divisibility_is_still_refused(tmp_path):
    from workbench.api import _check_signature
    from workbench.model.diagnostics import WorkbenchError
    kernel = _kernel()
    x = torch.rand(4096)
    paths = kernel.save_levels(tmp_path, x, torch.empty_like(x), 4096, 2.0, BLOCK=512)
    odd = kernel.save_levels(tmp_path / "odd", x[1:], torch.empty_like(x), 4095, 2.0, BLOCK=512)
    renamed = tmp_path / "renamed.ttir"
    renamed.write_text(_renamed(odd["ttir"].read_text()))
    with pytest.raises(WorkbenchError) as err:
        _check_signature("ttir", renamed, paths["ttir"].read_text(), "scale_kernel")
    (line,) = [str(d) for d in err.value.diagnostics]
    assert line.startswith(f"{renamed}:") and "argument 1 (x_ptr) is !tt.ptr<f32> here, " \
                                                "!tt.ptr<f32> {tt.divisibility = 16 : i32} for these arguments" in line

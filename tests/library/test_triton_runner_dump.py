"""triton-runner's dumps, written as their scripts write them (``dl.dump(x)`` in the kernel,
``dump_tensor=`` at the launch), on the workbench's dumps. CPU: the dump compiles (a
compile-only driver) and theirs "In dump mode" line names the dumped value; GPU (``gpu``):
``dump_tensor`` holds what theirs would."""

from __future__ import annotations

import inspect

import pytest
import torch
import triton
import triton.language as tl

import workbench.triton_runner as triton_runner
import workbench.triton_runner.language as dl
from workbench.compiler import compat
from tests.helpers import has_cuda
from workbench.model.diagnostics import LevelNeedsGPU, WorkbenchError

BLOCK = 128


@triton_runner.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK_SIZE: tl.constexpr, WHICH: tl.constexpr):
    pid = tl.program_id(0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n
    x = tl.load(x_ptr + offsets, mask=mask)
    y = tl.load(y_ptr + offsets, mask=mask)
    output = x + y
    if WHICH == 0:
        dl.dump(x)
    elif WHICH == 1:
        dl.dump(y, 0, 3)
    elif WHICH == 2:
        dl.dump(y, dump_grid=3)
    elif WHICH == 3:
        dl.dump_boundary(output)
    elif WHICH == 4:
        dl.dump_grids(output)
    else:
        dl.dump(y, BLOCK_SIZE, 1)
        dl.dump(x, pid * 0 + 2 * BLOCK_SIZE, 1)   # an offset computed in the kernel
    tl.store(out_ptr + offsets, output, mask=mask)


@triton_runner.jit
def loop_kernel(x_ptr, n, BLOCK_SIZE: tl.constexpr):
    acc = tl.zeros([BLOCK_SIZE], dtype=tl.float32)
    for off in range(0, n, BLOCK_SIZE):
        acc += tl.load(x_ptr + off + tl.arange(0, BLOCK_SIZE))
        dl.dump(acc)


_ROWS, _FIRST = inspect.getsourcelines(add_kernel.fn)
CALLS = ["dl.dump(x)", "dl.dump(y, 0, 3)", "dl.dump(y, dump_grid=3)", "dl.dump_boundary(output)",
         "dl.dump_grids(output)", "dl.dump(y, BLOCK_SIZE, 1)"]
LINE = {w: _FIRST + next(i for i, row in enumerate(_ROWS) if call in row) for w, call in enumerate(CALLS)}
N = 1000   # 8 programs, the last one partial


def _launch(which, device="cpu", dump_tensor=None):
    x, y = torch.rand(N, device=device), torch.rand(N, device=device)
    out = torch.empty_like(x)
    dump_tensor = torch.full((BLOCK * 8 * (2 if which == 4 else 1),), -1.0, device=device) \
        if dump_tensor is None else dump_tensor
    grid = lambda meta: (triton.cdiv(N, meta["BLOCK_SIZE"]),)
    add_kernel[grid](x, y, out, N, BLOCK_SIZE=BLOCK, WHICH=which, dump_tensor=dump_tensor)
    return x, y, out, dump_tensor


def _compiled(which, capfd):
    with compat.compile_only_driver(compat.parse_target("cuda:90")):
        _launch(which)
    return add_kernel.last_dump, capfd.readouterr().out


@pytest.mark.parametrize("which, pid", [(0, (0, 0, 0)), (1, (3, 0, 0)), (2, (3, 0, 0)), (3, (7, 0, 0)), (4, "all")])
def test_a_dump_call_compiles_into_a_dump_of_the_program_it_names(which, pid, capfd):
    prepared, out = _compiled(which, capfd)
    (site,) = prepared.sites
    assert site.pid == pid and site.python_line == LINE[which]
    # the kernel's store, the dump's and its counter's
    assert prepared.rewrite.values[0].shape == [BLOCK] and prepared.compiled.levels["ttgir"].count("tt.store ") == 3
    assert "[Triton Runner] In dump mode, ssa=%" in out and f"loc={__file__}:{LINE[which]}, size={BLOCK}" in out


def test_an_offset_computed_in_the_kernel_is_dumped_beside_its_value(capfd):
    prepared, _ = _compiled(5, capfd)
    constant, computed = prepared.sites
    assert (constant.offset, constant.offset_value, constant.pid) == (BLOCK, None, (1, 0, 0))
    assert computed.offset_value is not None and prepared.rewrite.values[computed.offset_value].shape == []


@pytest.mark.skipif(has_cuda(), reason="with a GPU the dump runs (the gpu tests below)")
def test_without_a_gpu_the_dump_compiles_and_says_it_needs_one():
    with pytest.raises(LevelNeedsGPU, match=r"add_kernel: the dump \(dump_tensor=\) compiled for cuda:90; running "
                                            r"it needs a GPU"):
        _launch(0)


def test_dump_value_without_a_level_is_one_line():
    with pytest.raises(WorkbenchError, match="dump_value= names a value of a TTIR or TTGIR"):
        with compat.compile_only_driver(compat.parse_target("cuda:90")):
            x = torch.rand(N)
            add_kernel[(8,)](x, x, x, N, BLOCK_SIZE=BLOCK, WHICH=0, dump_tensor=x, dump_value="%5")


def test_dump_value_names_an_ssa_value_of_a_ttgir_folder(tmp_path, capfd):
    x = torch.rand(N)
    paths = add_kernel.save_levels(tmp_path, x, x, torch.empty_like(x), N, BLOCK_SIZE=BLOCK, WHICH=0)
    text = paths["ttgir"].read_text()
    name = next(row.split("=")[0].strip() for row in text.splitlines() if "tt.load" in row and "=" in row)
    with compat.compile_only_driver(compat.parse_target("cuda:90")):
        add_kernel[(8,)](x, x, torch.empty_like(x), N, BLOCK_SIZE=BLOCK, WHICH=0, dump_tensor=torch.empty(BLOCK),
                         ttgir_dir=triton_runner.get_file_dir(str(paths["ttgir"])), dump_value=name, dump_grid=2)
    (site,) = add_kernel.last_dump.sites
    assert site.pid == (2, 0, 0) and add_kernel.last_dump.rewrite.values[0].name == name
    assert f"[Triton Runner] In dump mode, ssa={name}, op=tt.load" in capfd.readouterr().out


@pytest.mark.gpu
@pytest.mark.parametrize("which", range(6))
def test_dump_tensor_holds_what_triton_runners_would(which):
    x, y, out, dump = _launch(which, "cuda")
    torch.testing.assert_close(out, x + y)
    z = x + y
    if which == 0:
        torch.testing.assert_close(dump[:BLOCK], x[:BLOCK])
    elif which in (1, 2):
        torch.testing.assert_close(dump[:BLOCK], y[3 * BLOCK:4 * BLOCK])
    elif which == 3:
        torch.testing.assert_close(dump[:N - 7 * BLOCK], z[7 * BLOCK:])
    elif which == 4:
        torch.testing.assert_close(dump[:N], z)
    else:
        torch.testing.assert_close(dump[BLOCK:2 * BLOCK], y[BLOCK:2 * BLOCK])
        torch.testing.assert_close(dump[2 * BLOCK:3 * BLOCK], x[BLOCK:2 * BLOCK])
        assert (dump[:BLOCK] == -1).all()


@pytest.mark.gpu
def test_a_dump_in_a_loop_keeps_the_last_iteration_as_theirs_does():
    x = torch.rand(4 * BLOCK, device="cuda")
    dump = torch.empty(BLOCK, device="cuda")
    loop_kernel[(1,)](x, 4 * BLOCK, BLOCK_SIZE=BLOCK, dump_tensor=dump)
    torch.testing.assert_close(dump, x.view(4, BLOCK).sum(0))


@triton_runner.jit
def grid_kernel(x_ptr, BLOCK_SIZE: tl.constexpr):
    offs = (tl.program_id(0) * tl.num_programs(1) + tl.program_id(1)) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    x = tl.load(x_ptr + offs)
    dl.dump(x, 0, (0, 1))


def test_a_tuple_dump_grid_names_the_program(capfd):
    with compat.compile_only_driver(compat.parse_target("cuda:90")):
        grid_kernel[(2, 2)](torch.rand(4 * BLOCK), BLOCK_SIZE=BLOCK, dump_tensor=torch.empty(BLOCK))
    assert grid_kernel.last_dump.sites[0].pid == (0, 1, 0)


@triton_runner.jit
def held_grid_kernel(x_ptr, BLOCK_SIZE: tl.constexpr):
    x = tl.load(x_ptr + tl.arange(0, BLOCK_SIZE))
    dump_grid = 1, 0        # (their dump_with_offset.py: the program in a variable, then an offset from it)
    grid_id = dump_grid[0] * tl.num_programs(axis=0) + dump_grid[1]
    dl.dump(x, grid_id * BLOCK_SIZE, dump_grid)


@triton_runner.jit
def computed_grid_kernel(x_ptr, BLOCK_SIZE: tl.constexpr):
    x = tl.load(x_ptr + tl.arange(0, BLOCK_SIZE))
    dump_grid = 1, 0
    if BLOCK_SIZE > 1:
        dump_grid = tl.program_id(0), 0
    dl.dump(x, 0, dump_grid)


def test_a_dump_grid_held_in_a_variable_of_literals_names_the_program_and_one_computed_is_one_line(capfd):
    with compat.compile_only_driver(compat.parse_target("cuda:90")):
        held_grid_kernel[(2, 2)](torch.rand(4 * BLOCK), BLOCK_SIZE=BLOCK, dump_tensor=torch.empty(4 * BLOCK))
    (site,) = held_grid_kernel.last_dump.sites
    assert site.pid == (1, 0, 0) and site.offset_value is not None
    rows, first = inspect.getsourcelines(computed_grid_kernel.fn)
    line = first + next(i for i, row in enumerate(rows) if "dl.dump(" in row)
    with pytest.raises(WorkbenchError) as e, compat.compile_only_driver(compat.parse_target("cuda:90")):
        computed_grid_kernel[(2,)](torch.rand(2 * BLOCK), BLOCK_SIZE=BLOCK, dump_tensor=torch.empty(BLOCK))
    assert str(e.value).startswith(f"{__file__}:{line}: error: dump()'s dump_grid is a value of the running kernel")


@triton.autotune(configs=[triton.Config({"BLOCK_SIZE": BLOCK})], key=["n"])
@triton_runner.jit
def tuned_kernel(x_ptr, n, BLOCK_SIZE: tl.constexpr):
    x = tl.load(x_ptr + tl.arange(0, BLOCK_SIZE))
    dl.dump(x)


def test_an_autotuned_kernel_takes_dump_tensor():
    with compat.compile_only_driver(compat.parse_target("cuda:90")):
        tuned_kernel[(1,)](torch.rand(BLOCK), BLOCK, dump_tensor=torch.empty(BLOCK))
    assert tuned_kernel.fn.last_dump.sites[0].pid == (0, 0, 0)

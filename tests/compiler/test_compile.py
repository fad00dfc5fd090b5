"""Compiling captured kernels from Python, and from every level file, for sm_80 and sm_90."""

from __future__ import annotations

import re

import pytest



from workbench.compiler.cache import StageCache
from workbench.compiler.cubin import read_cubin
from workbench.model.diagnostics import WorkbenchError
from workbench.compiler.stages import Compiler

EXAMPLES = ["vector_add", "softmax", "matmul", "matmul_tma", "layernorm", "flash_attention", "gluon_vector_add",
            "autotuned_add"]
TARGETS = ["cuda:80", "cuda:90"]
RESTART_LEVELS = ["ttir", "ttgir", "llir", "ptx", "cubin"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("example", EXAMPLES)
def test_every_level_from_python(compiled, example, target):
    spec, result = compiled(example, target)
    arch = int(target.split(":")[1])
    expected = {"python", "ttgir", "llir", "ptx", "cubin", "sass"} | ({"ttir"} if spec.language == "triton" else set())
    assert expected <= set(result.levels)
    assert f"tt.func public @{spec.kernel}" in result.levels["ttgir"]
    assert re.search(rf'ttg\.target = "cuda:{arch}"', result.levels["ttgir"])
    assert re.search(rf"^\.target sm_{arch}a?$", result.levels["ptx"], re.M)
    assert f".visible .entry {spec.kernel}(" in result.levels["ptx"]
    info = read_cubin(result.levels["cubin"])
    assert (info.arch, info.functions) == (arch, (spec.kernel,))
    assert f".text.{spec.kernel}" in result.levels["sass"] and "EXIT" in result.levels["sass"]
    meta = result.metadata
    assert meta["name"] == spec.kernel and meta["target"]["arch"] == arch
    assert meta["num_warps"] == spec.options["num_warps"]
    assert result.resources["registers"] > 0
    assert [s.level for s in result.stages][-3:] == ["ptx", "cubin", "sass"]


def test_matmul_uses_the_tensor_cores_of_each_target(compiled):
    _, hopper = compiled("matmul", "cuda:90")
    _, ampere = compiled("matmul", "cuda:80")
    assert "wgmma.mma_async" in hopper.levels["ptx"] and "HGMMA" in hopper.levels["sass"]
    assert "mma.sync" in ampere.levels["ptx"] and "wgmma" not in ampere.levels["ptx"]
    # 3 stages of a 128x64 and a 64x128 fp16 tile
    assert hopper.shared == 3 * (128 * 64 + 64 * 128) * 2


def test_tma_matmul_uses_bulk_tensor_copies_on_hopper_only(compiled):
    _, hopper = compiled("matmul_tma", "cuda:90")
    _, ampere = compiled("matmul_tma", "cuda:80")
    assert "cp.async.bulk.tensor" in hopper.levels["ptx"]
    assert "cp.async.bulk.tensor" not in ampere.levels["ptx"]
    assert hopper.metadata["tensordesc_meta"], "TMA descriptors are described in the launch metadata"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("start", RESTART_LEVELS)
@pytest.mark.parametrize("example", ["vector_add", "matmul", "gluon_vector_add"])
def test_restart_from_each_level_gives_the_same_binary(compiled, tmp_path, example, target, start):
    spec, full = compiled(example, target)
    if start not in full.levels:
        pytest.skip("Gluon has no TTIR: its front end emits TTGIR")
    paths = full.write(tmp_path, spec.kernel)
    meta = full.metadata_json()
    again = Compiler(target, StageCache(None)).compile_file(paths[start], meta)
    assert again.start == start
    assert again.levels["cubin"] == full.levels["cubin"]
    if "ptx" in again.levels:  # re-parsed MLIR may number its debug locations differently; the code is the same
        assert _code(again.levels["ptx"]) == _code(full.levels["ptx"])
    assert again.metadata["name"] == full.metadata["name"]
    assert again.metadata["num_warps"] == full.metadata["num_warps"]
    assert again.metadata["shared"] == full.metadata["shared"]
    assert again.levels["sass"] == full.levels["sass"]


def _code(ptx: str) -> list[str]:
    return [row for row in ptx.splitlines() if row.strip() and not row.lstrip().startswith((".loc", "//", ".file"))
            and not row.lstrip().startswith((".section", ".b8", ".b32", ".b64", "$L__"))]


def _vector_add_ttgir(compiled, target="cuda:90"):
    spec, full = compiled("vector_add", target)
    return spec, full, full.levels["ttgir"]


def test_a_changed_constant_in_ttgir_changes_the_ptx(compiled):
    _, full, ttgir = _vector_add_ttgir(compiled)
    # pid * BLOCK_SIZE: 1024 is a left shift by 10 in the PTX; 512 must become a shift by 9
    assert "arith.constant 1024 : i32" in ttgir
    compiler = Compiler("cuda:90")
    edited = compiler.compile_level("ttgir", ttgir.replace("arith.constant 1024 : i32", "arith.constant 512 : i32"),
                                    full.metadata_json())
    assert re.search(r"shl\.b32\s+%r\d+, %r\d+, 10;", full.levels["ptx"])
    assert re.search(r"shl\.b32\s+%r\d+, %r\d+, 9;", edited.levels["ptx"])
    assert edited.levels["cubin"] != full.levels["cubin"]


def test_num_warps_edited_in_ttgir_flows_into_the_launch_metadata(compiled):
    _, full, ttgir = _vector_add_ttgir(compiled)
    assert full.num_warps == 4
    edited_text = ttgir.replace('"ttg.num-warps" = 4', '"ttg.num-warps" = 8').replace(
        "warpsPerCTA = [4]", "warpsPerCTA = [8]")
    edited = Compiler("cuda:90").compile_level("ttgir", edited_text, full.metadata_json())
    assert edited.num_warps == 8 and edited.metadata["num_warps"] == 8
    assert re.search(r"^\.reqntid 256$", edited.levels["ptx"], re.M)


def test_shared_memory_comes_from_the_ttgir_compile_not_the_old_metadata(compiled):
    _, full = compiled("matmul", "cuda:90")
    stale = dict(full.metadata_json(), shared=12345)
    from_ttgir = Compiler("cuda:90").compile_level("ttgir", full.levels["ttgir"], stale)
    assert from_ttgir.shared == full.shared == 98304
    # below TTGIR nothing recomputes it: the metadata given is what the launch will use
    from_ptx = Compiler("cuda:90").compile_level("ptx", full.levels["ptx"], stale)
    assert from_ptx.shared == 12345


def test_an_edited_file_is_never_served_from_the_cache(compiled, tmp_path):
    """Triton keys its cache on the Python source, so a swapped-in IR file can be served a stale
    binary; here the key is the file's content."""
    _, full, ttgir = _vector_add_ttgir(compiled)
    compiler = Compiler("cuda:90", StageCache(tmp_path / "cache"))
    path = tmp_path / "add_kernel.ttgir"
    path.write_text(ttgir)
    first = compiler.compile_file(path, full.metadata_json())
    path.write_text(ttgir.replace("arith.constant 1024 : i32", "arith.constant 512 : i32"))
    second = compiler.compile_file(path, full.metadata_json())
    assert second.levels["ptx"] != first.levels["ptx"]
    assert not any(s.cached for s in second.stages if s.level in ("llir", "ptx", "cubin"))
    # and a fresh process (a new Compiler over the same folder) does not see the old content either
    third = Compiler("cuda:90", StageCache(tmp_path / "cache")).compile_file(path, full.metadata_json())
    assert third.levels["cubin"] == second.levels["cubin"] and third.fully_cached


def test_an_unchanged_level_is_not_recompiled(compiled):
    _, full, ttgir = _vector_add_ttgir(compiled)
    compiler = Compiler("cuda:90", StageCache(None))
    compiler.compile_level("ttgir", ttgir, full.metadata_json())
    again = compiler.compile_level("ttgir", ttgir, full.metadata_json())
    assert again.fully_cached
    assert [s.level for s in again.stages] == ["llir", "ptx", "cubin", "sass"]


def test_llir_ptx_and_cubin_need_metadata(compiled):
    _, full = compiled("vector_add", "cuda:90")
    for level in ("llir", "ptx", "cubin"):
        with pytest.raises(WorkbenchError, match="needs the kernel's metadata"):
            Compiler("cuda:90").compile_level(level, full.levels[level], None, file=f"k.{level}")


def test_a_cubin_whose_name_or_arch_disagrees_with_its_metadata_is_refused(compiled):
    _, full = compiled("vector_add", "cuda:90")
    meta = full.metadata_json()
    with pytest.raises(WorkbenchError, match="metadata names 'other_kernel'"):
        Compiler("cuda:90").compile_level("cubin", full.levels["cubin"], dict(meta, name="other_kernel"), file="k.cubin")
    with pytest.raises(WorkbenchError, match="cubin is for sm_90, but the target is cuda:80"):
        Compiler("cuda:80").compile_level("cubin", full.levels["cubin"], meta, file="k.cubin")
    with pytest.raises(WorkbenchError, match="not a cubin"):
        Compiler("cuda:90").compile_level("cubin", b"not an elf file at all" * 4, meta, file="k.cubin")


def test_a_level_for_another_target_is_refused(compiled):
    _, full = compiled("vector_add", "cuda:90")
    with pytest.raises(WorkbenchError, match=r"TTGIR is for cuda:90, but the target is cuda:80"):
        Compiler("cuda:80").compile_level("ttgir", full.levels["ttgir"], full.metadata_json(), file="k.ttgir")


def test_a_launch_compiles_a_ttgir_made_for_an_older_gpu_for_the_gpu_at_hand_and_never_a_newer_one(compiled):
    # (triton-runner's matmul_use_ttgir_str.py: a TTGIR for cuda:75 launched on an H100; Triton runs it)
    _, older = compiled("vector_add", "cuda:80")
    meta = older.metadata_json()
    with pytest.raises(WorkbenchError, match=r"TTGIR is for cuda:80, but the target is cuda:90"):
        Compiler("cuda:90").compile_level("ttgir", older.levels["ttgir"], meta, file="k.ttgir")
    result = Compiler("cuda:90").compile_level("ttgir", older.levels["ttgir"], meta, file="k.ttgir",
                                               older_target_ok=True)
    assert re.search(r"^\.target sm_90a?$", result.levels["ptx"], re.MULTILINE)
    assert read_cubin(result.levels["cubin"], "k.cubin").arch == 90
    _, newer = compiled("vector_add", "cuda:90")
    with pytest.raises(WorkbenchError, match=r"TTGIR is for cuda:90, but the target is cuda:80"):
        Compiler("cuda:80").compile_level("ttgir", newer.levels["ttgir"], newer.metadata_json(), file="k.ttgir",
                                          older_target_ok=True)


@pytest.mark.parametrize("arch", [100, 120])
def test_blackwell_targets_compile_and_their_cubins_read_back(compiled, captures, arch):
    spec = captures("vector_add").specs[0]
    result = Compiler(f"cuda:{arch}").compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                                     spec.options, with_sass=False)
    assert read_cubin(result.levels["cubin"]).arch == arch

"""AMD targets (hip:gfx942, gfx90a, gfx950) on a machine with no AMD GPU: the Triton wheel
compiles TTIR, TTGIR, LLIR, AMDGCN and hsaco on the CPU, so every level restarts, maps back to
Python and reports a broken file at its line; running needs a ROCm GPU and says so."""

from __future__ import annotations

import re
import shutil

import pytest

from helpers import EXAMPLES
from workbench.compiler import compat
from workbench.instrument import dump_mlir
from workbench.model import srcmap
from workbench.compiler.cache import StageCache
from workbench.runtime.capture.script import run_script
from workbench.model.diagnostics import WorkbenchError
from workbench.compiler.stages import Compiler

TARGET = "hip:gfx942"
AMD_LEVELS = ["ttir", "ttgir", "llir", "amdgcn", "hsaco"]
KERNELS = {"vector_add": "add_kernel", "matmul": "matmul_kernel", "flash_attention": "attn_fwd"}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """(spec, full compile, files, compiler) per example, compiled once for gfx942."""
    compiler = Compiler(TARGET, StageCache(None))
    out = {}

    def get(name):
        if name not in out:
            cap = run_script(EXAMPLES / f"{name}.py", mode="compile-only", target=TARGET)
            assert cap.target == TARGET
            spec = cap.specs[0]
            full = compiler.compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs, spec.options)
            out[name] = (spec, full, full.write(tmp_path_factory.mktemp(name), spec.kernel), compiler)
        return out[name]
    return get


def test_targets_parse_as_hip_wave64():
    for text, arch in (("hip:gfx942", "gfx942"), ("gfx90a", "gfx90a"), ("hip:gfx950", "gfx950")):
        target = compat.parse_target(text)
        assert (target.backend, target.arch, target.warp_size) == ("hip", arch, 64)
        assert compat.target_str(target) == f"hip:{arch}"
        assert compat.target_from_json({"backend": "hip", "arch": arch, "warp_size": 64}) == target
    with pytest.raises(compat.TargetError, match="hip:gfx942"):
        compat.parse_target("hip:gfx1234")


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_every_level_compiles_for_gfx942_and_restarts_to_the_same_hsaco(compiled, name):
    spec, full, paths, compiler = compiled(name)
    assert set(full.levels) == {"python", *AMD_LEVELS}
    hsaco = full.levels["hsaco"]
    assert hsaco[:4] == b"\x7fELF" and KERNELS[name].encode() in hsaco
    assert full.metadata["name"] == KERNELS[name] and full.target == TARGET
    assert ".amdgcn_target \"amdgcn-amd-amdhsa--gfx942\"" in full.levels["amdgcn"]
    assert paths["amdgcn"].suffix == ".amdgcn" and paths["hsaco"].read_bytes() == hsaco
    meta = full.metadata_json()
    for level in AMD_LEVELS:
        again = compiler.compile_file(paths[level], meta)
        assert again.levels["hsaco"] == hsaco, level
        assert again.metadata["name"] == KERNELS[name], level
        assert again.metadata["num_warps"] == full.metadata["num_warps"], level
        assert again.metadata["shared"] == full.metadata["shared"], level


def test_a_ttgir_warp_count_edit_flows_into_the_metadata_and_the_binary(compiled, tmp_path):
    spec, full, paths, compiler = compiled("vector_add")
    warps = full.metadata["num_warps"]
    text = paths["ttgir"].read_text().replace(f'"ttg.num-warps" = {warps}', f'"ttg.num-warps" = {warps * 2}')
    text = text.replace(f"warpsPerCTA = [{warps}]", f"warpsPerCTA = [{warps * 2}]")
    edited = tmp_path / "add_kernel.ttgir"
    edited.write_text(text)
    out = compiler.compile_file(edited, full.metadata_json())
    assert out.metadata["num_warps"] == warps * 2
    assert f'"amdgpu-flat-work-group-size"="1,{warps * 2 * 64}"' in out.levels["llir"]


def test_the_source_map_reads_amdgcn_line_info(compiled):
    spec, full, paths, _ = compiled("vector_add")
    smap = srcmap.build(full.levels, None, full.python)
    text = full.levels["amdgcn"].splitlines()
    load_line = next(i for i, row in enumerate(open(spec.file).read().splitlines(), 1) if "tl.load(x_ptr" in row)
    loads = [n for n, row in enumerate(text, 1) if "buffer_load_dword" in row]
    assert loads and any((spec.file, load_line) in smap.python_lines("amdgcn", n) for n in loads)
    # the join: the Python line of a load finds AMDGCN lines and TTGIR lines alike
    related = smap.related("python", load_line)
    assert related["amdgcn"] and related["ttgir"] and related["llir"]


def test_a_broken_amdgcn_file_is_reported_at_its_line(compiled, tmp_path):
    spec, full, paths, compiler = compiled("vector_add")
    text = paths["amdgcn"].read_text()
    lines = text.splitlines()
    line = next(i for i, row in enumerate(lines, 1) if row.strip().startswith("v_pk_add_f32"))
    broken = tmp_path / "add_kernel.amdgcn"
    broken.write_text(text.replace("v_pk_add_f32", "v_pk_add_f33", 1))
    with pytest.raises(WorkbenchError) as info:
        compiler.compile_file(broken, full.metadata_json())
    d = info.value.diagnostics[0]
    assert (d.file, d.line) == (str(broken), line), d
    assert "instruction" in d.message and "\n" not in str(d), d


def test_an_amdgcn_file_for_another_arch_is_refused_with_the_target_to_pass(compiled, tmp_path):
    spec, full, paths, compiler = compiled("vector_add")
    other = tmp_path / "add_kernel.amdgcn"
    other.write_text(paths["amdgcn"].read_text().replace("gfx942", "gfx90a"))
    with pytest.raises(WorkbenchError, match=r"for hip:gfx90a, but the target is hip:gfx942 \(pass --target hip:gfx90a\)"):
        compiler.compile_file(other, full.metadata_json())


def test_an_nvidia_level_is_refused_for_an_amd_target(compiled, tmp_path):
    spec, full, paths, compiler = compiled("vector_add")
    ptx = tmp_path / "add_kernel.ptx"
    ptx.write_text(".version 8.0\n.target sm_90\n")
    with pytest.raises(WorkbenchError, match="cannot compile from level 'ptx' for hip:gfx942"):
        compiler.compile_file(ptx, full.metadata_json())


@pytest.mark.parametrize("level", ["ttir", "ttgir"])
def test_dump_rewrites_compile_for_amd(compiled, level):
    for name in ("vector_add", "matmul"):
        spec, full, paths, compiler = compiled(name)
        text = full.levels[level]
        names = [re.match(r"\s*(%[\w.$-]+)", next(r for r in text.splitlines() if f"= {op}" in r)).group(1)
                 for op in ("tt.get_program_id", "tt.make_range")]
        rw = dump_mlir.rewrite_mlir(text, level, names, pid=(0, 0, 0), iterations=2)
        out = compiler.compile_level(level, rw.text, full.metadata, with_sass=False)
        assert out.levels["hsaco"][:4] == b"\x7fELF", name


def test_other_amd_archs_compile_vector_add():
    cap = run_script(EXAMPLES / "vector_add.py", mode="compile-only", target="hip:gfx90a")
    spec = cap.specs[0]
    for arch in ("gfx90a", "gfx950"):
        full = Compiler(f"hip:{arch}", StageCache(None)).compile_python(
            spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs, spec.options)
        assert f'--{arch}"' in full.levels["amdgcn"] and full.levels["hsaco"][:4] == b"\x7fELF"


def test_running_an_amd_version_says_it_needs_a_rocm_gpu(tmp_path):
    from workbench.session.session import Session
    script = tmp_path / "vector_add.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", script)
    session = Session(script, target=TARGET, mode="interpret", with_sass=False)
    try:
        opened = session.open()
        assert opened["target"] == TARGET and opened["kernels"][0]["files"]["amdgcn"].endswith(".amdgcn")
        spec_id = opened["kernels"][0]["spec"]["spec_id"]
        edit = session.workspace.edit(opened["kernels"][0]["spec"]["folder_name"])
        res = session.apply(spec_id, edit / "add_kernel.amdgcn")
        assert res["level"] == "amdgcn", res
        assert res["status"] == "compiled-only", res
        assert res["message"] == ("compiled only: hip:gfx942 kernels run on a ROCm GPU (AMD), "
                                         "and this machine has none")
    finally:
        session.close()


@pytest.mark.gpu
def test_gpu_an_amd_target_on_an_nvidia_machine_never_launches_amd_code(tmp_path):
    """On the H200: the script runs on the card, the kernels compile for gfx942, IR-level
    versions say they need a ROCm GPU and Python-level ones run in the interpreter."""
    from workbench.session.session import Session
    script = tmp_path / "vector_add.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", script)
    session = Session(script, target=TARGET, with_sass=False)
    try:
        opened = session.open()
        assert opened["target"] == TARGET and opened["gpu"] is False
        spec_id = opened["kernels"][0]["spec"]["spec_id"]
        assert session.run(spec_id).status == "ok"
        edit = session.workspace.edit(opened["kernels"][0]["spec"]["folder_name"])
        res = session.apply(spec_id, edit / "add_kernel.ttgir")
        assert res["status"] == "compiled-only" and "ROCm GPU" in res["message"], res
    finally:
        session.close()


@pytest.mark.parametrize("level", ["llir", "amdgcn"])
def test_a_fresh_process_compiles_from_amd_llir_and_amdgcn(compiled, tmp_path, level):
    """Nothing ran make_llir in that process: LLVM's AMDGPU target must still be set up."""
    from helpers import run_cli
    spec, full, paths, _ = compiled("vector_add")
    proc = run_cli("compile", str(paths[level]), "--target", TARGET, "--out", str(tmp_path / "out"),
                   env={"WORKBENCH_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out" / "add_kernel.hsaco").read_bytes() == full.levels["hsaco"]

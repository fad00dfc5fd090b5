"""A compile served from the stage cache gives the same launch metadata as one that ran every
stage. (Seen on the H200: a TTGIR edit whose metadata already named the kernel cached its PTX
stage without the name; a later Python edit that lowered to the same LLIR was served that entry
and its launch failed with "'KernelMetadata' object has no attribute 'name'".)"""

from __future__ import annotations

from workbench.compiler.cache import StageCache
from workbench.compiler.stages import Compiler

LAUNCH_KEYS = ("name", "num_warps", "shared", "global_scratch_size", "tmem_size")


def test_a_stage_that_sets_a_key_to_the_value_it_had_still_caches_it(compiled):
    _, original = compiled("vector_add")
    edited = original.levels["ttgir"].replace("arith.addf", "arith.subf")
    base = original.metadata_json()
    compiler = Compiler("cuda:90", StageCache(None))
    first = compiler.compile_level("ttgir", edited, base, with_sass=False)  # runs every stage below TTGIR
    assert not any(s.cached for s in first.stages)
    # the same LLIR reached again from metadata that does not name the kernel: every stage is a hit
    lean = {k: v for k, v in base.items() if k not in ("name", "shared")}
    again = compiler.compile_level("ttgir", edited, lean, with_sass=False)
    assert all(s.cached for s in again.stages)
    fresh = Compiler("cuda:90", StageCache(None)).compile_level("ttgir", edited, lean, with_sass=False)
    for key in LAUNCH_KEYS:
        assert again.metadata.get(key) == fresh.metadata.get(key), key
    assert again.metadata["name"] == "add_kernel"


def test_edits_and_reverts_at_every_level_keep_working(tmp_path):
    """The sequence seen failing on the H200, through the runner as the app drives it: a TTGIR
    edit, a Python edit, the TTGIR edited back, the Python edited back (with a comment)."""
    import shutil
    from pathlib import Path

    import torch

    from helpers import EXAMPLES
    from workbench.runner.client import RunnerClient

    gpu = torch.cuda.is_available()
    script = tmp_path / "vector_add.py"
    shutil.copyfile(EXAMPLES / "vector_add.py", script)
    with RunnerClient(kernel_timeout=20) as client:
        opened = client.call("open", script=str(script), with_sass=False)
        edit = Path(opened["kernels"][0]["edit"])
        py, ttgir = edit / "add_kernel.py", edit / "add_kernel.ttgir"

        def apply(path, old, new):
            text = path.read_text()
            assert old in text, (path, old)
            path.write_text(text.replace(old, new, 1))
            return client.call("apply", kernel="add_kernel", path=str(path))

        ir_ok = "mismatch" if gpu else "compiled-only"
        assert apply(ttgir, "arith.addf", "arith.subf")["status"] == ir_ok
        assert apply(py, "x + y, mask=mask", "x - y, mask=mask")["status"] == "mismatch"
        assert apply(ttgir, "arith.subf", "arith.addf")["status"] == ("ok" if gpu else "compiled-only")
        back = apply(py, "x - y, mask=mask", "x + y, mask=mask")
        assert back["status"] == "ok", back
        assert apply(py, "    pid = tl.program_id(axis=0)",
                     "    pid = tl.program_id(axis=0)  # back to the original")["status"] == "ok"

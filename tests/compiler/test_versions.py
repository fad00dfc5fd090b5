"""The compile paths from every level, under each supported Triton release.

The releases are unpacked side by side into .triton-versions/<version> (``make versions``; CI
does it). Each runs in its own process: one Python process holds one Triton.
"""

from __future__ import annotations

import pytest

from helpers import ROOT, report_under_triton

VERSIONS = ["3.0.0", "3.1.0", "3.2.0", "3.3.1", "3.4.0", "3.5.1", "3.6.0", "3.7.1", "3.8.0", "3.9.0"]


@pytest.mark.parametrize("version", VERSIONS)
def test_compile_paths_under_triton(version):
    report = report_under_triton(version, "version_check.py")
    cases = report["cases"]
    expected_examples = {"vector_add", "matmul"} | ({"matmul_tma"} if version >= "3.4" else set()) \
        | ({"gluon_vector_add"} if version >= "3.4" else set())
    assert {key.split("/")[0] for key in cases} == expected_examples
    # what an old Triton lacks is a one-line error and a sentence, never a traceback
    unsupported = report.get("unsupported", {})
    assert set(unsupported) == {"matmul_tma", "gluon_vector_add"} - expected_examples
    for name, error in unsupported.items():
        assert error.startswith(str(ROOT / "examples" / f"{name}.py") + ":") and " error: " in error, error
        assert "\n" not in error and "Traceback" not in error, error
        feature = {"matmul_tma": "tensor descriptors", "gluon_vector_add": "Gluon kernels"}[name]
        assert error.endswith(f"({feature} need Triton 3.4 or later; this is Triton {version})"), error
    assert (report["gluon_missing"] is None) == (version >= "3.4")
    if version < "3.4":
        assert report["gluon_missing"] == f"Gluon kernels need Triton 3.4 or later; this is Triton {version}"
    # Triton's interpreter: right where it works, and where it does not (3.0 and 3.1 under numpy 2), said
    import numpy
    broken = version < "3.2" and int(numpy.__version__.split(".")[0]) >= 2
    assert report["interpreted"]["correct"] is not broken
    assert (report["interpreter_problem"] is not None) is broken
    if broken:
        assert report["interpreter_problem"] in report["interpreted"]["notes"]
        assert report["interpreter_problem"].startswith(f"Triton {version}'s interpreter computes nothing under numpy")
    # the kernel's line of an inlined tl.sum maps to its shuffles; before 3.4 no PTX says where it was inlined
    old_ptx = version < "3.4"
    assert report["inlined"] == {"ttgir": True, "llir": True, "ptx": not old_ptx, "sass": not old_ptx}
    for key, case in cases.items():
        assert case["sass"] and case["name"], key
        # every level maps back to the kernel's Python lines
        assert set(case["mapped"]) == set(case["levels"]) - {"cubin", "glir"}, (key, case["mapped"])
        dumps = {k: v for k, v in case.items() if k.startswith("dump_")}
        if key.split("/")[0] in ("vector_add", "matmul"):
            assert dumps == {"dump_ttir": True, "dump_ttgir": True}, (key, dumps)
        restarts = {k: v for k, v in case.items() if k.startswith("from_")}
        assert len(restarts) >= 4 and all(restarts.values()), (key, restarts)
        broken = {k: v for k, v in case.items() if k.startswith("broken_")}
        assert all(v is True for v in broken.values()), (key, broken)
    assert sum(1 for key in cases if key.startswith("vector_add/")) == 2

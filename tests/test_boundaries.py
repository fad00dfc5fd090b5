"""The process boundaries of the design: the core never imports textual; importing the
package (as the app process does) pulls in neither torch nor triton; the model is pure data."""

from __future__ import annotations

import ast
import subprocess
import sys

from conftest import ROOT

CORE_MODULES = ["workbench.core." + m for m in
                ("levels", "errors", "isolate", "cache", "compat", "metadata", "cubin", "sass", "srcmap",
                 "pipeline", "capture", "ncu", "roofline", "hotlines", "profile")]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_the_core_imports_with_textual_absent():
    code = ("import sys; sys.modules['textual'] = None\n"
            + "".join(f"import {m}\n" for m in CORE_MODULES)
            + "assert not any(k == 'textual' or k.startswith('textual.') for k in sys.modules if sys.modules[k])\n"
            + "print('ok')")
    proc = _run(code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_the_package_and_cli_import_without_torch_or_triton():
    code = ("import sys\nimport workbench, workbench.cli, workbench.core, workbench.core.levels, "
            "workbench.core.errors, workbench.core.roofline, workbench.tui.widgets.profile_view\n"
            "bad = [m for m in ('torch', 'triton') if m in sys.modules]\nprint(bad)")
    proc = _run(code)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr


def test_the_app_imports_without_torch_or_triton():
    """The app process (its Passes tab reads pass files with core.srcmap, text only) never loads either."""
    code = ("import sys\nimport workbench.tui.app, workbench.tui.widgets.passes_view\n"
            "bad = [m for m in ('torch', 'triton') if m in sys.modules]\nprint(bad)")
    proc = _run(code)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr


def test_the_model_imports_nothing_of_ours_and_nothing_outside_the_standard_library():
    """workbench/model/ is pure data every layer may use: its modules (read with ast, not run)
    import only the standard library and each other."""
    folder = ROOT / "workbench" / "model"
    files = sorted(folder.glob("*.py"))
    assert (folder / "__init__.py") in files and (folder / "levels.py") in files, f"{folder}: no model package"
    bad = []
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level == 1:
                    continue   # a module of the model itself
                names = ["." * node.level + (node.module or "")]
            else:
                continue
            bad += [f"{file.name}:{node.lineno}: {name}" for name in names
                    if name.split(".")[0] not in sys.stdlib_module_names and not name.startswith("workbench.model")]
    assert not bad, bad

"""The process boundaries of the design: the engine (model, compiler, runtime, session,
instrument, profile, runner) never imports textual; importing the
package (as the app process does) pulls in neither torch nor triton; the model is pure data."""

from __future__ import annotations

import ast
import subprocess
import sys

from helpers import ROOT

ENGINE = ("model", "compiler", "runtime", "session", "instrument", "profile", "runner")
# every module of the engine's packages (an exported run.py is a script of its own, not imported)
CORE_MODULES = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                      for pkg in ENGINE for p in (ROOT / "workbench" / pkg).rglob("*.py")
                      if p.name not in ("export_run.py", "__main__.py"))


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
    code = ("import sys\nimport workbench, workbench.cli, workbench.model.level_files, "
            "workbench.model.diagnostics, workbench.profile.roofline, workbench.tui.widgets.profile_view\n"
            "bad = [m for m in ('torch', 'triton') if m in sys.modules]\nprint(bad)")
    proc = _run(code)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr


def test_the_app_imports_without_torch_or_triton():
    """The app process (its Passes tab reads pass files with model.srcmap, text only) never loads either."""
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


# -- no import circle among our modules -----------------------------------------------------------

PACKAGE = ROOT / "workbench"


def _module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Each module of ours -> the modules of ours it imports, at module level or inside a function
    (a deferred import still closes a circle: a newcomer cannot tell which side loads first)."""
    import ast
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                # `from a.b import c`: the module a.b.c when there is one, else a.b
                targets.update(f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names)
        # `import a.b.c` names a.b.c; a name that is no module of ours (a function, torch) is no edge
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph, as the modules along it (the first repeated at the end), or None."""
    state: dict[str, int] = {}   # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _circles(graph: dict[str, set[str]]) -> dict[frozenset[str], list[list[str]]]:
    """Every circle, taken out one at a time until none is left, grouped by the modules that
    import each other (two circles sharing a module are one group)."""
    graph = {m: set(t) for m, t in graph.items()}
    groups: dict[frozenset[str], list[list[str]]] = {}
    while (cycle := _cycle(graph)) is not None:
        graph[cycle[-2]].discard(cycle[-1])   # (that edge is said; look for the next circle)
        key, paths = frozenset(cycle), [cycle]
        for other in [k for k in groups if k & key]:
            key, paths = key | other, groups.pop(other) + paths
        groups[key] = paths
    return groups


# circles inside core/, left for the split of core/ by family (issue 27): a new circle fails, and
# one broken must leave this list
KNOWN_CIRCLES: list[frozenset] = []


# scripts, run rather than imported: a __main__, and the run.py copied into every export
NOT_IMPORTED = {"workbench.session.export_run"}


def test_the_import_graph_sees_a_circle():
    """The check itself: circles through deferred imports are found, grouped and named."""
    graph = {"a": {"b"}, "b": {"c", "x"}, "c": {"a"}, "x": {"b"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert _circles(graph) == {frozenset("abcx"): [["a", "b", "c", "a"], ["b", "x", "b"]],
                               frozenset("de"): [["d", "e", "d"]]}
    assert _circles({"a": {"b"}, "b": set()}) == {}


def test_every_module_imports_and_none_imports_in_a_circle():
    graph = _import_graph()
    assert {"workbench.cli", "workbench.tui.app", "workbench.session.session"} <= set(graph)
    assert "workbench.model.diagnostics" in graph["workbench.session.session"]
    circles = _circles(graph)
    new = [" and ".join(" -> ".join(p) for p in paths) for group, paths in circles.items() if group not in KNOWN_CIRCLES]
    assert not new, "import circle: " + "; ".join(new)
    assert set(circles) == set(KNOWN_CIRCLES), "a known circle is broken: take it off KNOWN_CIRCLES"
    modules = sorted(m for m in graph if not m.endswith("__main__") and m not in NOT_IMPORTED)
    proc = _run("import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules) + "print('ok')")
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_no_test_imports_a_conftest_or_another_test_module():
    """Each folder of tests/ has a conftest.py of its own, so `from conftest import X` names whichever
    one was loaded first (a merged test once got tests/tui's and failed in CI): fixtures come from
    the conftest beside a test, the rest from tests/helpers.py or a module like tests/tui/pilot.py."""
    bad = []
    for file in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            bad += [f"{file.relative_to(ROOT)}:{node.lineno}: {n}" for n in names
                    if n == "conftest" or n.split(".")[-1].startswith("test_")]
    assert not bad, bad

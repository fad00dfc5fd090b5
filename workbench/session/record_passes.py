"""``workbench passes``, run in the runner: the IR after every pass of a script's kernels (or
of a .ttir/.ttgir file's stages below it) written as files, and a saved version's passes beside
the original's. Each answers the JSON ``--json`` prints (``report``), and what goes to stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.model.compile_table import PASS_STAGES
from workbench.model.diagnostics import WorkbenchError
from workbench.runtime.scripted import Progress
from workbench.session.compile_levels import (capture_of, compiler_target, make_compiler, owning, selected,
                                              stated_target)
from workbench.session.workspace import Workspace


def passes_of_script(script: str, argv: list[str] | None = None, kernel: str | None = None,
                     stage: str | None = None, target: str | None = None, out: str | None = None,
                     version: int | None = None, workspace: str | None = None, interpret: bool = False,
                     script_timeout: float | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """``version``: compare that saved version's passes with the original's (read, never written).
    ``error``: what stops the command after the script's error and notes are said."""
    path = Path(script)
    with owning(path, not out and version is None):
        compiler = make_compiler(target)
        capture, said = capture_of(path, argv or [], compiler_target(compiler), interpret, script_timeout, progress)
        try:
            specs = selected(capture, kernel, path)
            home = Workspace(workspace) if workspace else Workspace.beside(path)
            if version is not None:
                if len(specs) > 1:
                    raise WorkbenchError.at(str(path), "--version needs one kernel: name it with --kernel")
                return said | {"compare": _compare_version(compiler, specs[0], home, version)}
        except WorkbenchError as e:
            return said | {"error": e.to_json()}
        report = []
        for spec in specs:
            result = compiler.compile_spec(spec, with_sass=False, record_passes=_stages(stage))
            folder = Path(out) / spec.folder_name if out else home.kernel_dir(spec.folder_name) / "passes"
            report.append(_write(result, folder, spec.kernel, stage, {"kernel": spec.kernel, "spec": spec.spec_id}))
    return said | {"report": {"target": compiler_target(compiler), "kernels": report}}


def passes_of_file(path: str, stage: str | None = None, target: str | None = None, out: str | None = None,
                   metadata: str | None = None) -> dict[str, Any]:
    """The passes of the stages below a .ttir/.ttgir file (passes/ beside it by default)."""
    from workbench.compiler import metadata as md
    p = Path(path)
    meta_path = Path(metadata) if metadata else md.find_beside(p)
    base = md.load(meta_path) if meta_path else None
    compiler = make_compiler(target or stated_target(base, meta_path))
    result = compiler.compile_file(p, base, with_sass=False, record_passes=_stages(stage))
    folder = Path(out) if out else p.parent / "passes"
    kernel = _write(result, folder, result.name, stage, {"kernel": result.name, "input": str(p)})
    return {"report": {"target": compiler_target(compiler), "kernels": [kernel]}}


def _stages(stage: str | None) -> tuple[str, ...]:
    """The stages to record: reading the IR after each pass costs time, so only those asked for."""
    return (stage,) if stage else PASS_STAGES


def _write(result, folder: Path, kernel: str, stage: str | None, head: dict[str, Any]) -> dict[str, Any]:
    from workbench.compiler import passes
    plist = passes.pass_list(result.passes)
    passes.write_pass_files(plist, folder, kernel, result.metadata_json())
    rows = [p.summary() for p in plist if stage is None or p.stage == stage]
    return {**head, "folder": str(folder), "passes": rows}


def _compare_version(compiler, spec, home: Workspace, version: int) -> dict[str, Any]:
    from workbench.compiler import passes
    try:
        info = home.version(spec.folder_name, version)
    except KeyError:
        raise WorkbenchError.at(str(home.versions_dir(spec.folder_name)), f"no version {version} of "
                                                                          f"{spec.folder_name}") from None
    return {"target": compiler_target(compiler), "kernel": spec.kernel, "version": version, "level": info.level,
            "passes": passes.compare_version(compiler, spec, info)}

"""``workbench compile``, run in the runner: a script's kernels to every level (into the
workspace's original/, as its one writer, or --out), a level file to the levels below it, and a
pass file (``NN-<stage>-<pass>.mlir``) from after its pass. Each answers JSON: what ``--json``
prints (``report``), the table's rows, and what goes to stderr."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from workbench.model import srcmap
from workbench.model.compile_table import compile_row
from workbench.model.diagnostics import WorkbenchError
from workbench.runtime.scripted import Progress, run_watched
from workbench.session.lock import writing
from workbench.session.workspace import Workspace

# what the user of compile or passes does when the app (or another command) holds the workspace
BUSY_ELSEWHERE = "--out DIR writes the levels elsewhere"


def make_compiler(target: str | None):
    from workbench.compiler import compat
    from workbench.compiler.cache import StageCache, default_dir
    from workbench.compiler.stages import Compiler
    try:
        return Compiler(target, StageCache(default_dir()))
    except compat.TargetError as e:
        raise WorkbenchError.at("--target", str(e)) from None


def compiler_target(compiler) -> str:
    from workbench.compiler import compat
    return compat.target_str(compiler.target)


def stated_target(base: dict | None, meta_path: Path | None) -> str | None:
    """The target a level's metadata names (None: it names none)."""
    if not base or not base.get("target"):
        return None
    from workbench.compiler import compat
    try:
        return compat.target_str(compat.target_from_json(base["target"]))
    except compat.TargetError as e:
        raise WorkbenchError.at(str(meta_path), f"its target: {e}") from None


def owning(script: Path, write_here: bool):
    """The workspace's lock while original/ (or passes/) is written there; nothing elsewhere (--out)."""
    return writing(Workspace.beside(script).root, BUSY_ELSEWHERE) if write_here else contextlib.nullcontext()


def capture_of(script: Path, argv: list[str], target: str, interpret: bool, script_timeout: float | None,
               progress: Progress | None):
    """The script's launches, and what to say of its run (its error, the notes) before anything else."""
    capture = run_watched(script, progress, argv=argv, target=target, mode="interpret" if interpret else "auto",
                          time_limit=script_timeout)
    said = {"script_error": capture.error.to_json() if capture.error else None, "notes": list(capture.notes)}
    return capture, said


def selected(capture, kernel: str | None, script: Path) -> list:
    specs = capture.select(kernel)
    if not capture.specs:
        raise WorkbenchError.at(str(script), "the script launched no Triton kernel")
    if not specs:
        known = ", ".join(sorted({s.kernel for s in capture.specs}))
        raise WorkbenchError.at(str(script), f"no kernel named {kernel!r} was launched (launched: {known})")
    return specs


def compile_script(script: str, argv: list[str] | None = None, kernel: str | None = None, target: str | None = None,
                   out: str | None = None, interpret: bool = False, with_sass: bool = True, with_srcmap: bool = False,
                   script_timeout: float | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Every captured kernel of ``script`` (or ``kernel``) to every level. ``error``: what stops the
    command after the script's error and notes are said (no kernel launched, none of that name)."""
    path = Path(script)
    with owning(path, not out):
        compiler = make_compiler(target)
        capture, said = capture_of(path, argv or [], compiler_target(compiler), interpret, script_timeout, progress)
        try:
            specs = selected(capture, kernel, path)
        except WorkbenchError as e:
            return said | {"error": e.to_json()}
        out_root = Path(out) if out else Workspace.beside(path).root
        rows, failures, kernels = [], 0, []
        for spec in specs:
            folder = out_root / spec.folder_name / ("" if out else "original")
            try:
                result = compiler.compile_spec(spec, with_sass=with_sass)
            except WorkbenchError as e:
                failures += 1
                kernels.append({"spec": spec.to_json(), "error": e.to_json()})
                continue
            files = result.write(folder, spec.stem)
            rows.append(compile_row(spec, result))
            entry: dict[str, Any] = {"spec": spec.to_json(), "result": result.summary(),
                                     "files": {k: str(v) for k, v in files.items()},
                                     "launches": [lc.to_json() for lc in capture.launches_of(spec.spec_id)]}
            if with_srcmap:
                entry["srcmap"] = srcmap.build(result.levels, result.sass_lines, result.python,
                                               result.sass_ptx_lines).to_json()
            kernels.append(entry)
    report = {"target": compiler_target(compiler), "script": str(path.resolve()), "mode": capture.mode,
              "notes": capture.notes, "script_error": said["script_error"], "out": str(out_root), "kernels": kernels}
    return said | {"report": report, "rows": rows, "failures": failures}


def compile_file(path: str, target: str | None = None, metadata: str | None = None, out: str | None = None,
                 with_sass: bool = True, with_srcmap: bool = False) -> dict[str, Any]:
    """A level file (.ttir .ttgir .llir .ptx .cubin ...) to the levels below it, or a pass file
    (``NN-<stage>-<pass>.mlir``, written by ``workbench passes``) from after its pass."""
    p = Path(path)
    if p.suffix.lower() == ".mlir":
        return _compile_pass_file(p, target, metadata, out, with_sass, with_srcmap)
    from workbench.compiler import metadata as md
    from workbench.compiler.sources import read_level_file
    from workbench.model.level_files import level_of
    level = level_of(p)
    compiler = make_compiler(target) if target else None  # an unknown target is said first
    meta_path = Path(metadata) if metadata else md.find_beside(p)
    base = md.load(meta_path) if meta_path else None
    if compiler is None:  # what the level (or its metadata) says it is for
        content = read_level_file(p)
        facts = md.level_facts(level, content) if isinstance(content, str) else {}
        compiler = make_compiler(md.stated_target(facts) or stated_target(base, meta_path))
    result = compiler.compile_file(p, base, with_sass=with_sass)
    folder = Path(out) if out else p.parent
    files = result.write(folder, p.stem)
    if level in files and folder.resolve() == p.parent.resolve():
        files.pop(level)  # the input itself is never rewritten
    report = {"target": compiler_target(compiler), "input": str(p), "level": level, "result": result.summary(),
              "files": {k: str(v) for k, v in files.items()}, "srcmap": _srcmap(result) if with_srcmap else None}
    return {"report": report, "rows": [compile_row(None, result)], "out": str(folder)}


def _compile_pass_file(path: Path, target: str | None, metadata: str | None, out: str | None,
                       with_sass: bool, with_srcmap: bool) -> dict[str, Any]:
    """The restart after the pass a file's header names, through the rest of its stage and below."""
    from workbench.compiler import metadata as md, passes
    try:
        text = path.read_text()
    except UnicodeDecodeError as e:
        raise WorkbenchError.at(str(path), f"not UTF-8 text: byte 0x{e.object[e.start]:02x} cannot be read",
                                e.object.count(b"\n", 0, e.start) + 1) from None
    header = passes.read_pass_header(path, text)
    meta_path = Path(metadata) if metadata else header.metadata
    if meta_path is None or not meta_path.is_file():
        raise WorkbenchError.at(str(path), f"the metadata it names ({meta_path}) is not there: pass --metadata", 2)
    base = md.load(meta_path)
    compiler = make_compiler(target or stated_target(base, meta_path))
    result = compiler.compile_level("", text, base, file=str(path), with_sass=with_sass,
                                    after_pass=(header.stage, header.index))
    folder = Path(out) if out else path.parent
    files = result.write(folder, path.stem)
    report = {"target": compiler_target(compiler), "input": str(path), "after": [header.stage, header.index],
              "result": result.summary(), "files": {k: str(v) for k, v in files.items()},
              "srcmap": _srcmap(result) if with_srcmap else None}
    row = compile_row(None, result)
    row["spec"] = f"after {path.stem}"
    return {"report": report, "rows": [row], "out": str(folder)}


def _srcmap(result) -> dict[str, Any]:
    """A level file's source map (no Python: its kernel's source is not at hand)."""
    return srcmap.build(result.levels, result.sass_lines, sass_ptx_lines=result.sass_ptx_lines).to_json()

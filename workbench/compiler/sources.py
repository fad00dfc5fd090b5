"""Where a compile starts: a kernel's Python (the front end's module), or the text of a level
(a pass file's too: the IR after one pass of a stage), checked against the target and its
metadata; each gives the start's key (by content) and what makes its module."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any, Callable

from workbench.compiler import compat, metadata as md, passes as passes_mod, scratch
from workbench.compiler.cache import digest
from workbench.compiler.cubin import read_cubin
from workbench.compiler.isolate import captured_output
from workbench.model.diagnostics import Diagnostic, WorkbenchError, parse_mlir_diagnostics, utf8_text
from workbench.model.level_files import BINARY_LEVELS, ir_levels, level_of

MLIR_LEVELS = ("source", "ttir", "ttgir")


def python_start(fn: Any, signature: dict, constexprs: dict, attrs: dict, options, backend,
                 target) -> tuple[str, Callable[[], Any], dict[str, Any] | None]:
    """A kernel's Python as a compile's start: its key, the front end that makes its module, and
    where its source is (:func:`python_location`)."""
    src = compat.ast_source(fn, signature, constexprs, attrs)
    py = python_location(fn)
    # the source's file is in every level's locations: the same kernel in two files is two keys
    start_key = "py:" + src.hash() + ":" + (py["file"] if py else "")

    def front_end():
        context = compat.new_context(backend)
        return compat.make_ir(src, target, options, backend, context)
    return start_key, front_end, py


def resume_point(level: str, content: str | bytes, file: str,
                 after_pass: tuple[str, int] | None) -> tuple[str, tuple[str, int] | None]:
    """The level a text is compiled as, and the pass it follows (``(stage, index)``) if any."""
    if after_pass is None and level in ("ttir", "ttgir") and isinstance(content, str):
        # a version started from a pass keeps the pass file's header, which says where
        head = passes_mod.header_of(content, file)
        after_pass = (head.stage, head.index) if head else None
    if after_pass is not None:
        level = passes_mod.level_of_stage(after_pass[0])  # what the text looks like
    return level, after_pass


def check_level(level: str, content: str | bytes, base_metadata: dict[str, Any] | None, file: str,
                target, older_target_ok: bool = False) -> dict[str, Any]:
    """A level's text checked before it is compiled (for this target, with the metadata it needs);
    the facts it states itself (name, num_warps, target, threads)."""
    if level not in ir_levels(target.backend):
        theirs = "an AMD" if level in ("amdgcn", "hsaco") else "an NVIDIA"
        raise WorkbenchError.at(file, f"cannot compile from level {level!r} for {compat.target_str(target)}"
                                + (f": it is {theirs} target's level" if level in BINARY_LEVELS | {"ptx", "amdgcn"}
                                   else ""))
    if isinstance(content, str) and not content.strip():  # MLIR aborts the process on it, LLVM asserts
        raise WorkbenchError.at(file, "is empty: there is no kernel in it to compile")
    if level in ("llir", "ptx", "cubin", "amdgcn", "hsaco") and base_metadata is None:
        raise WorkbenchError.at(file, f"compiling from {level.upper()} needs the kernel's metadata: "
                                      f"put {Path(file).with_suffix('.json').name} beside it or pass --metadata")
    base = dict(base_metadata or {})
    for _, sentence in md.problems(base):  # from a file, md.load has said it at its line
        raise WorkbenchError.at(file, f"the metadata is wrong: {sentence}")
    facts = md.level_facts(level, content) if isinstance(content, str) else {}
    check_target(level, facts, file, target, older_target_ok)
    if facts.get("threads", 0) % 32:
        raise WorkbenchError.at(file, f".reqntid {facts['threads']} is not a whole number of warps (32 threads "
                                      "each): the block's thread count must be num_warps * 32",
                                _line_of(file, ".reqntid"))
    return facts


def level_start(level: str, content: str | bytes, file: str, after_pass: tuple[str, int] | None,
                metadata: dict, backend) -> tuple[str, Callable[[], Any]]:
    """A level's text as a compile's start: its key (its content; and the pass it follows) and what
    makes its module (MLIR is parsed only when a stage must run, the TMA descriptors described then)."""
    if level in ("ttir", "ttgir"):
        def start_obj():
            module = parse_mlir(backend, content, file)
            if (after_pass is None or after_pass[0] in ("ttir", "ttgir")) and not compat.has_kernel(module):
                raise WorkbenchError.at(file, "holds no kernel: a public tt.func is what is compiled")
            if level == "ttgir" and (after_pass is None or after_pass[0] == "ttgir"):
                # make_ttgir would have described the TMA descriptors; parsed only when the
                # next stage really runs, and then cached with it
                meta = compat.tensordesc_meta(module)
                if meta is not None:
                    metadata["tensordesc_meta"] = meta
            return module
    else:
        def start_obj():
            return content
    start_key = digest(level, content) if after_pass is None else digest("after", *map(str, after_pass), content)
    return start_key, start_obj


def check_target(level: str, facts: dict, file: str, target: Any, older_target_ok: bool = False) -> None:
    """A level that states its target is compiled for that target. ``older_target_ok``: a TTIR or
    TTGIR stated for an older GPU of the same kind goes on for ``target`` (a launch on the GPU at
    hand, as Triton compiles such a file: its passes read the module's own target)."""
    if older_target_ok and older_target(level, facts, target):
        return
    stated = md.stated_target(facts)
    if stated and compat.parse_target(stated).arch != target.arch:
        raise WorkbenchError.at(file, f"this {level.upper()} is for {stated}, but the target is "
                                      f"{compat.target_str(target)} (pass --target {stated})",
                                _line_of(file, "ttg.target" if level == "ttgir" else ".target"))


def older_target(level: str, facts: dict, target: Any) -> str | None:
    """The target a TTIR/TTGIR states, where it is an older GPU of ``target``'s kind."""
    stated = md.stated_target(facts) if level in ("ttir", "ttgir") else None
    if not stated:
        return None
    theirs = compat.parse_target(stated)
    older = theirs.backend == target.backend and isinstance(theirs.arch, int) and isinstance(target.arch, int) \
        and theirs.arch < target.arch
    return stated if older else None


def check_cubin(cubin: bytes, metadata: dict, file: str, target: Any) -> None:
    info = read_cubin(cubin, file)
    name = metadata.get("name")
    if not name:
        raise WorkbenchError.at(file, "the metadata does not name the kernel (key 'name')")
    if name not in info.functions:
        raise WorkbenchError.at(file, f"the cubin holds kernel(s) {', '.join(info.functions) or 'none'}, "
                                      f"but its metadata names {name!r}")
    if info.arch != target.arch:
        raise WorkbenchError.at(file, f"the cubin is for sm_{info.arch}, but the target is "
                                      f"{compat.target_str(target)}")
    threads, warps = info.threads(name), metadata.get("num_warps")
    if threads and warps and threads != int(warps) * 32:
        raise WorkbenchError.at(file, f"the binary was compiled for {threads} threads per block (.reqntid, "
                                      f"{threads // 32} warps), but the metadata says num_warps {warps}: "
                                      f"set num_warps to {threads // 32} or recompile from a level above")


def parse_mlir(backend, content: str | bytes, file: str):
    context = compat.new_context(backend)
    with scratch.folder() as folder:
        path = file
        if not os.path.exists(file) or Path(file).read_text() != content:
            path = str(folder / ("level" + (Path(file).suffix or ".mlir")))
            Path(path).write_text(content)
        with captured_output() as buf:
            try:
                module = compat.parse_mlir_file(path, context)
            except Exception:
                module = None
    if module is None:
        diags = [Diagnostic(file if d.file == path else d.file, d.line, d.col, d.message, d.severity)
                 for d in parse_mlir_diagnostics(buf.getvalue(), file)]
        raise WorkbenchError(diags or [Diagnostic(file, None, None, "MLIR parse failed")], buf.getvalue())
    return module


def materialize(backend, level: str, content: str | bytes):
    if level in MLIR_LEVELS:
        return parse_mlir(backend, content, f"<{level}>")
    return content


def read_level_file(path: Path, binary: bool | None = None) -> str | bytes:
    """A level file's text (a cubin's bytes), or an error at the line that is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise WorkbenchError.at(str(path), f"cannot read: {e.strerror}") from None
    if binary if binary is not None else level_of(path) in BINARY_LEVELS:
        return data
    return utf8_text(data, str(path)).replace("\r\n", "\n").replace("\r", "\n")  # as read_text() reads


def python_location(fn: Any) -> dict[str, Any] | None:
    """Where a kernel's source is: file, first line (decorators included), last line, and
    the ``def`` line, which Triton's front-end line numbers count from."""
    try:
        target = getattr(fn, "fn", fn)
        lines, first = inspect.getsourcelines(target)
    except (OSError, TypeError):
        return None
    def_offset = next((i for i, row in enumerate(lines) if row.lstrip().startswith("def ")), 0)
    return {"file": os.path.abspath(inspect.getsourcefile(target)), "first_line": first,
            "last_line": first + len(lines) - 1, "def_line": first + def_offset}


def _line_of(file: str, needle: str) -> int | None:
    try:
        for i, row in enumerate(Path(file).read_text().splitlines(), 1):
            if needle in row:
                return i
    except OSError:
        pass
    return None

"""Dump values from inside a kernel, at any level: results, launches, and the one call the CLI makes.

Levels (what each can dump is in the docstrings of :mod:`workbench.instrument.dump_mlir`,
:mod:`~workbench.instrument.dump_llir` and :mod:`~workbench.instrument.dump_ptx`):

- ``python``: the kernel's own ``workbench.language.dump(x)`` calls. Without a GPU,
  Triton's interpreter runs the script and ``dump`` records each value per program and
  per call (so per loop iteration). With a GPU, the calls compile to markers that become
  TTIR dumps (same machinery as ``ttir``), launched with the captured inputs.
- ``ttir`` / ``ttgir``: any SSA value by name or line, rewritten into a copy of the level's
  text; the rewrite is compiled for the target (and for sm_80 and sm_90 when asked) so a bad
  rewrite is an error before any launch.
- ``llir`` / ``ptx``: a register per thread.

Without a GPU, IR-level dumps stop after compiling: the report says "compiled only: needs a
GPU to run".
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from workbench.compiler import compat
from workbench.instrument.dump_ir import parse_pid
from workbench.instrument.dump_llir import rewrite_llir
from workbench.instrument.dump_mlir import marker_values, rewrite_mlir
from workbench.instrument.dump_ptx import rewrite_ptx
from workbench.instrument.dump_result import (COMPILED_ONLY, DumpReport, DumpResult, arg_names_of, attach_reference, compile_rewrite,
                          launch_dump)
from workbench.model.diagnostics import WorkbenchError

LEVELS = ("python", "ttir", "ttgir", "llir", "ptx")


# -- the Python level under the interpreter -----------------------------------------------

def _interpret_python(script: str, spec_kernel: str, values: list[str], pid, iterations: int,
                      argv: list[str] | None, script_timeout: float | None = None, progress=None):
    """Run the script in Triton's interpreter with ``dump`` recording; returns (capture, recorder)."""
    from .. import language as wl
    from workbench.runtime.capture.script import DEFAULT_SNAPSHOT_LIMIT
    from workbench.runtime.scripted import run_watched
    from triton.runtime import interpreter
    rec = wl.Recorder(spec_kernel)
    orig_run = interpreter.InterpretedFunction.run

    def run(self, *args, **kwargs):
        rec.launch += 1
        return orig_run(self, *args, **kwargs)
    interpreter.InterpretedFunction.run = run
    try:
        with wl.recording(rec):
            capture = run_watched(script, progress, argv=argv, mode="interpret",
                                  snapshot_limit=DEFAULT_SNAPSHOT_LIMIT, time_limit=script_timeout)
    finally:
        interpreter.InterpretedFunction.run = orig_run
    return capture, rec


def _python_sites(fn) -> dict[int, str]:
    """Lines of ``dump(...)`` calls in the kernel's source -> the dumped expression."""
    import ast
    import inspect
    import textwrap
    target = getattr(fn, "fn", fn)
    lines, first = inspect.getsourcelines(target)
    tree = ast.parse(textwrap.dedent("".join(lines)))
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name == "dump" and node.args:
                out[first + node.lineno - 1] = ast.unparse(node.args[0])
    return out


def _select_sites(sites: dict[int, str], values: list[str], file: str, line: int | None) -> list[int]:
    if not sites:
        raise WorkbenchError.at(file, "the kernel has no dump(...) call: name a variable to dump, add `from "
                                      "workbench.language import dump` and dump(x) where x is known, or dump at an "
                                      "IR level", line)
    if not values:
        return sorted(sites)
    chosen = []
    for v in values:
        s = v.strip()
        m = s.removeprefix("line:").removeprefix(":")
        if m.isdigit() and int(m) in sites:
            chosen.append(int(m))
            continue
        hits = [ln for ln, expr in sorted(sites.items()) if expr == s]
        if not hits:
            known = ", ".join(f"{expr} (line {ln})" for ln, expr in sorted(sites.items()))
            raise WorkbenchError.at(file, f"no dump({s}) in the kernel; its dumps: {known}", line)
        chosen.extend(hits)
    return chosen


def _dump_python_interpreted(script, spec_kernel, values, pid, iterations, reference, argv, atol, rtol, report,
                             script_timeout=None, own_pid=False, progress=None):
    """``own_pid``: no program was asked for; a dump() call that names one (``dump(x, 0, 3)``) is
    dumped for it, the others for ``pid``."""
    import numpy as np
    capture, rec = _interpret_python(script, spec_kernel, values, pid, iterations, argv, script_timeout, progress)
    specs = capture.select(spec_kernel)
    if not specs:
        _no_kernel(capture, spec_kernel, script)
    spec = specs[0]
    if capture.error is not None and capture.error.severity == "error" and not rec.values:
        # the interpreter failed inside the kernel: "never reached" would be false
        raise WorkbenchError([capture.error])
    sites = _python_sites(spec.fn)
    variables = [v for v in values if not _names_site(sites, v)]
    snapshot = capture.snapshots.get(spec.spec_id)
    names = arg_names_of(spec, snapshot)
    if variables:
        _dump_variables(spec, snapshot, variables, pid, iterations, reference, names, atol, rtol, report)
    wanted = [v for v in values if v not in variables]
    chosen = _select_sites(sites, wanted, spec.file or script, spec.line) if wanted or not values else []
    for line in chosen:
        per_pid = rec.values.get((spec.kernel, line), {})
        call = rec.calls.get((spec.kernel, line), {})
        want = pid
        if own_pid and call.get("pid") is not None:
            want = tuple(list(call["pid"]) + [0] * (3 - len(call["pid"])))
        if want == "all":
            programs = sorted(per_pid, key=lambda p: (p[2], p[1], p[0]))
        else:
            programs = [tuple(want)] if tuple(want) in per_pid else []
        if not programs:
            res = DumpResult(name=sites[line], level="python", line=line, source=f"dump({sites[line]})", type="",
                             dtype="", shape=[], values=None)
            report.notes.append(f"dump({sites[line]}) at line {line} was never reached by program "
                                f"{'any' if want == 'all' else ','.join(map(str, want))}")
            report.results.append(res)
            continue
        counts = [len(per_pid[p]) for p in programs]
        n = min(max(counts), iterations)
        sample = per_pid[programs[0]][0]
        arr = np.zeros((len(programs), n, *sample.shape), dtype=sample.dtype)
        if arr.dtype.kind == "f":
            arr[:] = np.nan
        for i, p in enumerate(programs):
            for j, val in enumerate(per_pid[p][:n]):
                arr[i, j] = val
        res = DumpResult(name=sites[line], level="python", line=line, source=f"dump({sites[line]})",
                         type=str(call.get("dtype", sample.dtype)), dtype=str(sample.dtype),
                         shape=list(sample.shape), values=arr, programs=programs, iterations=n,
                         in_loop=max(counts) > 1, hits=counts)
        attach_reference(res, reference, names, atol, rtol)
        report.results.append(res)
    if any(c > iterations for r in report.results for c in r.hits):
        report.notes.append(f"only the first {iterations} calls per program are kept (--iterations)")
    return report


def _names_site(sites: dict[int, str], value: str) -> bool:
    """Whether ``value`` names a dump() call (its expression, or its line): else a variable."""
    s = value.strip()
    line = s.removeprefix("line:").removeprefix(":")
    return s in sites.values() or (line.isdigit() and int(line) in sites)


def _dump_variables(spec, snapshot, values, pid, iterations, reference, names, atol, rtol, report, src=None,
                    fn=None) -> None:
    """Variables with no dump() call, read as the app's watches read them (:func:`watch.python_values`):
    ``workbench dump --value x`` and the app's ``x`` (:func:`dump_python_variable`) alike. ``src``
    and ``fn``: an edited kernel's source and function (default: the script's)."""
    from workbench.instrument import watch
    if snapshot is None:
        raise WorkbenchError.at(spec.file or report.script, f"the inputs of {spec.kernel} were not kept (over the "
                                "snapshot limit): its variables cannot be read", spec.line)
    for res in watch.python_values(spec, snapshot, values, pid, iterations, src, fn):
        if res.values is None:
            report.notes.append(f"{res.name} at line {res.line} was never reached by program "
                                f"{'any' if pid == 'all' else ','.join(map(str, pid))}")
        attach_reference(res, reference, names, atol, rtol)
        report.results.append(res)


def dump_python_variable(session, state, name: str, line: int, pid: Any = (0, 0, 0), iterations: int = 16,
                         reference: str | None = None, atol: float | None = None,
                         rtol: float | None = None) -> DumpReport:
    """No GPU: a Python variable of the kernel as edit/ has it (no dump() call needed), where
    ``line`` reads it: the value its assignment on or above that line gives it, through Triton's
    interpreter on the captured inputs (the app's ``x``; the reading is ``workbench dump``'s)."""
    from workbench.instrument import probe
    spec = state.spec
    pid = parse_pid(pid) if not (isinstance(pid, (tuple, list)) and len(pid) == 3) else tuple(pid)
    path = session.workspace.edit(spec.folder_name) / f"{spec.kernel}.py"
    report = DumpReport(script=str(session.script), kernel=spec.kernel, level="python",
                        target="interpreter", pid=pid, status="interpreted")
    if state.snapshot is None:
        raise WorkbenchError.at(str(path), "no inputs were captured for this kernel: nothing to run", line)
    original = state.versions["original"]
    same = path.is_file() and path.read_text() == (original.result.levels.get("python") if original.result else None)
    fn = original.fn if same or not path.is_file() else session.edited_function(spec, path)
    src = probe.KernelSource.of(path if path.is_file() else spec.file, spec.kernel)
    above = [a for a in src.assignments if a.var == name and a.line <= line]
    if not above:
        report.notes.append(f"{name} has no value after line {line} in program {','.join(map(str, pid))} "
                            f"(not a variable there, or the line never ran in that program)")
        report.results.append(DumpResult(name=name, level="python", line=line, source=f"{name} after line {line}",
                                         type="", dtype="", shape=[], values=None))
        return report
    a = max(above, key=lambda a: a.line)
    _dump_variables(spec, state.snapshot, [f"{a.var}@{a.line}"], pid, iterations, reference,
                    arg_names_of(spec, state.snapshot), atol, rtol, report, src, fn)
    return report


def _no_kernel(capture, kernel, script):
    if capture.error is not None and capture.error.severity == "error":
        raise WorkbenchError([capture.error])
    names = sorted({s.kernel for s in capture.specs})
    raise WorkbenchError.at(script, f"no launch of kernel {kernel!r}" +
                            (f"; the script launched {', '.join(names)}" if names else "; the script launched none"))


# -- the one call the CLI makes -----------------------------------------------------------

def dump_script(script: str | Path, kernel: str | None, level: str, values: list[str], pid: Any = (0, 0, 0),
                reference: str | None = None, target: str | None = None, iterations: int = 16,
                level_file: str | Path | None = None, verify_targets: tuple[str, ...] = (),
                argv: list[str] | None = None, atol: float | None = None, rtol: float | None = None,
                mode: str = "auto", script_timeout: float | None = None, progress=None) -> DumpReport:
    """Dump ``values`` of ``kernel`` at ``level`` for the first launch ``script`` makes.

    ``pid``: (x, y, z), "x,y,z" or "all"; None: the program a Python-level dump() call names
    (``dump(x, 0, 3)``), else 0,0,0. ``level_file``: dump from this (edited) level
    file instead of the level as compiled from the script; the file is only read.
    ``verify_targets``: also compile the rewrite for these targets. ``mode``: auto (GPU if
    there is one), gpu, cpu (interpreter / compile only) or compile (compile only, the
    Python level too: its dump() calls become TTIR dumps). ``script_timeout``: seconds each run
    of the script may take (see ``run_script``); ``progress``: the runner's, told of each run.
    """
    from workbench.compiler.cache import StageCache
    from workbench.runtime.capture.script import DEFAULT_SNAPSHOT_LIMIT
    from workbench.runtime.scripted import run_watched
    from workbench.compiler.stages import Compiler
    script = str(Path(script).resolve())
    if level not in LEVELS:
        raise WorkbenchError.at(script, f"unknown level {level!r}: expected one of {', '.join(LEVELS)}")
    own_pid = pid is None
    pid = (0, 0, 0) if own_pid else parse_pid(pid) if not (isinstance(pid, tuple) and len(pid) == 3) else pid
    hip = bool(target) and compat.is_hip(compat.parse_target(target))  # no ROCm launch path: compiled only
    gpu = compat.has_gpu() and mode not in ("cpu", "compile") and not hip
    if mode == "gpu" and not gpu:
        raise WorkbenchError.at(script, "no GPU here: IR-level dumps can only be compiled")
    tgt = target or (compat.target_str(compat.current_gpu_target()) if gpu else "cuda:90")
    report = DumpReport(script=script, kernel=kernel or "", level=level, target=tgt, pid=pid, status="")
    if level == "python" and not gpu and mode != "compile":
        report.status = "interpreted"
        spec_kernel = kernel
        if spec_kernel is None:
            cap = run_watched(script, progress, argv=argv, mode="compile-only", time_limit=script_timeout)
            if not cap.specs:
                _no_kernel(cap, "<any>", script)
            spec_kernel = cap.specs[0].kernel
        report.kernel = spec_kernel
        return _dump_python_interpreted(script, spec_kernel, values, pid, iterations, reference, argv, atol, rtol,
                                        report, script_timeout, own_pid, progress)
    capture = run_watched(script, progress, argv=argv, target=tgt, mode="gpu" if gpu else "compile-only",
                          snapshot_limit=DEFAULT_SNAPSHOT_LIMIT if gpu else 0, time_limit=script_timeout)
    specs = [s for s in capture.select(kernel) if not s.autotune or s.chosen] or capture.select(kernel)
    if not specs:
        _no_kernel(capture, kernel or "<any>", script)
    spec = specs[0]
    report.kernel = spec.kernel
    variables = [v for v in values if not _names_site(_python_sites(spec.fn), v)] if level == "python" and gpu else []
    if variables:   # read in the interpreter, as a watch reads them, on the inputs the GPU run captured
        if len(variables) < len(values):
            raise WorkbenchError.at(spec.file or script, "dump() calls and variables are dumped apart on a GPU: "
                                                         "ask for each in a run of its own", spec.line)
        report.status = "interpreted"
        snapshot = capture.snapshots.get(spec.spec_id)
        _dump_variables(spec, snapshot, variables, pid, iterations, reference, arg_names_of(spec, snapshot), atol,
                        rtol, report)
        return report
    compiler = Compiler(tgt, cache=StageCache(None))
    if level == "python":
        from .. import language as wl
        with wl.marking() as markers:
            base = compiler.compile_spec(spec, with_sass=False)
        found = marker_values(base.levels["ttir"])
        if not found:
            raise WorkbenchError.at(spec.file or script, "the kernel has no dump(...) call reached by the compiler",
                                    spec.line)
        sites = _python_sites(spec.fn)
        wanted = set(_select_sites(sites, values, spec.file or script, spec.line))
        py_lines = marker_lines(base.levels["ttir"], [i for _, _, i in found], spec.file)
        chosen = [(f, py_lines.get(f[2])) for f in found if py_lines.get(f[2]) in wanted or not py_lines.get(f[2])]
        names = [name for (_, name, _), _ in chosen]
        at = {k: line for k, ((_, _, line), _) in enumerate(chosen)}
        rewrite = rewrite_mlir(base.levels["ttir"], "ttir", names, pid, iterations, file="<ttir>", at_lines=at)
        # markers not chosen are removed too
        drop = {line for _, _, line in found} - set(at.values())
        if drop:
            kept = rewrite.text.split("\n")
            rewrite.text = "\n".join(r for r in kept if not any(f"wbdmarker{m}" in r for m, _, ln in found
                                                                  if ln in drop))
        for (marker, _, _), v in zip([c[0] for c in chosen], rewrite.values):
            v.python_line = py_lines.get(marker_line_of(found, marker))
            v.spec = sites.get(v.python_line, v.spec) if v.python_line else v.spec
            opts = markers[marker] if marker < len(markers) else {}
            if opts.get("pid") is not None:
                report.notes.append(f"dump({v.spec}) names pid={opts['pid']}: the --pid option chooses the program")
        metadata = base.metadata
        text_level = "ttir"
    else:
        base = compiler.compile_spec(spec, with_sass=False)
        text = Path(level_file).read_text() if level_file else base.levels[level]
        file = str(level_file) if level_file else f"{spec.kernel}{Path('x').with_suffix('.' + level).suffix}"
        if level in ("ttir", "ttgir"):
            rewrite = rewrite_mlir(text, level, values, pid, iterations, file=file)
        elif level == "llir":
            rewrite = rewrite_llir(text, values, pid, threads=int(base.metadata["num_warps"]) * 32, file=file)
        else:
            rewrite = rewrite_ptx(text, values, pid, threads=int(base.metadata["num_warps"]) * 32, file=file)
        metadata = base.metadata
        text_level = level
    report.rewritten = rewrite.text
    report.notes.extend(rewrite.notes)
    compiled = compile_rewrite(compiler, rewrite, metadata, file=f"<rewritten {text_level}>")
    report.verified_for.append(tgt)
    for other in verify_targets:
        if compat.target_str(compat.parse_target(other)) == tgt or text_level in ("llir", "ptx"):
            continue  # LLIR/PTX are target-specific text: they compile for their own target only
        ob = Compiler(other, cache=StageCache(None))
        if level == "python" or text_level == "ttir":
            compile_rewrite(ob, rewrite, metadata)
        else:
            obase = ob.compile_spec(spec, with_sass=False)
            try:
                orw = rewrite_mlir(obase.levels[text_level], text_level, [v.name for v in rewrite.values], pid,
                                   iterations) if not level_file else None
            except WorkbenchError:
                report.notes.append(f"not verified for {other}: its {text_level.upper()} names values differently")
                continue
            if orw is not None:
                compile_rewrite(ob, orw, obase.metadata)
        report.verified_for.append(compat.target_str(compat.parse_target(other)))
    if not gpu:
        report.status = f"compiled only: {tgt} needs a ROCm GPU (AMD) to run" if hip else COMPILED_ONLY
        for v in rewrite.values:
            report.results.append(DumpResult(name=v.spec, level=level, line=v.python_line or v.line, source=v.source,
                                             type=v.type, dtype=v.dtype, shape=v.shape, in_loop=v.loop is not None,
                                             per_thread=v.per_thread))
        return report
    snapshot = capture.snapshots.get(spec.spec_id)
    if snapshot is None:
        raise WorkbenchError.at(script, f"the inputs of {spec.kernel} were not kept (over the snapshot limit)")
    results = launch_dump(compiled, spec, snapshot, rewrite, reference, atol, rtol)
    for r, v in zip(results, rewrite.values):
        r.level = level
        if v.python_line:
            r.line = v.python_line
    report.results = results
    import torch
    report.status = f"ran ({torch.cuda.get_device_name()})"
    return report


def marker_line_of(found, marker: int) -> int:
    return next(line for m, _, line in found if m == marker)


def marker_lines(ttir: str, lines: list[int], file: str | None) -> dict[int, int]:
    """0-based TTIR line -> Python line, from each op's ``loc(#locN)``."""
    import re
    text_lines = ttir.split("\n")
    aliases = {}
    for row in text_lines:
        m = re.match(r"^(#loc\d*)\s*=\s*loc\((.*)\)\s*$", row)
        if m:
            aliases[m.group(1)] = m.group(2)

    def resolve(ref: str, depth: int = 0) -> int | None:
        if depth > 20:
            return None
        body = aliases.get(ref, ref)
        m = re.search(r'"([^"]+)":(\d+):\d+', body)
        direct = re.match(r'^"([^"]+)":(\d+):\d+', body)
        if direct:
            return int(direct.group(2))
        refs = re.findall(r"#loc\d*", body)
        if body.startswith("callsite("):  # callee at caller: the caller is in the kernel
            refs = refs[1:] + refs[:1]
        for r in refs:
            got = resolve(r, depth + 1)
            if got is not None:
                return got
        return int(m.group(2)) if m else None

    out = {}
    for i in lines:
        m = re.search(r"loc\((#loc\d*)\)\s*$", text_lines[i])
        if m:
            out[i] = resolve(m.group(1))
    return out


def report_json(report: DumpReport) -> str:
    return json.dumps(report.to_json(), indent=2, default=str)


def serve_script(progress=None, as_json: bool = False, show_rewrite: bool = False, **params) -> dict[str, Any]:
    """The runner's ``dump_script`` request (``workbench dump``): :func:`dump_script` on ``params``,
    answered as the text the command prints, the rewritten level when asked, and whether a value
    failed its check (the command's exit status)."""
    report = dump_script(progress=progress, **params)
    bad = any(r.check is not None and not r.check.ok for r in report.results) or \
        any(r.reference_error for r in report.results)
    return {"text": report_json(report) if as_json else report.format(), "bad": bad,
            "rewritten": report.rewritten if show_rewrite and not as_json else None}


def serve(session, progress=None, kernel: str = "", level: str = "ttgir", values: list[str] | None = None,
          pid: Any = (0, 0, 0), iterations: int = 16, reference: str | None = None, version: str | None = None,
          atol: float | None = None, rtol: float | None = None, show_rewrite: bool = False,
          line: int | None = None) -> dict[str, Any]:
    """The runner's ``dump`` request, on a script already open in ``session``: the level text
    comes from the kernel's edit/ folder (what the user sees), or a saved version; the values
    go into ``dumps/`` beside it as .npy files, with a preview inline. ``line`` with a Python
    variable's name and no GPU: that variable after that line, through the interpreter."""
    import numpy as np
    values = list(values or [])
    state = session.state(kernel)
    spec = state.spec
    if level == "python" and line is not None and not session.gpu and len(values) == 1:
        report = dump_python_variable(session, state, values[0], int(line), pid, iterations, reference, atol, rtol)
    elif level == "python":  # dump() calls in the kernel's source: the script-level path
        report = dump_script(session.script, spec.kernel, level, values, pid, reference, argv=session.argv,
                             iterations=iterations, atol=atol, rtol=rtol,
                             mode="auto" if session.gpu else "cpu")
    else:
        pid = parse_pid(pid) if not (isinstance(pid, (tuple, list)) and len(pid) == 3) else tuple(pid)
        original = state.versions["original"].result
        folder = (session.workspace.version(spec.folder_name, int(version)).folder if version not in (None, "edit")
                  else session.workspace.edit(spec.folder_name))
        path = folder / f"{spec.stem}.{level}"
        text = path.read_text() if path.is_file() else original.levels[level]
        threads = int(original.metadata["num_warps"]) * 32
        if level in ("ttir", "ttgir"):
            rewrite = rewrite_mlir(text, level, values, pid, iterations, file=str(path))
        elif level == "llir":
            rewrite = rewrite_llir(text, values, pid, threads=threads, file=str(path))
        else:
            rewrite = rewrite_ptx(text, values, pid, threads=threads, file=str(path))
        if progress:
            progress("compile", {"kernel": spec.kernel, "level": level, "file": str(path)})
        compiled = compile_rewrite(session.compiler, rewrite, original.metadata, file=f"<rewritten {level}>")
        report = DumpReport(script=str(session.script), kernel=spec.kernel, level=level,
                            target=compat.target_str(session.compiler.target), pid=pid, status=COMPILED_ONLY,
                            rewritten=rewrite.text, verified_for=[compat.target_str(session.compiler.target)],
                            notes=list(rewrite.notes))
        if session.gpu and state.snapshot is not None:
            if progress:
                progress("launch", {"kernel": spec.kernel, "version": version or "edit", "level": level})
            report.results = launch_dump(compiled, spec, state.snapshot, rewrite, reference, atol, rtol)
            import torch
            report.status = f"ran ({torch.cuda.get_device_name()})"
        else:
            report.results = [DumpResult(name=v.spec, level=level, line=v.line, source=v.source, type=v.type,
                                         dtype=v.dtype, shape=v.shape, in_loop=v.loop is not None,
                                         per_thread=v.per_thread) for v in rewrite.values]
            if session.gpu:
                report.status = "compiled only: no inputs were captured for this kernel"
    out = report.to_json(with_values=True)
    if not show_rewrite:
        out["rewritten"] = None
    dumps = session.workspace.kernel_dir(spec.folder_name) / "dumps"
    for r, j in zip(report.results, out["results"]):
        if r.values is not None:
            dumps.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", r.name).strip("_") or "value"
            target = dumps / f"{level}-{name}.npy"
            np.save(target, r.squeezed())
            j["file"] = str(target)
    return out

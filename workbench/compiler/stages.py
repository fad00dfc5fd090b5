"""Compile a kernel from any level down to SASS: Triton's own stages, our stage loop.

The loop follows ``triton/compiler/compiler.py``: the backend's ``add_stages`` gives the
ordered ext -> stage table, each stage takes the previous module and the metadata dict.
Ours differs in three ways: it can start at any level (LLIR, PTX and cubin too, with the
metadata the skipped stages would have filled in), every stage is cached by the content of
its input, and problems in the user's input come back as :class:`WorkbenchError` values
with a file and a line.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.compiler import compat, compat_passes, metadata as md, passes as passes_mod, recording, scratch, sources
from workbench.compiler.cache import Entry, StageCache, digest
from workbench.compiler.cubin import resource_usage
from workbench.compiler.diagnose import diagnose
from workbench.compiler.files import safe_name
from workbench.compiler.isolate import ChildDied, ChildRaised, captured_output, run_isolated
from workbench.compiler.metadata import StageMetadata
from workbench.compiler.sass import ascii_for_ptxas, disassemble
from workbench.model.diagnostics import WorkbenchError, parse_assembler_errors
from workbench.model.level_files import SUFFIX, below, read_source, level_of
from workbench.model.spans import span

SCHEMA = "3"  # bump when what a cache entry holds changes



@dataclass
class StageTime:
    level: str
    ms: float
    cached: bool


@dataclass
class CompileResult:
    name: str
    target: str
    start: str
    levels: dict[str, str | bytes]
    metadata: dict[str, Any]
    stages: list[StageTime] = field(default_factory=list)
    resources: dict[str, int] = field(default_factory=dict)
    sass_lines: dict[int, tuple[str, int]] = field(default_factory=dict)
    sass_ptx_lines: dict[int, int] = field(default_factory=dict)  # SASS line -> the PTX line it came from
    python: dict[str, Any] | None = None  # {"file", "first_line", "last_line"} of the kernel
    log: str = ""
    passes: dict[str, dict[str, Any]] = field(default_factory=dict)  # stage -> its passes (record_passes)

    @property
    def num_warps(self) -> int:
        return int(self.metadata.get("num_warps", 0))

    @property
    def shared(self) -> int:
        return int(self.metadata.get("shared") or 0)

    @property
    def fully_cached(self) -> bool:
        return all(s.cached for s in self.stages)

    def stage_ms(self) -> dict[str, float]:
        return {s.level: s.ms for s in self.stages}

    def write(self, folder: str | Path, stem: str | None = None) -> dict[str, Path]:
        """Every level as ``<stem>.<ext>`` plus ``<stem>.json``; returns the paths.

        A level below the start that this result does not hold (the SASS of a compile
        without it) is removed from ``folder``: what is there describes an older binary,
        and a level file is either current or absent.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stem = safe_name(stem or self.name)  # a kernel may be named "../../x"
        for level in (*below(self.start, self.target.split(":")[0]), "sass"):
            if level not in self.levels:
                (folder / f"{stem}{SUFFIX[level]}").unlink(missing_ok=True)
        paths = {}
        for level, content in self.levels.items():
            if level == "python":
                continue
            path = folder / f"{stem}{SUFFIX[level]}"
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
            paths[level] = path
        meta = folder / f"{stem}.json"
        meta.write_text(md.to_json(self.metadata_json()))
        paths["json"] = meta
        return paths

    def metadata_json(self) -> dict[str, Any]:
        """Triton's metadata, plus what the workbench learned, under one key of its own."""
        out = dict(self.metadata)
        out["workbench"] = {"start": self.start, "resources": self.resources,
                            "stage_ms": self.stage_ms(), "python": self.python}
        return out

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "start": self.start,
                "num_warps": self.num_warps, "num_ctas": self.metadata.get("num_ctas"),
                "num_stages": self.metadata.get("num_stages"), "shared": self.shared,
                **self.resources, "stage_ms": self.stage_ms(), "cached": self.fully_cached}


class Compiler:
    """Compiles for one target; reuse it so the stage cache is shared between compiles."""

    def __init__(self, target: Any = None, cache: StageCache | None = None) -> None:
        if target is None:
            target = compat.current_gpu_target() or "cuda:90"
        self.target = compat.parse_target(target)
        self.backend = compat.make_backend(self.target)
        scratch.sweep()  # what a killed compiler left behind goes now, not at its next temp file
        self.cache = cache if cache is not None else StageCache(None)
        self._salt = digest(SCHEMA, compat.triton.__version__, compat.target_str(self.target),
                            *sorted(f"{k}={v}" for k, v in _env_that_matters().items()))
        self._option_hashes: dict[str, str] = {}

    # -- entry points -------------------------------------------------------------------

    def compile_python(self, fn: Any, signature: dict, constexprs: dict, attrs: dict,
                       options: dict[str, Any], with_sass: bool = True,
                       record_passes: bool | tuple[str, ...] = False, until: str | None = None) -> CompileResult:
        """From a JITFunction (Triton or Gluon) and a captured specialization; ``record_passes``
        keeps the IR after every pass of the MLIR stages (True), or of the stages named
        (:mod:`.passes`): reading the module after each pass costs about what the pass does.
        ``until``: the last stage to run (what :mod:`.prefetch` hands on to another process)."""
        options = self.backend.parse_options(clean_options(options, self.option_fields()))
        language = compat.language_of(fn)
        metadata = self.initial_metadata(options)
        start_key, front_end, py = sources.python_start(fn, signature, constexprs, attrs, options, self.backend,
                                                         self.target)
        result = self._run("python", start_key, front_end, options, language, metadata,
                           error_file=py["file"] if py else "<python>", user_text=False, with_sass=with_sass,
                           python_fn=fn, record_passes=record_passes, until=until)
        result.python = py
        if py:
            result.levels = {"python": read_source(py["file"]), **result.levels}
        return result

    def compile_spec(self, spec: Any, **kwargs) -> CompileResult:
        """A captured specialization (:class:`~workbench.runtime.capture.model.KernelSpec`) from its Python, as it was
        launched; ``kwargs`` as :meth:`compile_python` takes them."""
        return self.compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs, spec.options,
                                   **kwargs)

    def compile_file(self, path: str | Path, base_metadata: dict[str, Any] | None = None,
                     with_sass: bool = True, record_passes: bool | tuple[str, ...] = False,
                     older_target_ok: bool = False) -> CompileResult:
        path = Path(path)
        level = level_of(path)
        return self.compile_level(level, sources.read_level_file(path), base_metadata, file=str(path), with_sass=with_sass,
                                  record_passes=record_passes, older_target_ok=older_target_ok)

    def compile_level(self, level: str, content: str | bytes, base_metadata: dict[str, Any] | None = None,
                      file: str = "<input>", with_sass: bool = True, record_passes: bool | tuple[str, ...] = False,
                      after_pass: tuple[str, int] | None = None, older_target_ok: bool = False) -> CompileResult:
        """From the text (or cubin bytes) of one level, to every level below it.

        ``after_pass=(stage, index)``: ``content`` is the IR after pass ``index`` (0-based, -1
        for the stage's input) of ``stage``; the stage runs from the next pass on.
        """
        with span("check level"):
            level, after_pass = sources.resume_point(level, content, file, after_pass)
            facts = sources.check_level(level, content, base_metadata, file, self.target, older_target_ok)
        base = dict(base_metadata or {})
        opts = md.user_options(base, self.option_fields())
        for key in ("num_warps", "num_ctas"):
            if key in facts:
                opts[key] = facts[key]
        total = md.split_warps(opts)
        options = self.backend.parse_options(opts)
        metadata = self.initial_metadata(options, base)
        if total is not None:
            metadata["num_warps"] = total
        for key in ("name", "num_warps"):
            if key in facts:
                metadata[key] = facts[key]
        start_key, start_obj = sources.level_start(level, content, file, after_pass, metadata, self.backend)
        result = self._run(level, start_key, start_obj, options, compat.Language.TRITON, metadata,
                           error_file=file, user_text=True, with_sass=with_sass, record_passes=record_passes,
                           resume=after_pass)
        if after_pass is None:
            result.levels = {level: content, **result.levels}
        return result

    # -- the loop -----------------------------------------------------------------------

    def _run(self, start: str, start_key: str, start_obj, options, language, metadata: dict,
             error_file: str, user_text: bool, with_sass: bool, python_fn: Any = None,
             record_passes: bool | tuple[str, ...] = False, resume: tuple[str, int] | None = None,
             until: str | None = None) -> CompileResult:
        table = compat.stage_table(self.backend, options, language)
        order = list(table)
        if until is not None:
            order = order[:order.index(until) + 1]
        if resume is not None:  # the text is part way through this stage
            start = resume[0]
            todo = order[order.index(start):]
        else:
            todo = order if start == "python" else order[order.index(start) + 1:]
        opt_hash = self._options_hash(options)
        levels: dict[str, str | bytes] = {}
        times: list[StageTime] = []
        resources: dict[str, int] = {}
        log: list[str] = []
        key = start_key  # digest of the start level's content
        obj: Any = None  # the live input of the next stage, made only when a stage must run
        prev = "source" if start == "python" else start
        prev_content: str | bytes | None = None
        recorded: dict[str, dict[str, Any]] = {}
        origin: tuple[str, Any] = (prev, None)
        chain: list[tuple] = []   # the stages run on the module since it was made from `origin`
        record_stages = compat_passes.PASS_STAGES if record_passes is True else tuple(record_passes or ())
        aside: list[recording.Recording] = []   # stages recorded in a child while the compile goes on
        try:
            for ext in todo:
                key = digest(self._salt, opt_hash, ext, key)
                with span("stage cache lookup"):
                    entry = self.cache.get(key)
                # the stages asked for keep the IR after each pass; the other MLIR stages list their
                # passes only (so that the numbers count from the same first pass whatever is asked)
                keep_ir = ext in record_stages
                record = bool(record_stages) and ext in compat_passes.PASS_STAGES
                pass_key = digest(key, "passes" if keep_ir else "pass-list")
                pass_entry = self.cache.get(pass_key) if record and entry is not None else None
                if entry is None or (record and pass_entry is None):
                    before = dict(metadata)
                    if obj is None:
                        obj = self.start_module(start_obj, error_file, python_fn) if prev_content is None \
                            else sources.materialize(self.backend, prev, prev_content)
                        origin, chain = (prev, prev_content), []   # how this module came to be, to make it again
                    in_file = error_file if prev_content is None else f"<{prev}>"
                    # user-written LLIR may make LLVM abort the process; a restart's LLIR is make_llir's
                    isolate = user_text and start == "llir" and resume is None and ext in ("ptx", "amdgcn")
                    skip = resume[1] + 1 if resume is not None and prev_content is None else 0
                    text_in = prev_content if isinstance(prev_content, str) and skip == 0 else None
                    # (a stage whose passes are named only prints nothing: it is listed here)
                    elsewhere = keep_ir and ext in recording.RECORDED_ASIDE and skip == 0 and not isolate and hasattr(os, "fork")
                    if elsewhere:
                        # recorded in a child, on a copy-on-write snapshot of the stage's input, while
                        # this process compiles on (printing the module after each pass costs about
                        # what the passes do): collected once the compile is done
                        args = (ext, table[ext], StageMetadata(metadata), in_file, prev, keep_ir, text_in)
                        aside.append(recording.record_in_children(self, args, obj, pass_key, origin, chain))
                        recorder = None
                    else:
                        recorder = passes_mod.StageRecorder(ext, obj, skip, keep_ir, text_in) if record else None
                    hooks = compat_passes.PassHooks(skip, recorder) if recorder is not None or skip else None
                    if elsewhere:
                        hooks = compat_passes.PassHooks()   # Triton's pass managers, as they are, only counted
                    chain.append((ext, table[ext], StageMetadata(metadata), in_file, prev, hooks))
                    with span(f"stage {ext}"):
                        entry, obj = self.call_stage(ext, table[ext], obj, metadata, before, in_file, prev, isolate,
                                                     hooks)
                    with span("stage cache store"):
                        self.cache.put(key, entry)
                    if elsewhere:   # (what its recording must end with)
                        aside[-1].output, aside[-1].ms = entry.output, entry.info["ms"]
                        aside[-1].told(hooks.runs)
                    if recorder is not None:
                        self.cache.put(pass_key, Entry(recorder.to_json(), {}, {"ms": entry.info["ms"]}))
                        recorded[ext] = recorder.data()
                        pass_entry = None  # what it holds is in `recorded` already
                    times.append(StageTime(ext, entry.info["ms"], False))
                else:
                    metadata.update(entry.metadata)
                    times.append(StageTime(ext, entry.info["ms"], True))
                    obj = None
                if entry.info.get("log"):
                    log.append(entry.info["log"])
                resources.update(entry.info.get("resources", {}))
                if pass_entry is not None:
                    recorded[ext] = json.loads(pass_entry.output)
                levels[ext] = entry.output
                prev, prev_content = ext, entry.output
                key = digest(ext, entry.output)  # the next stage is keyed on this exact text, nothing else
        except BaseException:
            for rec in aside:   # the compile failed (or was stopped): nothing to record
                rec.told(None)
                rec.stop()
            raise
        for rec in aside:
            recorded[rec.stage], encoded = recording.collect(self, rec, start_obj, error_file, python_fn)
            self.cache.put(rec.pass_key, Entry(encoded, {}, {"ms": rec.ms}))
        recorded = {ext: recorded[ext] for ext in todo if ext in recorded}   # in the stages' order

        if start == "cubin":
            cubin = start_obj()
            sources.check_cubin(cubin, metadata, error_file, self.target)
            resources.update(_cubin_resources(cubin))
        result = CompileResult(name=metadata.get("name", ""), target=compat.target_str(self.target), start=start,
                               levels=levels, metadata={}, stages=times, resources=resources,
                               log="\n".join(log), passes=recorded)
        if with_sass:
            with span("sass"):
                self.add_sass(result, levels.get("cubin", start_obj() if start == "cubin" else None))
        metadata["hash"] = key
        result.metadata = _jsonable(metadata)
        return result

    def start_module(self, start_obj, file: str, python_fn: Any):
        """The first stage's input: the front end's module, or the parsed start file."""
        buf = None
        try:
            with captured_output() as buf:
                return start_obj()
        except WorkbenchError:
            raise
        except Exception as e:  # noqa: BLE001 - the user's kernel failed to compile
            raise diagnose(e, buf.getvalue() if buf is not None else "", file, "python", python_fn) from None

    def call_stage(self, ext: str, stage, obj: Any, metadata: dict, before: dict, file: str, prev: str,
                    isolate: bool, hooks: compat_passes.PassHooks | None = None) -> tuple[Entry, Any]:
        """Run one stage; returns its cache entry and its live output (the next stage's input)."""
        compat.prepare_stage(ext)
        t0 = time.perf_counter()
        output_text = ""
        buf = None
        metadata.written.clear()
        try:
            if isolate:
                def child():
                    return stage(obj, metadata), dict(metadata), metadata.written
                (out, new_meta, written), output_text = run_isolated(child)
                metadata.update(new_meta)
                metadata.written = set(written)
            else:
                passes = compat_passes.intercepted_passes(self.backend, hooks) if hooks else contextlib.nullcontext()
                with _ptxas_log(ext == "cubin"), _own_tempdir(ext == "cubin"), captured_output() as buf, passes:
                    out = stage(ascii_for_ptxas(obj) if ext == "cubin" else obj, metadata)
                output_text = buf.getvalue()
        except WorkbenchError:
            raise
        except ChildDied as e:
            raise diagnose(e, e.output, file, prev) from None
        except ChildRaised as e:
            raise diagnose(e.exc or e, e.output + e.formatted, file, prev) from None
        except Exception as e:  # noqa: BLE001 - a stage failing on the user's input
            output = buf.getvalue() if buf is not None else ""
            if ext == "hsaco" and isinstance(obj, str) and (diags := parse_assembler_errors(output, obj, file)):
                raise WorkbenchError(diags, output) from None
            raise diagnose(e, output, file, prev) from None
        ms = (time.perf_counter() - t0) * 1000
        live = out
        printed = hooks.after.text_after() if hooks is not None and isinstance(hooks.after, passes_mod.StageRecorder) \
            else None  # a recording printed the module after its last pass already
        text: str | bytes = out if isinstance(out, (bytes, str)) else printed if printed is not None else str(out)
        # what the stage set, changed or not: a value it set equal to the one it was given (the
        # kernel name from a level's own metadata) must still come back on a cache hit
        delta = {k: v for k, v in metadata.items() if k in metadata.written or k not in before or before[k] != v}
        info: dict[str, Any] = {"ms": ms, "log": _interesting(output_text or "")}
        if ext == "cubin":
            with span("cubin resources"):
                info["resources"] = md.ptxas_resources(output_text or "") or _cubin_resources(out)
        return Entry(text, _jsonable(delta), info), live

    def add_sass(self, result: CompileResult, cubin: bytes | None) -> None:
        """Disassemble (cached by the cubin's bytes). nvdisasm takes ~0.4 s even for a tiny
        kernel, so the edit loop calls this after the launch, not before."""
        if cubin is None:
            return
        key = digest(self._salt, "sass", cubin)
        entry = self.cache.get(key)
        cached = entry is not None
        if entry is None:
            t0 = time.perf_counter()
            sass = disassemble(cubin, compat.nvidia_tool("nvdisasm"))
            entry = Entry(sass.text, {}, {"ms": (time.perf_counter() - t0) * 1000,
                                          "lines": {str(k): list(v) for k, v in sass.lines.items()},
                                          "ptx_lines": {str(k): v for k, v in sass.ptx_lines.items()}})
            self.cache.put(key, entry)
        result.levels["sass"] = entry.output
        result.sass_lines = {int(k): (v[0], int(v[1])) for k, v in entry.info["lines"].items()}
        result.sass_ptx_lines = {int(k): int(v) for k, v in entry.info["ptx_lines"].items()}
        result.stages.append(StageTime("sass", entry.info["ms"], cached))

    # -- helpers ------------------------------------------------------------------------

    def option_fields(self) -> set[str]:
        opts = self.backend.parse_options({})
        return set(vars(opts))

    def _options_hash(self, options) -> str:
        rep = repr(sorted(vars(options).items()))
        h = self._option_hashes.get(rep)
        if h is None:
            h = self._option_hashes[rep] = digest(rep)
        return h

    def initial_metadata(self, options, base: dict[str, Any] | None = None) -> StageMetadata:
        metadata = StageMetadata(base or {})
        metadata.pop("workbench", None)
        metadata.update({"hash": "", "target": self.target, **vars(options),
                         "triton_version": compat.triton.__version__})
        return metadata


def _cubin_resources(cubin: bytes) -> dict[str, int]:
    try:
        return resource_usage(cubin, compat.nvidia_tool("cuobjdump"))
    except OSError:
        return {}


def _interesting(text: str) -> str:
    """Tool chatter worth keeping for the log pane (drops Triton's PTX echo on errors)."""
    return text.strip()[:20000]


class _ptxas_log:
    """Ask the cubin stage to print ptxas's -v report (registers, spills) while it runs."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __enter__(self):
        self.on = self.on and compat.knob_supported("nvidia", "dump_ptxas_log")  # 3.5+
        if self.on:
            from triton import knobs
            self.saved = knobs.nvidia.dump_ptxas_log
            knobs.nvidia.dump_ptxas_log = True
        return self

    def __exit__(self, *exc):
        if self.on:
            from triton import knobs
            knobs.nvidia.dump_ptxas_log = self.saved
        return False


def _own_tempdir(on: bool):
    """Triton's cubin stage writes its .ptx, .log and .o where ``tempfile`` says and leaves
    the .ptx behind when ptxas fails: let it write into a folder of ours, always removed."""
    return scratch.as_tempdir() if on else contextlib.nullcontext()


def _env_that_matters() -> dict[str, str]:
    try:
        from triton._C.libtriton import get_cache_invalidating_env_vars
        return dict(get_cache_invalidating_env_vars())
    except Exception:  # noqa: BLE001
        return {}


def clean_options(options: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in options.items()
            if k in fields and k not in md.TARGET_DERIVED and v is not None}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "__dict__") or hasattr(value, "__dataclass_fields__"):
        return _jsonable(vars(value))
    return str(value)

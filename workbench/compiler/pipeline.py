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
import inspect
import json
import os
import select
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.compiler import compat, metadata as md, passes as passes_mod, scratch
from workbench.compiler.cache import Entry, StageCache, digest
from workbench.model.diagnostics import (Diagnostic, WorkbenchError, parse_assembler_errors, parse_llvm_error, parse_mlir_diagnostics,
                     parse_ptxas_log, utf8_text)
from workbench.compiler.files import safe_name
from workbench.compiler.isolate import ChildDied, ChildRaised, Isolated, captured_output, run_isolated
from workbench.model.level_files import BINARY_LEVELS, SUFFIX, below, ir_levels, level_of, read_source
from workbench.compiler.cubin import read_cubin, resource_usage
from workbench.compiler.sass import ascii_for_ptxas, disassemble

SCHEMA = "3"  # bump when what a cache entry holds changes
MLIR_LEVELS = ("source", "ttir", "ttgir")


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


RECORDING_WAIT_S = 10.0   # a recording child's time beyond 20x its stage's, before it is stopped
# the stages recorded in a child: their modules take longer to print than a fork (11-12 ms for a
# process holding torch, on the H200 machine); TTIR's few KB print in well under that
RECORDED_ASIDE = ("ttgir", "llir")
# the stages recorded by two children together, each printing the passes it gets to first, where
# the machine has the cores: after its conversion to the LLVM dialect, LLIR's module is 0.5-2.5 MB
# and each print of it takes 5-30 ms; a child alone prints after the compile has finished
RECORDED_SPLIT = {"llir": 2}


def _recording_children(stage: str) -> int:
    """How many children record ``stage`` together: one per two cores the process may use, at most
    ``RECORDED_SPLIT``'s (with fewer cores they would compete with the compile for them)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(RECORDED_SPLIT.get(stage, 1), cpus // 2))


@dataclass
class _Recording:
    """A stage recorded pass by pass in one child or more while the compile goes on."""

    pass_key: str
    args: tuple               # _record_stage's after the module: (stage name, function, metadata, ...)
    origin: tuple[str, Any]   # what the module was made from: (a level, its text; None: the start object)
    chain: list[tuple]        # then the stages run on it before this one
    tells: list[int]          # the pipes to the children: how many pass managers the stage ran
    children: list[Isolated] = field(default_factory=list)
    output: Any = None        # the stage's output in the compile, and its time
    ms: float = 0.0

    @property
    def stage(self) -> str:
        return self.args[0]

    def told(self, runs: int | None) -> None:
        """The children told how many pass managers the stage ran (None: nothing, the pipes closed)."""
        for tell in self.tells:
            with contextlib.suppress(OSError):
                if runs is not None:
                    os.write(tell, str(runs).encode())
                os.close(tell)
        self.tells = []

    def stop(self) -> None:
        for child in self.children:
            child.stop()


class _Recorded(BaseException):
    """A recording child has every pass of its stage: the rest of the stage is not its work
    (a BaseException: it goes through the stage's ``except Exception``)."""


class StageMetadata(dict):
    """The metadata dict the stages write into, remembering which keys a stage set."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.written: set[str] = set()

    def __setitem__(self, key, value) -> None:
        self.written.add(key)
        super().__setitem__(key, value)

    def update(self, *args, **kwargs) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]


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
        options = self.backend.parse_options(_clean_options(options, self._option_fields()))
        src = compat.ast_source(fn, signature, constexprs, attrs)
        language = compat.language_of(fn)
        metadata = self._initial_metadata(options)
        py = python_location(fn)
        # the source's file is in every level's locations: the same kernel in two files is two keys
        start_key = "py:" + src.hash() + ":" + (py["file"] if py else "")

        def front_end():
            context = compat.new_context(self.backend)
            return compat.make_ir(src, self.target, options, self.backend, context)

        result = self._run("python", start_key, front_end, options, language, metadata,
                           error_file=py["file"] if py else "<python>", user_text=False, with_sass=with_sass,
                           python_fn=fn, record_passes=record_passes, until=until)
        result.python = py
        if py:
            result.levels = {"python": read_source(py["file"]), **result.levels}
        return result

    def compile_spec(self, spec: Any, **kwargs) -> CompileResult:
        """A captured specialization (:class:`~.capture.KernelSpec`) from its Python, as it was
        launched; ``kwargs`` as :meth:`compile_python` takes them."""
        return self.compile_python(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs, spec.options,
                                   **kwargs)

    def compile_file(self, path: str | Path, base_metadata: dict[str, Any] | None = None,
                     with_sass: bool = True, record_passes: bool | tuple[str, ...] = False) -> CompileResult:
        path = Path(path)
        level = level_of(path)
        return self.compile_level(level, read_level_file(path), base_metadata, file=str(path), with_sass=with_sass,
                                  record_passes=record_passes)

    def compile_level(self, level: str, content: str | bytes, base_metadata: dict[str, Any] | None = None,
                      file: str = "<input>", with_sass: bool = True, record_passes: bool | tuple[str, ...] = False,
                      after_pass: tuple[str, int] | None = None) -> CompileResult:
        """From the text (or cubin bytes) of one level, to every level below it.

        ``after_pass=(stage, index)``: ``content`` is the IR after pass ``index`` (0-based, -1
        for the stage's input) of ``stage``; the stage runs from the next pass on.
        """
        if after_pass is None and level in ("ttir", "ttgir") and isinstance(content, str):
            # a version started from a pass keeps the pass file's header, which says where
            head = passes_mod.header_of(content, file)
            after_pass = (head.stage, head.index) if head else None
        if after_pass is not None:
            level = passes_mod.level_of_stage(after_pass[0])  # what the text looks like
        if level not in ir_levels(self.target.backend):
            theirs = "an AMD" if level in ("amdgcn", "hsaco") else "an NVIDIA"
            raise WorkbenchError.at(file, f"cannot compile from level {level!r} for {compat.target_str(self.target)}"
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
        self._check_target(level, facts, file)
        if facts.get("threads", 0) % 32:
            raise WorkbenchError.at(file, f".reqntid {facts['threads']} is not a whole number of warps (32 threads "
                                          "each): the block's thread count must be num_warps * 32",
                                    _line_of(file, ".reqntid"))
        opts = md.user_options(base, self._option_fields())
        for key in ("num_warps", "num_ctas"):
            if key in facts:
                opts[key] = facts[key]
        total = md.split_warps(opts)
        options = self.backend.parse_options(opts)
        metadata = self._initial_metadata(options, base)
        if total is not None:
            metadata["num_warps"] = total
        for key in ("name", "num_warps"):
            if key in facts:
                metadata[key] = facts[key]
        if level in ("ttir", "ttgir"):
            def start_obj():
                module = self._parse_mlir(content, file)
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
        record_stages = compat.PASS_STAGES if record_passes is True else tuple(record_passes or ())
        aside: list[_Recording] = []   # stages recorded in a child while the compile goes on
        try:
            for ext in todo:
                key = digest(self._salt, opt_hash, ext, key)
                entry = self.cache.get(key)
                # the stages asked for keep the IR after each pass; the other MLIR stages list their
                # passes only (so that the numbers count from the same first pass whatever is asked)
                keep_ir = ext in record_stages
                record = bool(record_stages) and ext in compat.PASS_STAGES
                pass_key = digest(key, "passes" if keep_ir else "pass-list")
                pass_entry = self.cache.get(pass_key) if record and entry is not None else None
                if entry is None or (record and pass_entry is None):
                    before = dict(metadata)
                    if obj is None:
                        obj = self._start(start_obj, error_file, python_fn) if prev_content is None \
                            else self._materialize(prev, prev_content)
                        origin, chain = (prev, prev_content), []   # how this module came to be, to make it again
                    in_file = error_file if prev_content is None else f"<{prev}>"
                    # user-written LLIR may make LLVM abort the process; a restart's LLIR is make_llir's
                    isolate = user_text and start == "llir" and resume is None and ext in ("ptx", "amdgcn")
                    skip = resume[1] + 1 if resume is not None and prev_content is None else 0
                    text_in = prev_content if isinstance(prev_content, str) and skip == 0 else None
                    # (a stage whose passes are named only prints nothing: it is listed here)
                    elsewhere = keep_ir and ext in RECORDED_ASIDE and skip == 0 and not isolate and hasattr(os, "fork")
                    if elsewhere:
                        # recorded in a child, on a copy-on-write snapshot of the stage's input, while
                        # this process compiles on (printing the module after each pass costs about
                        # what the passes do): collected once the compile is done
                        args = (ext, table[ext], StageMetadata(metadata), in_file, prev, keep_ir, text_in)
                        aside.append(self._record_in_children(args, obj, pass_key, origin, chain))
                        recorder = None
                    else:
                        recorder = passes_mod.StageRecorder(ext, obj, skip, keep_ir, text_in) if record else None
                    hooks = compat.PassHooks(skip, recorder) if recorder is not None or skip else None
                    if elsewhere:
                        hooks = compat.PassHooks()   # Triton's pass managers, as they are, only counted
                    chain.append((ext, table[ext], StageMetadata(metadata), in_file, prev, hooks))
                    entry, obj = self._call_stage(ext, table[ext], obj, metadata, before, in_file, prev, isolate, hooks)
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
            recorded[rec.stage], encoded = self._collect_recording(rec, start_obj, error_file, python_fn)
            self.cache.put(rec.pass_key, Entry(encoded, {}, {"ms": rec.ms}))
        recorded = {ext: recorded[ext] for ext in todo if ext in recorded}   # in the stages' order

        if start == "cubin":
            cubin = start_obj()
            self._check_cubin(cubin, metadata, error_file)
            resources.update(_cubin_resources(cubin))
        result = CompileResult(name=metadata.get("name", ""), target=compat.target_str(self.target), start=start,
                               levels=levels, metadata={}, stages=times, resources=resources,
                               log="\n".join(log), passes=recorded)
        if with_sass:
            self.add_sass(result, levels.get("cubin", start_obj() if start == "cubin" else None))
        metadata["hash"] = key
        result.metadata = _jsonable(metadata)
        return result

    def _record_in_children(self, args: tuple, obj: Any, pass_key: str, origin: tuple[str, Any],
                            chain: list[tuple]) -> "_Recording":
        """The stage of ``args`` recorded on ``obj`` in forked children (copy-on-write snapshots of
        the stage's input) while this process compiles on: collected once the compile is done."""
        count = _recording_children(args[0])
        claims = passes_mod.PassClaims() if count > 1 else None
        rec = _Recording(pass_key, args, origin, list(chain), [])
        try:
            for me in range(1, count + 1):
                told, tell = os.pipe()   # how many pass managers the stage ran, once this process knows
                rec.tells.append(tell)
                try:
                    rec.children.append(Isolated(self._record_aside, obj, *args, told=told,
                                                 claim=claims and (lambda index, me=me: claims.claim(index, me))))
                finally:
                    os.close(told)
        except BaseException:
            rec.told(None)
            rec.stop()
            raise
        finally:
            if claims is not None:
                claims.close()   # (the children have it)
        return rec

    def _record_stage(self, obj: Any, ext: str, stage, metadata: StageMetadata, file: str, prev: str,
                      keep_ir: bool, text_in: str | None, told: int | None = None,
                      claim=None) -> passes_mod.StageRecorder:
        """Stage ``ext`` on ``obj`` with the module kept after each pass (in a recording child, or
        here when that failed): its recorder, holding the passes and the module's text after them.
        ``told``: where the compile says how many pass managers its stage ran; the recording
        ends after that many (the rest of the stage, LLVM's own work for LLIR, is the compile's).
        ``claim``: which passes this process prints, where others record the stage with it."""
        recorder = passes_mod.StageRecorder(ext, obj, 0, keep_ir, text_in, claim)

        said: list[int] = []

        def ran(runs: int) -> None:
            if told is not None and not said and select.select([told], [], [], 0)[0]:
                said.append(int(os.read(told, 32) or -1))   # (-1: the compile said nothing)
            if said and said[0] == runs:
                raise _Recorded
        try:
            self._call_stage(ext, stage, obj, metadata, dict(metadata), file, prev, False,
                             compat.PassHooks(0, recorder, ran))
        except _Recorded:
            pass
        return recorder

    def _record_aside(self, *args, told: int | None = None, claim=None) -> dict[str, Any]:
        """:meth:`_record_stage` in a recording child: its part of the recording, with each pass
        in JSON for the cache made there too (the LLIR stage's is ~5 MB, 10 ms)."""
        return self._record_stage(*args, told=told, claim=claim).part()

    def _collect_recording(self, rec: "_Recording", start_obj, file: str,
                           python_fn: Any) -> tuple[dict[str, Any], str]:
        """A stage's recording from its children, and its JSON for the cache; where a child failed,
        or they left the module other than the compile did, the stage is recorded again here, from its input."""
        deadline = time.monotonic() + RECORDING_WAIT_S + 20 * rec.ms / 1000
        try:
            parts = [child.result(timeout=max(deadline - time.monotonic(), 0.0))[0] for child in rec.children]
            data, last, encoded = passes_mod.join_parts(parts)
            if last is None or not isinstance(rec.output, str) or rec.stage not in MLIR_LEVELS or last == rec.output:
                return data, encoded
        except (ChildDied, ChildRaised, ValueError):
            rec.stop()
        prev, content = rec.origin   # the module made again as this compile made it (text alone
        obj = self._start(start_obj, file, python_fn) if content is None else self._materialize(prev, content)
        for ext, stage, metadata, in_file, before, hooks in rec.chain:   # would number its locations apart)
            hooks = compat.PassHooks(hooks.skip) if hooks is not None and hooks.skip else None
            obj = self._call_stage(ext, stage, obj, StageMetadata(metadata), dict(metadata), in_file, before,
                                   False, hooks)[1]
        ext, stage, metadata, *rest = rec.args
        data = self._record_stage(obj, ext, stage, StageMetadata(metadata), *rest).data()
        return data, json.dumps(data)

    def _start(self, start_obj, file: str, python_fn: Any):
        """The first stage's input: the front end's module, or the parsed start file."""
        buf = None
        try:
            with captured_output() as buf:
                return start_obj()
        except WorkbenchError:
            raise
        except Exception as e:  # noqa: BLE001 - the user's kernel failed to compile
            raise self._diagnose(e, buf.getvalue() if buf is not None else "", file, "python", python_fn) from None

    def _call_stage(self, ext: str, stage, obj: Any, metadata: dict, before: dict, file: str, prev: str,
                    isolate: bool, hooks: compat.PassHooks | None = None) -> tuple[Entry, Any]:
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
                passes = compat.intercepted_passes(self.backend, hooks) if hooks else contextlib.nullcontext()
                with _ptxas_log(ext == "cubin"), _own_tempdir(ext == "cubin"), captured_output() as buf, passes:
                    out = stage(ascii_for_ptxas(obj) if ext == "cubin" else obj, metadata)
                output_text = buf.getvalue()
        except WorkbenchError:
            raise
        except ChildDied as e:
            raise self._diagnose(e, e.output, file, prev) from None
        except ChildRaised as e:
            raise self._diagnose(e.exc or e, e.output + e.formatted, file, prev) from None
        except Exception as e:  # noqa: BLE001 - a stage failing on the user's input
            output = buf.getvalue() if buf is not None else ""
            if ext == "hsaco" and isinstance(obj, str) and (diags := parse_assembler_errors(output, obj, file)):
                raise WorkbenchError(diags, output) from None
            raise self._diagnose(e, output, file, prev) from None
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

    def _check_cubin(self, cubin: bytes, metadata: dict, file: str) -> None:
        info = read_cubin(cubin, file)
        name = metadata.get("name")
        if not name:
            raise WorkbenchError.at(file, "the metadata does not name the kernel (key 'name')")
        if name not in info.functions:
            raise WorkbenchError.at(file, f"the cubin holds kernel(s) {', '.join(info.functions) or 'none'}, "
                                          f"but its metadata names {name!r}")
        if info.arch != self.target.arch:
            raise WorkbenchError.at(file, f"the cubin is for sm_{info.arch}, but the target is "
                                          f"{compat.target_str(self.target)}")
        threads, warps = info.threads(name), metadata.get("num_warps")
        if threads and warps and threads != int(warps) * 32:
            raise WorkbenchError.at(file, f"the binary was compiled for {threads} threads per block (.reqntid, "
                                          f"{threads // 32} warps), but the metadata says num_warps {warps}: "
                                          f"set num_warps to {threads // 32} or recompile from a level above")

    # -- helpers ------------------------------------------------------------------------

    def _option_fields(self) -> set[str]:
        opts = self.backend.parse_options({})
        return set(vars(opts))

    def _options_hash(self, options) -> str:
        rep = repr(sorted(vars(options).items()))
        h = self._option_hashes.get(rep)
        if h is None:
            h = self._option_hashes[rep] = digest(rep)
        return h

    def _initial_metadata(self, options, base: dict[str, Any] | None = None) -> "StageMetadata":
        metadata = StageMetadata(base or {})
        metadata.pop("workbench", None)
        metadata.update({"hash": "", "target": self.target, **vars(options),
                         "triton_version": compat.triton.__version__})
        return metadata

    def _check_target(self, level: str, facts: dict, file: str) -> None:
        stated = md.stated_target(facts)
        if stated and compat.parse_target(stated).arch != self.target.arch:
            raise WorkbenchError.at(file, f"this {level.upper()} is for {stated}, but the target is "
                                          f"{compat.target_str(self.target)} (pass --target {stated})",
                                    _line_of(file, "ttg.target" if level == "ttgir" else ".target"))

    def _parse_mlir(self, content: str | bytes, file: str):
        context = compat.new_context(self.backend)
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

    def _materialize(self, level: str, content: str | bytes):
        if level in MLIR_LEVELS:
            return self._parse_mlir(content, f"<{level}>")
        return content

    def _diagnose(self, exc: BaseException, output: str, file: str, level: str,
                  python_fn: Any = None) -> WorkbenchError:
        if isinstance(exc, WorkbenchError):
            return exc
        diags: list[Diagnostic] = []
        name = type(exc).__name__
        if name == "PTXASError" or "ptxas" in output or "ptxas" in str(exc):  # 3.0-3.2: a RuntimeError
            diags = parse_ptxas_log(str(exc) + "\n" + output, file)
        if not diags and "LLVM ERROR" in output:
            diags = parse_llvm_error(output, file)
        if not diags and _is_front_end_error(exc):
            diags = [_python_diagnostic(exc, python_fn, file)]
        if not diags:
            diags = [d for d in parse_mlir_diagnostics(output, file) if d.severity == "error"]
            diags = [Diagnostic(file if d.file.startswith("<") else d.file, d.line, d.col, d.message)
                     for d in diags]
        if not diags and name == "AssertionError" and level == "llir":  # make_ptx/make_amdgcn: one kernel
            diags = [Diagnostic(file, None, None, "LLVM made no single kernel of it: the LLIR must define "
                                                  "exactly one kernel function")]
        if not diags:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else name
            diags = [Diagnostic(file, None, None, f"{name}: {msg}")]
        return WorkbenchError(diags, output)


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


def _is_front_end_error(exc: BaseException) -> bool:
    return any(cls.__name__ == "CompilationError" for cls in type(exc).__mro__)


def _python_diagnostic(exc: BaseException, fn: Any, file: str) -> Diagnostic:
    """A front-end error (``CompilationError``) at its line in the user's file.

    Triton numbers lines from the ``def`` of the function being compiled; when that is a
    helper the kernel calls, its own source is found among the kernel's module globals.
    """
    node = getattr(exc, "node", None)
    rel = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    message = str(getattr(exc, "error_message", None) or str(exc).strip().splitlines()[-1])
    loc = python_location(fn) if fn is not None else None
    src = getattr(exc, "src", None)
    if src is not None and fn is not None and getattr(fn, "src", None) != src:
        for value in vars(inspect.getmodule(getattr(fn, "fn", fn)) or object()).values():
            if getattr(value, "src", None) == src:
                loc = python_location(value) or loc
                break
    if loc is None or rel is None:
        return Diagnostic(file, None, None, message)
    return Diagnostic(loc["file"], loc["def_line"] + rel - 1, col + 1 if col is not None else None, message)


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


def _clean_options(options: dict[str, Any], fields: set[str]) -> dict[str, Any]:
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


def _line_of(file: str, needle: str) -> int | None:
    try:
        for i, row in enumerate(Path(file).read_text().splitlines(), 1):
            if needle in row:
                return i
    except OSError:
        pass
    return None

"""One script opened for work: its captured launches, every level of each kernel in the
workspace, and runs of any version against the original kernel.

This is what the runner process serves; the CLI's ``run`` and the app both drive it
through the runner. It owns torch and triton: nothing here is for the TUI process.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sys
import time
import traceback
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from workbench.compiler import compat, scratch as scratch_mod
from workbench.model import srcmap
from workbench.runtime.bench import BenchOptions, Timing, bench, compare, eval_flops, tensor_bytes
from workbench.compiler.cache import StageCache, default_dir
from workbench.runtime.capture.model import Capture, KernelSpec
from workbench.runtime.capture.script import DEFAULT_SNAPSHOT_LIMIT, run_script
from workbench.runtime.capture.snapshot import Snapshot
from workbench.runtime import configs as cfg
from workbench.runtime.configs import ConfigReplay, replays
from workbench.model.diagnostics import NO_GPU_TIMING, Diagnostic, WorkbenchError
from workbench.compiler.files import atomic_write, os_reason, safe_name
from workbench.model.level_files import SUFFIX, level_of
from workbench.session.lock import WorkspaceBusy, WorkspaceLock
from workbench.compiler.sources import read_level_file
from workbench.compiler.stages import CompileResult, Compiler
from workbench.runtime.verify import ATOMIC_ULPS, OutputCheck, atomic_tolerance, check
from workbench.session.workspace import VersionInfo, Workspace

Progress = Callable[[str, dict], None]
FLOAT_ATOMIC = re.compile(r"tt\.atomic_rmw\s+fadd")   # (in TTIR: a float sum whose order varies)


@dataclass
class Version:
    """What can run: the original kernel or a saved version, compiled."""

    label: str  # "original" or the version number as text
    level: str  # the level it was started from
    result: CompileResult | None
    fn: Any = None  # the JITFunction (python level: the edited one)
    kernel: Any = None  # Triton CompiledKernel, once loaded
    file: Path | None = None  # a saved version's edited file, where it was read from


@dataclass
class KernelState:
    spec: KernelSpec
    snapshot: Snapshot | None
    versions: dict[str, Version] = field(default_factory=dict)
    more: list[Snapshot] = field(default_factory=list)  # the spec's later launches kept: each verified too
    float_atomics: bool = False  # it adds floats atomically: the sum's order, and its last bits, vary run to run
    pure_outputs: list[str] = field(default_factory=list)  # poisoned before each run
    timings: dict[str, Timing] = field(default_factory=dict)
    last_run: str | None = None
    checked: bool = False  # the snapshot's arguments match the specialization (they never change)
    config: ConfigReplay | None = None  # an autotune config: replayed on the chosen config's inputs
    watch_cache: dict = field(default_factory=dict)  # the original's watched values (watch.values)
    passes: dict | None = None  # the original's passes (Session.passes), made once


@dataclass
class RunResult:
    kernel: str
    spec_id: str
    version: str
    level: str
    status: str  # ok | mismatch | compiled-only | error
    outputs: list[OutputCheck] = field(default_factory=list)
    timing: Timing | None = None
    vs_original: dict | None = None
    vs_previous: dict | None = None
    compile: dict | None = None
    message: str = ""
    error: Diagnostic | None = None
    times: dict[str, float] = field(default_factory=dict)  # where the run's wall time went
    caveat: str | None = None  # what the verdict cannot vouch for: the interpreter's known faults in this kernel
    launches: list[dict] = field(default_factory=list)  # each kept launch's verdict, where there are several

    def to_json(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "spec_id": self.spec_id, "version": self.version, "level": self.level,
                "status": self.status, "outputs": [o.to_json() | {"sentence": o.sentence} for o in self.outputs],
                "timing": self.timing.to_json() if self.timing else None, "vs_original": self.vs_original,
                "vs_previous": self.vs_previous, "compile": self.compile, "message": self.message,
                "error": self.error.to_json() if self.error else None, "times": self.times, "caveat": self.caveat,
                "launches": self.launches}


def _grid_of(spec: KernelSpec, snapshot: Snapshot) -> list[int] | None:
    """A kept launch's grid as it ran (a grid function evaluated on its arguments)."""
    from workbench.runtime import launch
    try:
        return list(launch.prepare(spec, snapshot, check=False).grid)
    except Exception:  # noqa: BLE001 - (only said beside the verdict)
        return None


class _StopAtLaunch(BaseException):
    """Raised by a kernel launch while an edited file is loaded for its definitions."""


class Session:
    def __init__(self, script: str | Path, argv: list[str] | None = None, target: str | None = None,
                 mode: str = "auto", workspace: str | Path | None = None,
                 snapshot_limit: int = DEFAULT_SNAPSHOT_LIMIT, with_sass: bool = True,
                 progress: Progress | None = None, if_busy: str = "error", script_timeout: float | None = None,
                 limit_name: str = "--script-timeout") -> None:
        self.script = Path(script).resolve()
        self.argv = list(argv or [])
        self.requested_target = target
        self.mode = mode
        self.workspace = Workspace(workspace) if workspace else Workspace.beside(self.script)
        # where saved versions are read: this one even when another process holds it (reading
        # needs no lock) and this session works in a scratch copy
        self.home = self.workspace
        self.if_busy = if_busy  # "error", or "scratch": work in a private copy when another writer has it
        self.lock = WorkspaceLock(self.workspace.root)
        self.scratch: Path | None = None
        self.notes: list[str] = []
        self.snapshot_limit = snapshot_limit
        self.with_sass = with_sass
        self.script_timeout, self.limit_name = script_timeout, limit_name
        self.progress = progress or (lambda what, info: None)
        self.capture: Capture | None = None
        self.compiler: Compiler | None = None
        self.kernels: dict[str, KernelState] = {}
        self._pool = None  # a sweep's compile workers (prefetch.CompilePool), started by the first sweep
        self._prefetched: dict[str, Future] = {}  # spec_id -> its compile in a worker
        self.gpu = compat.has_gpu() and mode not in ("compile-only", "interpret")

    # -- open ------------------------------------------------------------------------------

    def open(self) -> dict[str, Any]:
        """Run the script, compile every specialization it launched, fill the workspace."""
        if not self.script.is_file():
            raise WorkbenchError.at(str(self.script), "no such script")
        self._take_workspace()
        mode = self.mode
        if mode == "auto":
            mode = "gpu" if self.gpu else "interpret"
        self.progress("script", {"script": str(self.script), "mode": mode})
        t0 = time.perf_counter()
        self.capture = cap = run_script(self.script, self.argv, target=self.requested_target, mode=mode,
                                        snapshot_limit=self.snapshot_limit, time_limit=self.script_timeout,
                                        limit_name=self.limit_name)
        script_ms = (time.perf_counter() - t0) * 1e3
        if not cap.specs:
            err = cap.error or Diagnostic(str(self.script), None, None, "the script launched no Triton kernel")
            raise WorkbenchError([err])
        target = cap.target
        if self.requested_target and compat.is_hip_text(self.requested_target):
            # an AMD target: compiled for it, whichever card ran the script's launches
            target = compat.target_str(compat.parse_hip_target(self.requested_target))
        self.compiler = Compiler(target, StageCache(default_dir()))
        if compat.is_hip(self.compiler.target):
            self.gpu = False  # AMD binaries are compiled, never launched here: Python-level runs interpret
        kernels = []
        configs = replays(cap)
        for spec in cap.specs:
            self.progress("compile", {"kernel": spec.kernel, "spec_id": spec.spec_id})
            snapshot, config = configs.get(spec.spec_id, (cap.snapshots.get(spec.spec_id), None))
            state = KernelState(spec, snapshot, config=config, more=cap.more.get(spec.spec_id, []) if config is None
                                else [])
            self.kernels[spec.spec_id] = state
            entry: dict[str, Any] = {"spec": spec.to_json(), "launches": [lc.to_json() for lc in
                                                                         cap.launches_of(spec.spec_id)]}
            try:
                result = self.compiler.compile_spec(spec, with_sass=self.with_sass)
            except WorkbenchError as e:
                entry["error"] = e.to_json()
                kernels.append(entry)
                continue
            kernels.append(self._kept(state, result, entry))
        kernels += self._restore_tried()
        return {"script": str(self.script), "mode": cap.mode, "target": target, "gpu": self.gpu,
                "workspace": str(self.workspace.root), "scratch": self.scratch is not None,
                "notes": self.notes + cap.notes + self.workspace.notes, "script_ms": script_ms,
                "script_error": cap.error.to_json() if cap.error else None, "kernels": kernels,
                "tunings": [t.to_json() for t in cap.tunings]}

    def _kept(self, state: KernelState, result: CompileResult, entry: dict[str, Any]) -> dict[str, Any]:
        """A compiled specialization as the original of its folder in the workspace, and the
        entry that tells the app and the CLI about it."""
        spec = state.spec
        state.versions["original"] = Version("original", "python", result, spec.fn)
        state.float_atomics = bool(FLOAT_ATOMIC.search(str(result.levels.get("ttir", ""))))
        files = self.workspace.write_original(spec.folder_name, spec.stem, result)
        if state.snapshot is not None and (self.gpu or self.capture.mode == "interpret"):
            state.pure_outputs = self._pure_outputs(state)
        entry.update(result=result.summary(), files={k: str(v) for k, v in files.items()},
                     srcmap=srcmap.build(result.levels, result.sass_lines, result.python,
                                         result.sass_ptx_lines).to_json(),
                     folder=str(self.workspace.kernel_dir(spec.folder_name)),
                     edit=str(self.workspace.edit(spec.folder_name)),
                     pure_outputs=state.pure_outputs, snapshot=state.snapshot is not None,
                     versions=[v.to_json() for v in self.workspace.versions(spec.folder_name)])
        return entry

    def _restore_tried(self) -> list[dict[str, Any]]:
        """The configs tried in an earlier session (``tried.json`` of the kernel they were tried
        on), added again to their tables: compiled (from the stage cache), not run."""
        entries = []
        for state in list(self.kernels.values()):
            if state.config is not None and not state.config.chosen:
                continue
            path = self.workspace.kernel_dir(state.spec.folder_name) / TRIED_FILE
            for item in _read_tried(path, self.notes):
                try:   # (its grid is refused here, unevaluated, if it is more than arithmetic)
                    out = self.try_config(state.spec.spec_id, item["config"], grid=item.get("grid"), run=False,
                                          grid_from=str(path))
                except WorkbenchError as e:  # (its inputs were not captured this time)
                    self.notes.append(f"a config tried earlier is not listed again: {e}")
                    continue
                if out.get("kernel"):
                    entries.append(out["kernel"])
        return entries

    def _take_workspace(self) -> None:
        """Become the workspace's one writer; when another process is, fail naming it, or
        (``if_busy="scratch"``, what ``workbench run`` asks) work in a private temporary
        workspace that goes when the session closes, so a run still replays and verifies
        without writing into the holder's edit/ or versions/."""
        if self.lock.held or self.scratch is not None:
            return
        try:
            self.lock.acquire()
        except WorkspaceBusy as busy:
            if self.if_busy != "scratch":
                raise
            # named after this process: one killed (-9) leaves it to the next, which removes it
            self.scratch = scratch_mod.workspace(safe_name(self.script.stem))
            self.notes.append(f"workspace {self.workspace.root} is in use by {busy.who}: this run works in a "
                              f"scratch workspace, {self.scratch}, removed when it ends")
            self.workspace = Workspace(self.scratch)

    def close(self) -> None:
        """Give the workspace up: the lock is released, a scratch workspace removed."""
        if self._pool is not None:
            self._pool.close()
        self.lock.release()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def state(self, spec: str) -> KernelState:
        """A kernel by spec id, folder name or kernel name (the chosen spec of an autotuned one)."""
        if spec in self.kernels:
            return self.kernels[spec]
        matches = [s for s in self.kernels.values() if spec in (s.spec.folder_name, s.spec.kernel)]
        if len(matches) > 1:
            matches = [s for s in matches if s.spec.chosen] or matches[:1]
        if not matches:
            known = ", ".join(s.spec.folder_name for s in self.kernels.values())
            raise WorkbenchError.at(str(self.script), f"no kernel {spec!r} in this script (it launched: {known})")
        return matches[0]

    # -- compile ---------------------------------------------------------------------------

    def compile(self, spec: str, path: str | Path, level: str | None = None,
                update_edit: bool = True) -> tuple[VersionInfo, Version]:
        """Compile a saved level file (any of python, ttir .. cubin) into a new version. The
        levels below are written into edit/ only for a file saved in this kernel's edit/ (the
        app's save) and when ``update_edit``: ``workbench run --from`` never touches edit/,
        whatever folder its file is in, so it cannot overwrite what the user is editing."""
        state = self.state(spec)
        path = Path(path)
        level = level or ("python" if path.suffix == ".py" else "pass" if path.suffix == ".mlir" else level_of(path))
        content = read_level_file(path, binary=level in ("cubin", "hsaco"))  # not UTF-8: said at its byte
        if level == "pass":  # the IR after a pass: kept as its level's text, header and all (passes.py)
            from workbench.compiler.passes import level_of_stage, read_pass_header
            level = level_of_stage(read_pass_header(path, str(content)).stage)
        result, fn = self._compile_file(state, path, level, content)
        in_edit = path.resolve().parent == self.workspace.edit(state.spec.folder_name).resolve()
        info = self.workspace.new_version(state.spec.folder_name, state.spec.stem, level, content, result,
                                          update_edit=update_edit and in_edit, source=path.resolve())
        version = Version(str(info.number), level, result, fn)
        state.versions[version.label] = version
        return info, version

    def _compile_file(self, state: KernelState, path: Path, level: str,
                      content: str | bytes) -> tuple[CompileResult, Any]:
        """What a level file compiles to, and the kernel function (an edited one for Python)."""
        self.progress("compile", {"kernel": state.spec.kernel, "level": level, "file": str(path)})
        original = state.versions.get("original")
        if original is None or original.result is None:
            raise WorkbenchError.at(str(path), "the original kernel did not compile, so there is nothing to "
                                               "start from; fix the script first")
        spec = state.spec
        if level == "python":
            fn = self._edited_function(spec, path)
            return self.compiler.compile_python(fn, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                                spec.options, with_sass=self.with_sass), fn
        base = self._metadata_for(path, level, original.result)
        return self.compiler.compile_level(level, content, base, file=str(path), with_sass=self.with_sass), spec.fn

    def _metadata_for(self, path: Path, level: str, original: CompileResult) -> dict[str, Any]:
        """The metadata JSON beside the edited file (the user may have edited it), else the
        original's; for a start below TTGIR, shared memory below what the kernel was compiled
        to use is refused (the launch would run past its shared memory)."""
        from workbench.compiler import metadata as md
        beside = md.find_beside(path)
        base = md.load(beside) if beside else original.metadata_json()
        if level in ("llir", "ptx", "cubin"):
            need, have = int(original.metadata.get("shared") or 0), int(base.get("shared") or 0)
            if have < need:
                raise WorkbenchError.at(str(beside or path), f"the metadata gives {have} bytes of shared memory, "
                                        f"but this kernel was compiled to use {need} (TTGIR allocation): a launch "
                                        f"would run past its shared memory; set \"shared\": {need}")
        return base

    def _edited_function(self, spec: KernelSpec, path: Path):
        """The kernel as defined in an edited copy of its Python file."""
        namespace = {"__name__": "__workbench_edit__", "__file__": str(path), "__builtins__": __builtins__}
        JITFunction = compat.jit_function_class()
        saved_run, saved_path = JITFunction.run, sys.path[:]

        def stop(*args, **kwargs):
            raise _StopAtLaunch

        # a script that launches at its top level stops at its first launch: what the launch
        # needs is defined above it (the script's folder is importable, as when it ran)
        JITFunction.run = stop
        sys.path.insert(0, str(self.script.parent))
        try:
            exec(compile(path.read_bytes(), str(path), "exec"), namespace)
        except (_StopAtLaunch, SystemExit):
            pass
        except SyntaxError as e:
            raise WorkbenchError([Diagnostic(str(path), e.lineno, e.offset, f"SyntaxError: {e.msg}")]) from None
        except Exception as e:  # noqa: BLE001 - the user's code
            frames = [f for f in traceback.extract_tb(e.__traceback__) if Path(f.filename) == path]
            line = frames[-1].lineno if frames else None
            raise WorkbenchError([Diagnostic(str(path), line, None, f"{type(e).__name__}: {e}")]) from None
        finally:
            JITFunction.run = saved_run
            sys.path[:] = saved_path
        fn = compat.jit_function_of(namespace.get(spec.kernel))
        if fn is None:
            raise WorkbenchError.at(str(path), f"no @triton.jit kernel named {spec.kernel!r} in the edited file")
        return fn

    # -- run -------------------------------------------------------------------------------

    def run(self, spec: str, version: str = "original", bench_options: BenchOptions | None = None,
            flops: str | None = None, atol: float | None = None, rtol: float | None = None,
            outputs: dict[str, Any] | None = None) -> RunResult:
        """``outputs``: the tensors after a launch already made on the poisoned snapshot (the
        watch list's, :class:`~workbench.instrument.watch.Live`): verified without launching again.
        Timed on a GPU only: the interpreter's wall time is no kernel timing."""
        if bench_options is not None and not self.gpu:
            raise WorkbenchError.at(str(self.script), f"{NO_GPU_TIMING}: ask for no timing, or run on a GPU")
        state = self.state(spec)
        v = state.versions.get(str(version))
        if v is None:
            v = self._load_version(state, str(version))
        res = RunResult(state.spec.kernel, state.spec.spec_id, v.label, v.level, "ok",
                        compile=v.result.summary() if v.result else None)
        if state.snapshot is None:
            res.status, res.message = "compiled-only", "no inputs were captured for this kernel " \
                "(the snapshot limit, or a compile-only capture)"
            return res
        if v.level != "python" and self.compiler is not None and compat.is_hip(self.compiler.target):
            res.status, res.message = "compiled-only", f"compiled only: {compat.target_str(self.compiler.target)} " \
                "kernels run on a ROCm GPU (AMD), and this machine has none"
            return res
        if not self.gpu and v.level != "python":
            res.status, res.message = "compiled-only", "compiled only: no GPU (IR levels need a GPU to run; " \
                "Python-level kernels run in Triton's interpreter)"
            return res
        self.progress("launch", {"kernel": state.spec.kernel, "version": v.label, "level": v.level})
        t0 = time.perf_counter()
        outputs = self._launch(state, v, state.pure_outputs) if outputs is None else outputs
        t1 = time.perf_counter()
        after = state.snapshot.after
        res.outputs = [check(label, after[name], outputs[name], *self._tolerance(state, after[name], atol, rtol))
                       for label, name in state.snapshot.checked.items()]
        res.times = {"launch_ms": (t1 - t0) * 1e3, "verify_ms": (time.perf_counter() - t1) * 1e3}
        res.status = "ok" if all(o.ok for o in res.outputs) else "mismatch"
        if state.float_atomics and atol is None and rtol is None:
            res.message = "float atomics: the order of the sum varies run to run, so it is checked with the " \
                          f"tolerances of another summation order (atol at least {ATOMIC_ULPS} units in the last " \
                          "place of the largest value)"
        if state.more:
            self._verify_more(state, v, res, atol, rtol)
        if not self.gpu:  # both sides came from the interpreter: where it is wrong, so are they
            res.caveat = compat.interpreter_inexact(str(v.result.levels.get("ttir", ""))) if v.result else None
        if bench_options is not None:
            self.progress("bench", {"kernel": state.spec.kernel, "version": v.label})
            res.timing = self._time(state, v, bench_options, flops)
            if v.label != "original":
                # the original is timed again now, beside this version: a ratio of two timings
                # taken minutes apart would measure the machine (clocks, other processes) too
                base = self._time(state, state.versions["original"], bench_options, flops)
                res.vs_original = compare(res.timing, base, f"version {v.label}", "the original").to_json() | {
                    "timing": base.to_json()}  # the original's timing the ratio is against
                prev = state.last_run
                if prev not in (None, "original", v.label) and prev in state.timings:
                    res.vs_previous = compare(res.timing, state.timings[prev], f"version {v.label}",
                                              f"version {prev}").to_json()
            state.last_run = v.label
        return res

    def apply(self, spec: str, path: str | Path, level: str | None = None, update_edit: bool = True,
              watches: bool = True, **run_args) -> dict[str, Any]:
        """The edit loop: compile a saved level into a new version, run it, keep the result;
        ``watches``: dump the kernel's watch list too (``watches`` in the answer)."""
        state = self.state(spec)
        t0 = time.perf_counter()
        info, version = self.compile(spec, path, level, update_edit)
        compile_ms = (time.perf_counter() - t0) * 1e3
        live = None
        if watches:  # the watch list, dumped for this version beside the original (watch.py)
            from workbench.instrument.watch import Live
            live = Live(self, state, version)
        launched = live.launch(state.pure_outputs) if live else None
        result = self.run(state.spec.spec_id, version.label, outputs=launched, **run_args)
        out = result.to_json() | {"compile_ms": compile_ms, "version_folder": str(info.folder)}
        if live:
            out["watches"], out["watch_notes"] = live.values(), live.notes
            result.times["watch_ms"] = live.ms
        out["times"] = dict(result.times, compile_ms=compile_ms, apply_ms=(time.perf_counter() - t0) * 1e3)
        self.workspace.save_result(info, out)
        compiled = version.result
        out["versions"] = [v.to_json() for v in self.workspace.versions(state.spec.folder_name)]
        out["srcmap"] = srcmap.build(compiled.levels, compiled.sass_lines, compiled.python,
                                     compiled.sass_ptx_lines).to_json()
        out["times"]["answer_ms"] = (time.perf_counter() - t0) * 1e3   # with the result kept, versions, map
        # the clock (CLOCK_MONOTONIC) is the machine's, so the app can tell the pipe's time from ours
        out["times"]["started_at"], out["times"]["answered_at"] = t0, time.perf_counter()
        return out

    def try_config(self, spec: str, config: str | dict, bench_options: BenchOptions | None = None,
                   flops: str | None = None, atol: float | None = None, rtol: float | None = None,
                   grid: str | None = None, run: bool = True, grid_from: str = "--grid") -> dict[str, Any]:
        """A config the script does not list: compiled from Python with these meta-parameters and
        options, replayed on the captured inputs (the script's grid recomputed for it, or ``grid``,
        an expression over the arguments and meta-parameters, where the script's grid is fixed
        numbers, ``grid_from`` the flag or file it came from), verified against the chosen config,
        timed, and added to the kernel's config table. A config that does not compile or does not
        fit the card is a row that says so.

        One that compiles is kept like a captured specialization: its levels are the original of
        a folder of its own in the workspace (edits and versions start from it); one that also
        verifies is remembered in ``tried.json``, so the next session lists it again.
        ``run=False``: compiled and listed only (what reopening does)."""
        t0 = time.perf_counter()
        tuning, base, config_obj, snapshot = self._config_launch(self.state(spec), config, grid, grid_from)
        chosen_kwargs = tuning.config_kwargs(tuning.chosen)
        # the same config tried again is the same row (its grid may be new)
        index = next((i for i in tuning.tried if tuning.config_kwargs(i) == config_obj.all_kwargs()),
                     max(tuning.configs) + 1)
        changed = {k for k, v in config_obj.kwargs.items() if chosen_kwargs.get(k) != v}
        fixed_grid = None if callable(snapshot.grid) or not changed else snapshot.grid
        # a row for a config that never got a specialization of its own is keyed by its index
        res = RunResult(base.spec.kernel, f"config-{index}", "original", "python", "error")
        try:
            new_spec = self._config_spec(base, snapshot)
        except Exception as e:  # noqa: BLE001 - a config the kernel refuses (a missing meta-parameter, ...)
            res.message = f"this config does not specialize: {_one_line(e)}"
            return self._tried(tuning, index, config_obj, res.spec_id, res)
        new_spec.autotune = {"configs": len(tuning.configs) + 1, "config_index": index, "config": str(config_obj),
                             "chosen": False, "timed": self.gpu, "tried": True}
        res.spec_id = new_spec.spec_id
        tuning.configs[index] = (config_obj, new_spec.spec_id)
        existing = self.kernels.get(new_spec.spec_id)
        compile_ms, kept = 0.0, None
        if existing is not None and grid:   # (tried before with another grid)
            existing.snapshot = dataclasses.replace(snapshot, spec_id=new_spec.spec_id)
        if existing is None:
            c0 = time.perf_counter()
            ahead = self._prefetched.pop(new_spec.spec_id, None)
            if ahead is not None:   # compiled by a worker into the stage cache: the compile below hits
                wait([ahead])
            try:
                result = self.compiler.compile_spec(new_spec, with_sass=False)
            except WorkbenchError as e:
                res.message = f"this config does not compile: {e.diagnostics[0].message if e.diagnostics else e}"
                return self._tried(tuning, index, config_obj, new_spec.spec_id, res)
            existing = self.kernels[new_spec.spec_id] = KernelState(
                new_spec, dataclasses.replace(snapshot, spec_id=new_spec.spec_id),
                config=ConfigReplay(tuning, index))
            self.capture.specs.append(new_spec)
            kept = self._kept(existing, result, {"spec": new_spec.to_json(), "launches": []})
            compile_ms = (time.perf_counter() - c0) * 1e3
        if not run:
            res.status, res.message = "compiled-only", "tried in an earlier session: not run yet"
            return self._tried(tuning, index, config_obj, new_spec.spec_id, res, kept)
        try:
            res = self.run(new_spec.spec_id, "original", bench_options, flops, atol, rtol)
        except WorkbenchError:
            raise
        except Exception as e:  # noqa: BLE001 - OutOfResources (shared memory, registers) at load time
            if type(e).__name__ != "OutOfResources":
                raise
            res.message = f"this config does not fit the card: {_one_line(e)}"
        if fixed_grid is not None:   # (what to do where it was asked: a flag, or the app's field)
            how = (f"give the grid as an expression ({grid_from} 'cdiv(M, BLOCK_M) * cdiv(N, BLOCK_N)')"
                   if grid_from.startswith("--") else "type the grid as an expression, "
                                                      "grid=cdiv(M,BLOCK_M)*cdiv(N,BLOCK_N) after the config")
            res.message = (res.message + "; " if res.message else "") + (
                f"the script's grid is fixed at {tuple(fixed_grid)}, whatever {', '.join(sorted(changed))} is: {how}")
        if res.status in ("ok", "compiled-only"):   # (one that does not verify is not kept)
            _remember_tried(self.workspace.kernel_dir(base.spec.folder_name) / TRIED_FILE,
                            config_obj.all_kwargs(), grid, self.notes)
        res.times = dict(res.times, compile_ms=compile_ms, try_ms=(time.perf_counter() - t0) * 1e3)
        return self._tried(tuning, index, config_obj, new_spec.spec_id, res, kept)

    def prefetch_configs(self, spec: str, configs: list[dict], grid: str | None = None) -> dict[str, Any]:
        """Start the compiles of a sweep's configs in worker processes (:mod:`.prefetch`), so
        that ``try_config`` on each finds its levels compiled: the front end of each here, the
        stages below TTIR there. A config that fails is left for ``try_config`` to report."""
        state = self.state(spec)
        todo = []
        for config in configs:
            try:
                _, base, _, snapshot = self._config_launch(state, config, grid)
                new_spec = self._config_spec(base, snapshot)
                if new_spec.spec_id not in self.kernels and new_spec.spec_id not in self._prefetched:
                    todo.append(new_spec)
            except Exception:  # noqa: BLE001 - said by try_config, at its turn
                continue
        if len(todo) < 2:   # one config: nothing to overlap
            return {"prefetching": 0}
        if self._pool is None:
            from workbench.runtime.prefetch import CompilePool
            self._pool = CompilePool(compat.target_str(self.compiler.target))
        started = 0
        for new_spec in todo:
            try:
                front = self.compiler.compile_spec(new_spec, with_sass=False, until="ttir")
            except WorkbenchError:
                continue
            self._prefetched[new_spec.spec_id] = self._pool.submit(front.levels["ttir"], front.metadata)
            started += 1
        return {"prefetching": started, "workers": self._pool.workers}

    def _config_launch(self, state: KernelState, config: str | dict, grid: str | None, grid_from: str = "--grid"):
        """(tuning, the chosen config's state, the Config, its snapshot) for ``config`` tried on
        the kernel of ``state``: what it does not say is the chosen config's."""
        if state.config is None:
            if state.snapshot is None:
                raise WorkbenchError.at(str(self.script), f"no inputs were captured for {state.spec.kernel}: "
                                                          "nothing to try a config on")
            state.config = ConfigReplay(cfg.own_tuning(state.spec, state.snapshot), 0)
            self.capture.tunings.append(state.config.tuning)
        tuning = state.config.tuning
        base = self.kernels[tuning.chosen_spec]
        wanted = cfg.parse_config(config) if isinstance(config, str) else dict(config)
        chosen_kwargs = tuning.config_kwargs(tuning.chosen)
        config_obj = cfg.make_config({**chosen_kwargs, **wanted})
        snapshot = cfg.with_config(base.snapshot, base.spec.fn, chosen_kwargs, config_obj.all_kwargs())
        if grid:
            snapshot = dataclasses.replace(snapshot, grid=cfg.GridExpr(grid, grid_from))
        return tuning, base, config_obj, snapshot

    @staticmethod
    def _config_spec(base: KernelState, snapshot: Snapshot) -> KernelSpec:
        from workbench.runtime import launch
        args, kwargs, _ = snapshot.fresh_args()
        new_spec = launch.specialization_of(base.spec, args, kwargs, snapshot.grid)
        new_spec.fn = base.spec.fn
        return new_spec

    def _tried(self, tuning, index: int, config, spec_id: str, res: RunResult,
               kept: dict[str, Any] | None = None) -> dict[str, Any]:
        tuning.configs[index] = (config, spec_id)
        if index not in tuning.tried:
            tuning.tried.append(index)
        return {"result": res.to_json(), "tuning": tuning.to_json(),
                "tuning_index": self.capture.tunings.index(tuning), "kernel": kept}

    # -- passes ----------------------------------------------------------------------------

    def passes(self, spec: str, version: str | None = None) -> dict[str, Any]:
        """The original's IR after every pass, as ``passes/NN-<stage>-<pass>.mlir`` in the kernel's
        folder (what ``workbench passes`` writes) and their table; for each line of its TTGIR and
        LLIR, the pass that introduced it; with ``version`` (one edited at Python, TTIR or TTGIR),
        which passes did something else for it. Made once per kernel (the recording is cached with
        its stages too): the app asks each time its Passes view is shown."""
        from workbench.compiler import passes as passes_mod
        state = self.state(spec)
        original = state.versions.get("original")
        if original is None or original.result is None:
            raise WorkbenchError.at(str(self.script), f"{state.spec.kernel} did not compile: it has no passes")
        if state.passes is None:
            s = state.spec
            recorded = self.compiler.compile_spec(s, with_sass=False, record_passes=True)
            plist = passes_mod.pass_list(recorded.passes)
            folder = self.workspace.kernel_dir(s.folder_name) / "passes"
            passes_mod.write_pass_files(plist, folder, s.kernel, recorded.metadata_json())
            state.passes = {"folder": str(folder), "passes": [p.summary() for p in plist],
                            "introduced": {level: {str(n): hit for n, hit in
                                                   passes_mod.introducing_passes(plist, level,
                                                                                 str(recorded.levels[level])).items()}
                                           for level in ("ttgir", "llir")}}
        out = dict(state.passes)
        if version is not None and version != "original":
            try:
                info = self.workspace.version(state.spec.folder_name, int(version))
            except (KeyError, ValueError):
                raise WorkbenchError.at(str(self.workspace.versions_dir(state.spec.folder_name)),
                                        f"no version {version} of {state.spec.folder_name}") from None
            out["compare"] = {"version": str(version), "level": info.level,
                              "passes": passes_mod.compare_version(self.compiler, state.spec, info)}
        return out

    # -- helpers ---------------------------------------------------------------------------

    def _load_version(self, state: KernelState, label: str) -> Version:
        """A saved version, compiled again from its file in :attr:`home`."""
        try:
            info = self.home.version(state.spec.folder_name, int(label))
        except (KeyError, ValueError):
            raise WorkbenchError.at(str(self.home.versions_dir(state.spec.folder_name)),
                                    f"no version {label} of {state.spec.kernel}") from None
        edited = info.folder / f"{state.spec.stem}{SUFFIX[info.level]}"
        if not edited.is_file():
            raise WorkbenchError.at(str(edited), f"version {label} of {state.spec.kernel} has lost its edited "
                                                 f"{info.level.upper()} file, so it cannot be compiled again: put "
                                                 "the file back, or export another version")
        content = read_level_file(edited, binary=info.level in ("cubin", "hsaco"))
        result, fn = self._compile_file(state, edited, info.level, content)  # a saved version: no new one
        version = state.versions[label] = Version(label, info.level, result, fn, file=edited)
        return version

    def _kernel(self, state: KernelState, v: Version):
        """The version's Triton kernel, loaded once."""
        from workbench.runtime import launch
        if v.kernel is None:
            v.kernel = launch.load(v.result, state.spec)
        return v.kernel

    def _launch(self, state: KernelState, v: Version, poison_outputs: list[str],
                snapshot: Snapshot | None = None) -> dict[str, Any]:
        """One launch of ``v`` on fresh copies of a kept launch's inputs (the first one's by default)."""
        from workbench.runtime import launch
        hook = state.config.before_launch if state.config else None
        snapshot = snapshot or state.snapshot
        if not self.gpu:
            return launch.interpret(v.fn, state.spec, snapshot, poison_outputs, before_launch=hook)
        # (later launches were captured under the same specialization: checked as the first is)
        outputs = launch.replay(v.result, state.spec, snapshot, self._kernel(state, v), poison_outputs,
                                check=not state.checked and snapshot is state.snapshot, before_launch=hook)
        state.checked = True
        return outputs

    def _verify_more(self, state: KernelState, v: Version, res: RunResult, atol, rtol) -> None:
        """Every later launch kept of the specialization, replayed and verified like the first:
        one verdict per launch, and the run's is theirs too."""
        kept = [state.snapshot, *state.more]
        res.launches = [{"launch": 1, "grid": _grid_of(state.spec, state.snapshot),
                         "ok": res.status == "ok", "sentence": ""}]
        for number, snapshot in enumerate(state.more, start=2):
            got = self._launch(state, v, state.pure_outputs, snapshot)
            checks = [check(label, snapshot.after[name], got[name], *self._tolerance(state, snapshot.after[name],
                                                                                    atol, rtol))
                      for label, name in snapshot.checked.items()]
            bad = next((c for c in checks if not c.ok), None)
            res.launches.append({"launch": number, "grid": _grid_of(state.spec, snapshot), "ok": bad is None,
                                 "sentence": bad.sentence if bad else ""})
        wrong = [lc for lc in res.launches if not lc["ok"]]
        if not wrong:
            res.message = (res.message + "; " if res.message else "") + f"{len(kept)} launches verified"
            return
        res.status = "mismatch"
        first = next((lc for lc in wrong if lc["launch"] > 1), None)
        if first is not None:
            res.message = (res.message + "; " if res.message else "") + \
                f"launch {first['launch']} of {len(kept)} (grid {first['grid']}) does not verify: {first['sentence']}"

    @staticmethod
    def _tolerance(state: KernelState, expected, atol: float | None, rtol: float | None) -> tuple:
        """The user's tolerances, else (for an autotune config checked against the chosen one, or
        a kernel that adds floats atomically) what summing in another order needs, else the
        dtype's default."""
        dtype = str(expected.dtype).replace("torch.", "")
        loose = state.config.tolerance(dtype) if state.config else None
        atomic = atomic_tolerance(expected) if state.float_atomics else None
        if atomic is not None:   # (an autotune config too: the larger of the two)
            loose = atomic if loose is None else (max(loose[0], atomic[0]), max(loose[1], atomic[1]))
        if loose is None:
            return atol, rtol
        return (loose[0] if atol is None else atol), (loose[1] if rtol is None else rtol)

    def _pure_outputs(self, state: KernelState) -> list[str]:
        """Outputs the original kernel writes in full without reading them: the ones that can
        be poisoned before a run (an in-place kernel's outputs cannot)."""
        written = state.snapshot.written
        if not written:
            return []
        outputs = self._launch(state, state.versions["original"], written)
        after = state.snapshot.after
        return [name for name in written if check(name, after[name], outputs[name]).ok]

    def _time(self, state: KernelState, v: Version, options: BenchOptions, flops: str | None) -> Timing:
        from workbench.runtime import launch
        prepared = launch.prepare(state.spec, state.snapshot, check=False)
        bound_by_name = dict(zip(state.spec.fn.arg_names, prepared.bound))
        kernel, grid, args = self._kernel(state, v), prepared.grid, prepared.bound
        timing = bench(lambda: kernel[grid](*args), options)
        timing.bytes = tensor_bytes(prepared.tensors)
        if flops:
            timing.flops = eval_flops(flops, bound_by_name | prepared.tensors)
        state.timings[v.label] = timing
        return timing


TRIED_FILE = "tried.json"  # in the folder of the kernel configs were tried on


def _read_tried(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    """What ``_remember_tried`` kept; a damaged file is said once and read as empty."""
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("config"), dict)
                                                  for i in items):
            raise ValueError("expected a list of {config, grid}")
        return items
    except FileNotFoundError:
        return []
    except (OSError, ValueError, UnicodeDecodeError) as e:
        why = os_reason(e) if isinstance(e, OSError) else e
        notes.append(f"{path}: the configs tried earlier cannot be read ({why}): they are not listed again")
        return []


def _remember_tried(path: Path, config: dict[str, Any], grid: str | None, notes: list[str]) -> None:
    """Kept once per config, with the grid it was last tried with."""
    config = {k: v for k, v in config.items() if isinstance(v, (int, float, str, bool))}
    items = _read_tried(path, notes)
    if {"config": config, "grid": grid} in items:
        return
    items = [i for i in items if i["config"] != config] + [{"config": config, "grid": grid}]
    try:
        atomic_write(path, json.dumps(items, indent=1))
    except OSError as e:
        notes.append(f"{path}: cannot keep the config tried ({os_reason(e)}): the next session will not list it")


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__

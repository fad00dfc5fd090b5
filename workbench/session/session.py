"""One script opened for work: its captured launches, every level of each kernel in the
workspace, and runs of any version against the original kernel.

This is what the runner process serves; the CLI's ``run`` and the app both drive it
through the runner. It owns torch and triton: nothing here is for the TUI process.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from workbench.compiler import compat, compat_interpreter, scratch as scratch_mod
from workbench.model import spans, srcmap
from workbench.model.spans import span
from workbench.runtime.bench import BenchOptions, Timing, bench, compare, eval_flops, tensor_bytes
from workbench.compiler.cache import StageCache, default_dir
from workbench.runtime.capture.model import Capture, KernelSpec
from workbench.runtime.capture.script import DEFAULT_SNAPSHOT_LIMIT, run_script
from workbench.runtime.capture.snapshot import Snapshot
from workbench.runtime.configs import replays
from workbench.model.diagnostics import NO_GPU_TIMING, Diagnostic, WorkbenchError
from workbench.compiler.files import safe_name
from workbench.model.level_files import SUFFIX, level_of
from workbench.session.lock import WorkspaceBusy, WorkspaceLock
from workbench.compiler.sources import read_level_file
from workbench.compiler.stages import CompileResult, Compiler
from workbench.runtime.verify import ATOMIC_ULPS, atomic_tolerance, check
from workbench.session.tuning import ConfigTrials
from workbench.session.versions import KernelState, RunResult, Version
from workbench.session.workspace import VersionInfo, Workspace, sanitize_run_shape

Progress = Callable[[str, dict], None]
FLOAT_ATOMIC = re.compile(r"tt\.atomic_rmw\s+fadd")   # (in TTIR: a float sum whose order varies)



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
        self.configs = ConfigTrials(self)  # configs the script does not list, tried on its inputs
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
            kernels.append(self.kernel_entry(state, result, entry))
        kernels += self.configs.restore()
        return {"script": str(self.script), "mode": cap.mode, "target": target, "gpu": self.gpu,
                "workspace": str(self.workspace.root), "scratch": self.scratch is not None,
                "notes": self.notes + cap.notes + self.workspace.notes, "script_ms": script_ms,
                "script_error": cap.error.to_json() if cap.error else None, "kernels": kernels,
                "tunings": [t.to_json() for t in cap.tunings]}

    def kernel_entry(self, state: KernelState, result: CompileResult, entry: dict[str, Any]) -> dict[str, Any]:
        """A compiled specialization as the original of its folder in the workspace, and the
        entry that tells the app and the CLI about it."""
        spec = state.spec
        state.versions["original"] = Version("original", "python", result, spec.fn)
        state.float_atomics = bool(FLOAT_ATOMIC.search(str(result.levels.get("ttir", ""))))
        files = self.workspace.write_original(spec.folder_name, spec.stem, result)
        if state.snapshot is not None and (self.gpu or self.capture.mode == "interpret"):
            uses = self._pointer_uses(state)
            state.pure_outputs = self._pure_outputs(state, state.snapshot, uses)
            # each later launch its own: one that writes part of a buffer the first wrote in full
            # leaves the rest as the script had it, never as poison
            state.more_pure = [self._pure_outputs(state, snapshot, uses) for snapshot in state.more]
        entry.update(result=result.summary(), files={k: str(v) for k, v in files.items()},
                     srcmap=srcmap.build(result.levels, result.sass_lines, result.python,
                                         result.sass_ptx_lines).to_json(),
                     folder=str(self.workspace.kernel_dir(spec.folder_name)),
                     edit=str(self.workspace.edit(spec.folder_name)),
                     pure_outputs=state.pure_outputs, snapshot=state.snapshot is not None,
                     versions=[v.to_json() for v in self.workspace.versions(spec.folder_name)],
                     sanitized=self.workspace.sanitize_runs(spec.folder_name))
        return entry

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
        self.configs.close()
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
                update_edit: bool = True, with_sass: bool | None = None) -> tuple[VersionInfo, Version]:
        """Compile a saved level file (any of python, ttir .. cubin) into a new version. The
        levels below are written into edit/ only for a file saved in this kernel's edit/ (the
        app's save) and when ``update_edit``: ``workbench run --from`` never touches edit/,
        whatever folder its file is in, so it cannot overwrite what the user is editing.
        ``with_sass``: False leaves the SASS to :meth:`apply`'s after its verdict (None: the session's)."""
        state = self.state(spec)
        path = Path(path)
        level = level or ("python" if path.suffix == ".py" else "pass" if path.suffix == ".mlir" else level_of(path))
        with span("read the edit"):
            content = read_level_file(path, binary=level in ("cubin", "hsaco"))  # not UTF-8: said at its byte
        if level == "pass":  # the IR after a pass: kept as its level's text, header and all (passes.py)
            from workbench.compiler.passes import level_of_stage, read_pass_header
            level = level_of_stage(read_pass_header(path, str(content)).stage)
        result, fn = self._compile_file(state, path, level, content, with_sass)
        with span("write the version"):
            info = self.workspace.new_version(state.spec.folder_name, state.spec.stem, level, content, result,
                                              update_edit=self._writes_edit(state, path, update_edit),
                                              source=path.resolve())
        version = Version(str(info.number), level, result, fn)
        state.versions[version.label] = version
        return info, version

    def _writes_edit(self, state: KernelState, path: Path, update_edit: bool) -> bool:
        """A version of ``path`` writes its levels below into edit/: saved there, and asked to."""
        return update_edit and Path(path).resolve().parent == self.workspace.edit(state.spec.folder_name).resolve()

    def _compile_file(self, state: KernelState, path: Path, level: str, content: str | bytes,
                      with_sass: bool | None = None) -> tuple[CompileResult, Any]:
        """What a level file compiles to, and the kernel function (an edited one for Python)."""
        self.progress("compile", {"kernel": state.spec.kernel, "level": level, "file": str(path)})
        original = state.versions.get("original")
        if original is None or original.result is None:
            raise WorkbenchError.at(str(path), "the original kernel did not compile, so there is nothing to "
                                               "start from; fix the script first")
        spec, sass = state.spec, self.with_sass if with_sass is None else with_sass
        if level == "python":
            fn = self.edited_function(spec, path)
            return self.compiler.compile_python(fn, spec.signature, spec.raw_constexprs, spec.raw_attrs,
                                                spec.options, with_sass=sass), fn
        with span("metadata"):
            base = self._metadata_for(path, level, original.result)
        return self.compiler.compile_level(level, content, base, file=str(path), with_sass=sass), spec.fn

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

    def edited_function(self, spec: KernelSpec, path: Path):
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
            outputs: dict[str, Any] | None = None, verdict_first: bool = False) -> RunResult:
        """``outputs``: the tensors after a launch already made on the poisoned snapshot (the
        watch list's, :class:`~workbench.instrument.watch.Live`): verified without launching again.
        Timed on a GPU only: the interpreter's wall time is no kernel timing. ``verdict_first``:
        the verdict goes out as a ``verdict`` progress event before the timing (or its refusal),
        as :meth:`apply`'s does."""
        if bench_options is not None and not self.gpu and not verdict_first:
            raise WorkbenchError.at(str(self.script), f"{NO_GPU_TIMING}: ask for no timing, or run on a GPU")
        state = self.state(spec)
        v = self.version(state, str(version))
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
            res.caveat = compat_interpreter.interpreter_inexact(str(v.result.levels.get("ttir", ""))) if v.result else None
        if bench_options is not None:
            if verdict_first:
                self.progress("verdict", res.to_json())
            self.time_run(state, v, res, bench_options, flops)
        return res

    def time_run(self, state: KernelState, v: Version, res: RunResult, options: BenchOptions,
                 flops: str | None) -> None:
        """Time a verified run's version, and the original beside it, with the binaries its
        launch loaded: no launch or verify again (the CPU refuses: no interpreter time is a timing)."""
        if not self.gpu:
            raise WorkbenchError.at(str(self.script), f"{NO_GPU_TIMING}: ask for no timing, or run on a GPU")
        self.progress("bench", {"kernel": state.spec.kernel, "version": v.label})
        res.timing = self.timing(state, v, options, flops)
        if v.label != "original":
            # the original is timed again now, beside this version: a ratio of two timings
            # taken minutes apart would measure the machine (clocks, other processes) too
            self.progress("bench", {"kernel": state.spec.kernel, "version": "original"})
            base = self.timing(state, state.versions["original"], options, flops)
            res.vs_original = compare(res.timing, base, f"version {v.label}", "the original").to_json() | {
                "timing": base.to_json()}  # the original's timing the ratio is against
            prev = state.last_run
            if prev not in (None, "original", v.label) and prev in state.timings:
                res.vs_previous = compare(res.timing, state.timings[prev], f"version {v.label}",
                                          f"version {prev}").to_json()
        state.last_run = v.label

    def apply(self, spec: str, path: str | Path, level: str | None = None, update_edit: bool = True,
              watches: bool = True, bench_options: BenchOptions | None = None, flops: str | None = None,
              verdict_first: bool = False, **run_args) -> dict[str, Any]:
        """The edit loop, one request: compile a saved level into a new version, launch it once,
        verify it, keep the result; ``watches``: dump the kernel's watch list too (``watches`` in
        the answer). With ``verdict_first`` (the app's save) or ``bench_options`` the verdict goes
        out as a ``verdict`` progress event (the whole answer but what follows) the moment it is
        known; then what no verdict needs is made: the SASS (nvdisasm, hundreds of ms) into the
        version's folder and edit/ (absent there meanwhile) and the source map, sent as a
        ``levels`` progress event (:meth:`_levels_after`), and the stage cache's entries are written
        to disk; then with ``bench_options`` the version and the original are timed
        (:meth:`time_run`). The answer has all of it."""
        state = self.state(spec)
        if not (verdict_first or bench_options is not None):
            return self._apply(state, path, level, update_edit, watches, None, flops, False, run_args)
        self.compiler.cache.hold()   # the stage cache's disk writes wait for the verdict too
        try:
            return self._apply(state, path, level, update_edit, watches, bench_options, flops, True, run_args)
        finally:
            self.compiler.cache.flush()

    def _apply(self, state: KernelState, path: str | Path, level: str | None, update_edit: bool, watches: bool,
               bench_options: BenchOptions | None, flops: str | None, early: bool, run_args: dict) -> dict[str, Any]:
        """:meth:`apply`'s request; ``early``: its verdict first."""
        spec = state.spec.spec_id
        t0 = time.perf_counter()
        info, version = self.compile(spec, path, level, update_edit, with_sass=False if early else None)
        compile_ms = (time.perf_counter() - t0) * 1e3
        live = None
        if watches:  # the watch list, dumped for this version beside the original (watch.py)
            from workbench.instrument.watch import Live
            live = Live(self, state, version)
        launched = live.launch(state.pure_outputs) if live else None
        result = self.run(state.spec.spec_id, version.label, outputs=launched, **run_args)
        out = self._applied(state, info, version, result, live, compile_ms, t0, with_map=not early)
        if not early:
            return self._spans(out)
        self.progress("verdict", dict(out, times=dict(out["times"])))   # (as it is now: what follows adds to out)
        with span("after the verdict: stage cache store"):
            self.compiler.cache.flush()
        self._levels_after(state, info, version, out, self._writes_edit(state, Path(path), update_edit))
        if bench_options is not None and result.status in ("ok", "mismatch"):
            t1 = time.perf_counter()
            self.time_run(state, version, result, bench_options, flops)
            out.update(timing=result.to_json()["timing"], vs_original=result.vs_original,
                       vs_previous=result.vs_previous)
            out["times"]["timing_ms"] = (time.perf_counter() - t1) * 1e3
        self.workspace.save_result(info, {k: v for k, v in out.items() if k not in ("versions", "srcmap")})
        return self._spans(out)

    def _levels_after(self, state: KernelState, info: VersionInfo, version: Version, out: dict[str, Any],
                      update_edit: bool) -> None:
        """A version's levels its verdict did not wait for: its SASS (with the session's SASS on),
        written where :meth:`compile` would have, and its source map; said at once as a ``levels``
        event (the version, the levels written, the map), and put in ``out``."""
        t0 = time.perf_counter()
        compiled, written = version.result, []
        cubin = compiled.levels.get("cubin") if compiled is not None else None
        if self.with_sass and isinstance(cubin, bytes):
            with span("after the verdict: sass"):
                self.compiler.add_sass(compiled, cubin)
            with span("after the verdict: write the sass"):
                self.workspace.add_level(info, state.spec.folder_name, state.spec.stem, "sass",
                                         compiled.levels["sass"], update_edit)
            written.append("sass")
            out["compile"] = compiled.summary()   # (with the SASS stage)
        with span("after the verdict: source map"):
            out["srcmap"] = srcmap.build(compiled.levels, compiled.sass_lines, compiled.python,
                                         compiled.sass_ptx_lines).to_json() if compiled is not None else None
        out["times"]["levels_ms"] = (time.perf_counter() - t0) * 1e3
        self.progress("levels", {"kernel": state.spec.kernel, "spec_id": state.spec.spec_id, "version": version.label,
                                 "levels": written, "srcmap": out["srcmap"]})

    @staticmethod
    def _spans(out: dict[str, Any]) -> dict[str, Any]:
        """The answer, with where its time went when asked (``WORKBENCH_SPANS=1``)."""
        if spans.ON:
            out["times"]["spans"] = spans.take()
        return out

    def _applied(self, state: KernelState, info: VersionInfo, version: Version, result: RunResult, live,
                 compile_ms: float, t0: float, with_map: bool = True) -> dict[str, Any]:
        """A verified version's answer (kept as its result.json): the run, the watches, the
        version list and (``with_map``) the new source map."""
        out = result.to_json() | {"compile_ms": compile_ms, "version_folder": str(info.folder)}
        if live:
            out["watches"], out["watch_notes"] = live.values(), live.notes
            result.times["watch_ms"] = live.ms
        out["times"] = dict(result.times, compile_ms=compile_ms, apply_ms=(time.perf_counter() - t0) * 1e3)
        with span("keep the result"):
            self.workspace.save_result(info, out)
        compiled = version.result
        with span("version list"):
            out["versions"] = [v.to_json() for v in self.workspace.versions(state.spec.folder_name)]
        out["srcmap"] = None
        if with_map:
            with span("source map"):
                out["srcmap"] = srcmap.build(compiled.levels, compiled.sass_lines, compiled.python,
                                             compiled.sass_ptx_lines).to_json()
        out["times"]["answer_ms"] = (time.perf_counter() - t0) * 1e3   # with the result kept, versions, map
        # the clock (CLOCK_MONOTONIC) is the machine's, so the app can tell the pipe's time from ours
        out["times"]["started_at"], out["times"]["answered_at"] = t0, time.perf_counter()
        return out

    def try_config(self, spec: str, config: str | dict, bench_options: BenchOptions | None = None,
                   flops: str | None = None, atol: float | None = None, rtol: float | None = None,
                   grid: str | None = None, run: bool = True, grid_from: str = "--grid") -> dict[str, Any]:
        """A config the script does not list, tried (:meth:`.tuning.ConfigTrials.try_config`)."""
        return self.configs.try_config(spec, config, bench_options, flops, atol, rtol, grid, run, grid_from)

    def prefetch_configs(self, spec: str, configs: list[dict], grid: str | None = None) -> dict[str, Any]:
        """A sweep's configs compiled ahead in worker processes (:meth:`.tuning.ConfigTrials.prefetch`)."""
        return self.configs.prefetch(spec, configs, grid)

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

    def keep_sanitize_run(self, spec: str, run: Any) -> Path:
        """A sanitize run's summary (the app's, from its own process) kept beside its version."""
        state = self.state(spec)
        wrong = sanitize_run_shape(run)
        if wrong:
            raise WorkbenchError.at(str(self.script), f"not a sanitize run to keep: {wrong}")
        try:
            return self.workspace.keep_sanitize_run(state.spec.folder_name, run)
        except (KeyError, ValueError):
            raise WorkbenchError.at(str(self.workspace.versions_dir(state.spec.folder_name)),
                                    f"no version {run['version']} of {state.spec.kernel}") from None

    # -- helpers ---------------------------------------------------------------------------

    def version(self, state: KernelState, label: str) -> Version:
        """The kernel's version ``label`` ("original", or a saved version's number): compiled once,
        a saved one again from its file in :attr:`home`."""
        v = state.versions.get(label)
        if v is not None:
            return v
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
        v = state.versions[label] = Version(label, info.level, result, fn, file=edited)
        return v

    def kernel(self, state: KernelState, v: Version):
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
        outputs = launch.replay(v.result, state.spec, snapshot, self.kernel(state, v), poison_outputs,
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
            pure = state.more_pure[number - 2] if number - 2 < len(state.more_pure) else []
            got = self._launch(state, v, pure, snapshot)
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

    def _pure_outputs(self, state: KernelState, snapshot: Snapshot, uses: dict[str, tuple[bool, bool]]) -> list[str]:
        """Outputs the original kernel writes in full without reading them, in the launch
        ``snapshot`` kept: the ones that can be poisoned before a replay of it (an in-place
        kernel's outputs cannot). Tried: the outputs the script's launch changed, and the tensors
        its TTIR only ever stores through (a launch into a buffer that held the answer already
        changed none of its bytes); ``uses``: :meth:`_pointer_uses`."""
        checked, shared = set(snapshot.checked.values()), {n for group in snapshot.shared for n in group}
        alone = [n for n, (stored, read) in sorted(uses.items()) if stored and not read and n in checked and
                 n not in snapshot.written and n not in shared]
        # (an output the kernel also reads is never poisoned: in place, its old values matter, and
        # as indices, poison would be addresses the trial launch reads from)
        tried = [n for n in snapshot.written if not uses.get(n, (True, False))[1]] + alone
        if not tried:
            return []
        outputs = self._launch(state, state.versions["original"], tried, snapshot)
        after = snapshot.after
        return [name for name in tried if check(name, after[name], outputs[name]).ok]

    def _pointer_uses(self, state: KernelState) -> dict[str, tuple[bool, bool]]:
        """For each argument, whether the original's TTIR stores through it and whether it reads
        through it (empty where the TTIR cannot say)."""
        from workbench.compiler.writes import pointer_uses
        original = state.versions["original"].result
        ttir = original.levels.get("ttir") if original is not None else None
        if not isinstance(ttir, str) or self.compiler is None:
            return {}
        names = [n for n, t in state.spec.signature.items() if t != "constexpr"]
        with span("pointer uses"):
            return pointer_uses(ttir, names, self.compiler.backend) or {}

    def timing(self, state: KernelState, v: Version, options: BenchOptions, flops: str | None) -> Timing:
        from workbench.runtime import launch
        prepared = launch.prepare(state.spec, state.snapshot, check=False)
        bound_by_name = dict(zip(state.spec.fn.arg_names, prepared.bound))
        kernel, grid, args = self.kernel(state, v), prepared.grid, prepared.bound
        timing = bench(lambda: kernel[grid](*args), options)
        timing.bytes = tensor_bytes(prepared.tensors)
        if flops:
            timing.flops = eval_flops(flops, bound_by_name | prepared.tensors)
        state.timings[v.label] = timing
        return timing

"""One script opened for work: its captured launches, every level of each kernel in the
workspace, and runs of any version against the original kernel.

This is what the runner process serves; the CLI's ``run`` and the app both drive it
through the runner. It owns torch and triton: nothing here is for the TUI process.
"""

from __future__ import annotations

import runpy
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import compat, srcmap
from .bench import BenchOptions, Timing, bench, bench_wall, compare, eval_flops, tensor_bytes
from .cache import StageCache, default_dir
from .capture import DEFAULT_SNAPSHOT_LIMIT, Capture, KernelSpec, Snapshot, run_script
from .errors import Diagnostic, WorkbenchError
from .levels import SUFFIX, level_of
from .pipeline import CompileResult, Compiler
from .verify import OutputCheck, check
from .workspace import VersionInfo, Workspace

Progress = Callable[[str, dict], None]


@dataclass
class Version:
    """What can run: the original kernel or a saved version, compiled."""

    label: str  # "original" or the version number as text
    level: str  # the level it was started from
    result: CompileResult | None
    fn: Any = None  # the JITFunction (python level: the edited one)
    kernel: Any = None  # Triton CompiledKernel, once loaded


@dataclass
class KernelState:
    spec: KernelSpec
    snapshot: Snapshot | None
    versions: dict[str, Version] = field(default_factory=dict)
    pure_outputs: list[str] = field(default_factory=list)  # poisoned before each run
    timings: dict[str, Timing] = field(default_factory=dict)
    last_run: str | None = None
    checked: bool = False  # the snapshot's arguments match the specialization (they never change)


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

    def to_json(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "spec_id": self.spec_id, "version": self.version, "level": self.level,
                "status": self.status, "outputs": [o.to_json() | {"sentence": o.sentence} for o in self.outputs],
                "timing": self.timing.to_json() if self.timing else None, "vs_original": self.vs_original,
                "vs_previous": self.vs_previous, "compile": self.compile, "message": self.message,
                "error": self.error.to_json() if self.error else None, "times": self.times}


class Session:
    def __init__(self, script: str | Path, argv: list[str] | None = None, target: str | None = None,
                 mode: str = "auto", workspace: str | Path | None = None,
                 snapshot_limit: int = DEFAULT_SNAPSHOT_LIMIT, with_sass: bool = True,
                 progress: Progress | None = None) -> None:
        self.script = Path(script).resolve()
        self.argv = list(argv or [])
        self.requested_target = target
        self.mode = mode
        self.workspace = Workspace(workspace) if workspace else Workspace.beside(self.script)
        self.snapshot_limit = snapshot_limit
        self.with_sass = with_sass
        self.progress = progress or (lambda what, info: None)
        self.capture: Capture | None = None
        self.compiler: Compiler | None = None
        self.kernels: dict[str, KernelState] = {}
        self.gpu = compat.has_gpu() and mode not in ("compile-only", "interpret")

    # -- open ------------------------------------------------------------------------------

    def open(self) -> dict[str, Any]:
        """Run the script, compile every specialization it launched, fill the workspace."""
        if not self.script.is_file():
            raise WorkbenchError.at(str(self.script), "no such script")
        mode = self.mode
        if mode == "auto":
            mode = "gpu" if self.gpu else "interpret"
        self.progress("script", {"script": str(self.script), "mode": mode})
        t0 = time.perf_counter()
        self.capture = cap = run_script(self.script, self.argv, target=self.requested_target, mode=mode,
                                        snapshot_limit=self.snapshot_limit)
        script_ms = (time.perf_counter() - t0) * 1e3
        if not cap.specs:
            err = cap.error or Diagnostic(str(self.script), None, None, "the script launched no Triton kernel")
            raise WorkbenchError([err])
        self.compiler = Compiler(cap.target, StageCache(default_dir()))
        kernels = []
        for spec in cap.specs:
            self.progress("compile", {"kernel": spec.kernel, "spec_id": spec.spec_id})
            state = KernelState(spec, cap.snapshots.get(spec.spec_id))
            self.kernels[spec.spec_id] = state
            entry: dict[str, Any] = {"spec": spec.to_json(), "launches": [lc.to_json() for lc in
                                                                         cap.launches_of(spec.spec_id)]}
            try:
                result = self.compiler.compile_python(spec.fn, spec.signature, spec.raw_constexprs,
                                                      spec.raw_attrs, spec.options, with_sass=self.with_sass)
            except WorkbenchError as e:
                entry["error"] = e.to_json()
                kernels.append(entry)
                continue
            state.versions["original"] = Version("original", "python", result, spec.fn)
            files = self.workspace.write_original(spec.folder_name, spec.kernel, result)
            if state.snapshot is not None and (self.gpu or cap.mode == "interpret"):
                state.pure_outputs = self._pure_outputs(state)
            entry.update(result=result.summary(), files={k: str(v) for k, v in files.items()},
                         srcmap=srcmap.build(result.levels, result.sass_lines, result.python).to_json(),
                         folder=str(self.workspace.kernel_dir(spec.folder_name)),
                         edit=str(self.workspace.edit(spec.folder_name)),
                         pure_outputs=state.pure_outputs, snapshot=state.snapshot is not None,
                         versions=[v.to_json() for v in self.workspace.versions(spec.folder_name)])
            kernels.append(entry)
        return {"script": str(self.script), "mode": cap.mode, "target": cap.target, "gpu": self.gpu,
                "workspace": str(self.workspace.root), "notes": cap.notes, "script_ms": script_ms,
                "script_error": cap.error.to_json() if cap.error else None, "kernels": kernels}

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

    def compile(self, spec: str, path: str | Path, level: str | None = None) -> tuple[VersionInfo, Version]:
        """Compile a saved level file (any of python, ttir .. cubin) into a new version."""
        state = self.state(spec)
        path = Path(path)
        level = level or ("python" if path.suffix == ".py" else level_of(path))
        content: str | bytes = path.read_bytes() if level == "cubin" else path.read_text()
        result, fn = self._compile_file(state, path, level, content)
        info = self.workspace.new_version(state.spec.folder_name, state.spec.kernel, level, content, result)
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
        from . import metadata as md
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
        try:
            namespace = runpy.run_path(str(path), run_name="__workbench_edit__")
        except SyntaxError as e:
            raise WorkbenchError([Diagnostic(str(path), e.lineno, e.offset, f"SyntaxError: {e.msg}")]) from None
        except Exception as e:  # noqa: BLE001 - the user's code
            frames = [f for f in traceback.extract_tb(e.__traceback__) if Path(f.filename) == path]
            line = frames[-1].lineno if frames else None
            raise WorkbenchError([Diagnostic(str(path), line, None, f"{type(e).__name__}: {e}")]) from None
        fn = namespace.get(spec.kernel)
        JITFunction = compat.jit_function_class()
        while fn is not None and not isinstance(fn, JITFunction) and hasattr(fn, "fn"):
            fn = fn.fn  # autotune / heuristics wrappers
        if not isinstance(fn, JITFunction):
            raise WorkbenchError.at(str(path), f"no @triton.jit kernel named {spec.kernel!r} in the edited file")
        return fn

    # -- run -------------------------------------------------------------------------------

    def run(self, spec: str, version: str = "original", bench_options: BenchOptions | None = None,
            flops: str | None = None, atol: float | None = None, rtol: float | None = None) -> RunResult:
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
        if not self.gpu and v.level != "python":
            res.status, res.message = "compiled-only", "compiled only: no GPU (IR levels need a GPU to run; " \
                "Python-level kernels run in Triton's interpreter)"
            return res
        self.progress("launch", {"kernel": state.spec.kernel, "version": v.label, "level": v.level})
        t0 = time.perf_counter()
        outputs = self._launch(state, v, state.pure_outputs)
        t1 = time.perf_counter()
        res.outputs = [check(name, state.snapshot.after[name], outputs[name], atol, rtol)
                       for name in state.snapshot.after]
        res.times = {"launch_ms": (t1 - t0) * 1e3, "verify_ms": (time.perf_counter() - t1) * 1e3}
        res.status = "ok" if all(o.ok for o in res.outputs) else "mismatch"
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

    def apply(self, spec: str, path: str | Path, level: str | None = None, **run_args) -> dict[str, Any]:
        """The edit loop: compile a saved level into a new version, run it, keep the result."""
        state = self.state(spec)
        t0 = time.perf_counter()
        info, version = self.compile(spec, path, level)
        compile_ms = (time.perf_counter() - t0) * 1e3
        result = self.run(state.spec.spec_id, version.label, **run_args)
        out = result.to_json() | {"compile_ms": compile_ms, "version_folder": str(info.folder)}
        out["times"] = dict(result.times, compile_ms=compile_ms, apply_ms=(time.perf_counter() - t0) * 1e3)
        self.workspace.save_result(info, out)
        compiled = version.result
        out["versions"] = [v.to_json() for v in self.workspace.versions(state.spec.folder_name)]
        out["srcmap"] = srcmap.build(compiled.levels, compiled.sass_lines, compiled.python).to_json()
        return out

    # -- helpers ---------------------------------------------------------------------------

    def _load_version(self, state: KernelState, label: str) -> Version:
        try:
            info = self.workspace.version(state.spec.folder_name, int(label))
        except (KeyError, ValueError):
            raise WorkbenchError.at(str(self.workspace.versions_dir(state.spec.folder_name)),
                                    f"no version {label} of {state.spec.kernel}") from None
        edited = info.folder / f"{state.spec.kernel}{SUFFIX[info.level]}"
        content = edited.read_bytes() if info.level == "cubin" else edited.read_text()
        result, fn = self._compile_file(state, edited, info.level, content)  # a saved version: no new one
        version = state.versions[label] = Version(label, info.level, result, fn)
        return version

    def _kernel(self, state: KernelState, v: Version):
        """The version's Triton kernel, loaded once."""
        from . import launch
        if v.kernel is None:
            v.kernel = launch.load(v.result, state.spec)
        return v.kernel

    def _launch(self, state: KernelState, v: Version, poison_outputs: list[str]) -> dict[str, Any]:
        from . import launch
        if not self.gpu:
            return launch.interpret(v.fn, state.spec, state.snapshot, poison_outputs)
        outputs = launch.replay(v.result, state.spec, state.snapshot, self._kernel(state, v), poison_outputs,
                                check=not state.checked)
        state.checked = True
        return outputs

    def _pure_outputs(self, state: KernelState) -> list[str]:
        """Outputs the original kernel writes in full without reading them: the ones that can
        be poisoned before a run (an in-place kernel's outputs cannot)."""
        written = state.snapshot.written
        if not written:
            return []
        outputs = self._launch(state, state.versions["original"], written)
        return [name for name in written
                if check(name, state.snapshot.after[name], outputs[name]).ok]

    def _time(self, state: KernelState, v: Version, options: BenchOptions, flops: str | None) -> Timing:
        from . import launch
        prepared = launch.prepare(state.spec, state.snapshot, check=False)
        bound_by_name = dict(zip(state.spec.fn.arg_names, prepared.bound))
        if self.gpu:
            kernel, grid, args = self._kernel(state, v), prepared.grid, prepared.bound
            timing = bench(lambda: kernel[grid](*args), options)
        else:
            timing = bench_wall(lambda: launch.interpret(v.fn, state.spec, state.snapshot), options)
        timing.bytes = tensor_bytes(prepared.tensors)
        if flops:
            timing.flops = eval_flops(flops, bound_by_name | prepared.tensors)
        state.timings[v.label] = timing
        return timing

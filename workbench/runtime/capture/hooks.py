"""The recording, at the launch: every launch of a compiled kernel is seen at Triton's launcher
(``CompiledKernel.run``), however it was reached; ``JITFunction.run`` / ``_do_compile`` and the
autotuner are wrapped only for the facts they add.

Every launch goes through ``JITFunction.run``; a new specialization goes on to
``JITFunction._do_compile`` with exactly what Triton will compile (signature, constexprs,
attributes such as 16-byte divisibility, parsed options). Both are wrapped for the length
of the script. With a GPU the launch then runs as usual, so the script's own results are
the baseline. Without one a stand-in driver lets Triton specialize on the CPU tensors, and
``_do_compile`` returns nothing, so nothing compiles or launches (or, in ``interpret``
mode, Triton's interpreter runs the kernel so the script sees real outputs).

Autotuned kernels: each config the autotuner benchmarks is its own specialization; the
one the autotuner launches afterwards is marked chosen. With no GPU nothing is timed: the
first config wins, and the capture says so.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from workbench.compiler import compat
from workbench.compiler.cache import digest
from workbench.compiler.metadata import TARGET_DERIVED
from workbench.runtime.capture.arguments import bind_args, describe_args, json_value, path_name
from workbench.runtime.capture.interpret import interpret_launch
from workbench.runtime.capture.model import Capture, KernelSpec, Launch, Tuning
from workbench.runtime.capture.snapshot import (Snapshot, TensorSlot, copy_bytes, same_values, slot_wrapper,
                                                storage_layout, tensor_args, tensor_pointers, view_of)


MAX_LAUNCH_RECORDS_PER_SPEC = 16
# launches of one specialization whose inputs are kept to replay and verify (within the snapshot
# limit); the interpreter runs each in Python, so fewer there
MAX_KEPT_LAUNCHES = {"gpu": 8, "interpret": 3}


@dataclass
class _Call:
    """A ``JITFunction.run`` in flight on this thread: the call as its caller made it. Its launch
    keeps these arguments and this grid (a grid may be a function of the meta-parameters, which a
    sweep of other configs needs); a launch with no call in flight keeps what its launcher got."""

    fn: Any
    args: tuple
    kwargs: dict
    grid: Any


class _StandIn:
    """What ``JITFunction.run`` gets instead of a compiled kernel where nothing is compiled or
    launched (no GPU, Triton 3.5+). It has the compiled kernel's launch interface (``run``,
    ``[grid]``, ``launch_metadata``), so a launch through it, by Triton or by a library that keeps
    the kernel and launches it again itself, is seen like any other; in interpret mode it runs in
    Triton's interpreter. It is never put in Triton's own kernel cache."""

    function = None
    packed_metadata = None
    module = None

    def __init__(self, rec: "_Recorder", spec: KernelSpec, options, source=None) -> None:
        from types import SimpleNamespace
        self.rec, self.spec, self.name = rec, spec, spec.kernel
        self.options, self._source, self._compiled = options, source, None
        self.metadata = SimpleNamespace(name=spec.kernel, shared=0, target=compat.parse_target(rec.capture.target),
                                        **{k: getattr(options, k, None) for k in
                                           ("num_warps", "num_stages", "num_ctas", "maxnreg")})

    @property
    def asm(self) -> dict:
        """Every level, compiled for the capture's target the first time a script asks for them
        (``compiled.asm["ptx"]``, as on a GPU): compiling needs no GPU; launching does."""
        if self._compiled is None:
            import dataclasses

            import triton
            options = self.options
            options = dataclasses.asdict(options) if dataclasses.is_dataclass(options) else dict(vars(options))
            self._compiled = triton.compile(self._source(), target=self.metadata.target, options=options)
            self.metadata = self._compiled.metadata
        return self._compiled.asm

    def launch_metadata(self, grid, stream, *args):
        return None

    def run(self, grid_0, grid_1, grid_2, stream, function, packed_metadata, launch_metadata,
            enter_hook, exit_hook, *args):
        self.rec.launched(self.spec, (grid_0, grid_1, grid_2), args, None)

    def __getitem__(self, grid):
        grid = tuple(grid) + (1, 1)

        def runner(*args, stream=None):
            self.run(grid[0], grid[1], grid[2], stream, None, None, None, None, None, *args)
        return runner


class _SeenLauncher:
    """A compiled kernel's launcher (``CompiledKernel.run``) as a capture sees it: each call is
    recorded with its grid and arguments, around the real launch. Whoever holds the kernel (Triton,
    an autotuner of any kind, a library's launch cache, Inductor's launchers) calls this."""

    def __init__(self, rec: "_Recorder", kernel, launcher) -> None:
        self.rec, self.kernel, self.launcher = rec, kernel, launcher

    def __call__(self, grid_0, grid_1, grid_2, stream, function, *rest):
        def launch():
            self.launcher(grid_0, grid_1, grid_2, stream, function, *rest)
        if not self.rec.watching and self.launcher is not None:
            return launch()
        spec = self.rec.spec_of(self.kernel)
        if spec is None:
            return launch() if self.launcher is not None else None
        self.rec.launched(spec, (grid_0, grid_1, grid_2), rest[4:], launch if self.launcher is not None else None)

    def __getattr__(self, name):  # (anything else Triton's launcher has)
        return getattr(self.launcher, name)


class _Recorder:
    def __init__(self, capture: Capture, compile_only: bool, interpret: bool,
                 snapshot_limit: int = 0) -> None:
        self.capture = capture
        self.snapshot_limit = snapshot_limit
        self.snapshot_bytes = 0
        self.skipped_snapshots: dict[str, int] = {}   # kernel -> bytes of first launches not kept
        self.skipped_later: dict[str, int] = {}       # kernel -> later launches not kept
        self.unkept: dict[str, str] = {}              # kernel -> why its arguments could not be kept
        self.compile_only = compile_only
        self.interpret = interpret
        self.active = True
        self.local = threading.local()
        self.by_kernel: dict[int, tuple[Any, KernelSpec]] = {}   # id -> (kernel, its spec)
        self.launchers: dict[int, _SeenLauncher] = {}
        self.specs: dict[str, KernelSpec] = {}
        self.records: dict[str, int] = {}
        self.interpreted: dict[int, Any] = {}
        self.ruled_out: dict[str, str] = {}  # spec_id -> what a tl.static_assert said
        self.open_tunings: list[tuple[Any, Tuning, set]] = []  # begun by a trial, not yet by a launch

    @property
    def snapshots(self) -> bool:
        """Launches are run (on a GPU, or in the interpreter) and their inputs kept."""
        return (not self.compile_only or self.interpret) and self.snapshot_limit > 0

    @property
    def watching(self) -> bool:
        """Launches on this thread are the script's: not the capture's own tensor work (a
        snapshot's copies), which a library that overrides torch's operators (FlagGems'
        ``use_gems``) runs as Triton kernels of its own, under the lock of a launch in flight."""
        return self.active and not self._get("own", 0)

    @contextlib.contextmanager
    def own_work(self) -> Iterator[None]:
        """The capture's own tensor work on this thread: launches within it are not recorded."""
        self._set("own", self._get("own", 0) + 1)
        try:
            yield
        finally:
            self._set("own", self._get("own", 0) - 1)

    # state for the launch in flight on this thread
    def _get(self, name: str, default: Any = None) -> Any:
        return getattr(self.local, name, default)

    def _set(self, name: str, value: Any) -> None:
        setattr(self.local, name, value)

    def spec_for(self, fn, signature, constexprs, options, attrs) -> KernelSpec:
        names = list(fn.arg_names)
        const = {path_name(names, k): json_value(v) for k, v in constexprs.items()}
        attr = {path_name(names, k): json_value(v) for k, v in compat.attrs_dict(attrs).items()}
        opts = {k: json_value(v) for k, v in vars(options).items()
                if k not in TARGET_DERIVED and v is not None}
        sig = {k: json_value(v) for k, v in signature.items()}
        target_fn = getattr(fn, "fn", fn)
        try:
            file = os.path.abspath(inspect.getsourcefile(target_fn) or "")
            line = inspect.getsourcelines(target_fn)[1]
        except (OSError, TypeError):
            file, line = None, None
        qualname = getattr(target_fn, "__qualname__", fn.__name__)
        spec_id = digest(qualname, file or "", json.dumps([sig, const, attr, opts], sort_keys=True, default=str))[:8]
        spec = self.specs.get(spec_id)
        if spec is None:
            spec = KernelSpec(spec_id=spec_id, kernel=fn.__name__, qualname=qualname, file=file, line=line,
                              language="gluon" if compat.is_gluon(fn) else "triton", signature=sig,
                              constexprs=const, attrs=attr, options=opts, fn=fn,
                              raw_constexprs=dict(constexprs), raw_attrs=compat.copy_attrs(attrs))
            self.specs[spec_id] = spec
            self.capture.specs.append(spec)
        return spec

    def on_compile(self, fn, signature, constexprs, options, attrs) -> KernelSpec:
        spec = self.spec_for(fn, signature, constexprs, options, attrs)
        self._set("pending", spec)
        return spec

    def spec_of(self, kernel) -> KernelSpec | None:
        """The specialization a compiled kernel was built for: the one compiled for it in this
        capture, else read back off the kernel (compiled before the capture, or by Inductor)."""
        known = self.by_kernel.get(id(kernel))
        if known is not None and known[0] is kernel:
            return known[1]
        spec = self._get("pending")
        if spec is None:
            spec = self._spec_from_kernel(kernel)
        self._set("pending", None)
        if spec is not None:
            self.by_kernel[id(kernel)] = (kernel, spec)
        return spec

    def seen(self, kernel, launcher) -> _SeenLauncher:
        """The launcher of ``kernel`` as Triton reads it (``CompiledKernel.run``), seen."""
        seen = self.launchers.get(id(kernel))
        if seen is None or seen.kernel is not kernel or seen.launcher is not launcher:
            seen = self.launchers[id(kernel)] = _SeenLauncher(self, kernel, launcher)
        return seen

    def launched(self, spec: KernelSpec, grid: tuple, args: tuple | None, launch: Callable[[], None] | None) -> None:
        """One launch: of a compiled kernel through its launcher (``args`` as the launcher takes
        them; ``launch`` runs it), or of a stand-in where nothing is launched (``launch`` None: in
        interpret mode the interpreter runs it). Every way a kernel is launched comes here."""
        fn = spec.fn
        call = self._get("call")
        if call is not None and call.fn is fn:
            self._set("call", None)   # (one launch per call)
            args, kwargs, call_grid = call.args, call.kwargs, call.grid
        else:
            args, kwargs, call_grid = (), _launcher_kwargs(spec, args or (), self.capture.target), tuple(grid)
        grid = tuple(int(g) for g in grid)
        if launch is None and self.interpret:
            def launch():
                interpret_launch(fn, args, kwargs, grid, self.interpreted)
        bench = self._get("bench")
        benchmarking = bench is not None
        if bench is not None and not _tunes(bench[0], fn):
            bench = None   # (another kernel a tuner's hook launched: a library's clone for restore_value)
        before = tuned = None
        kept = (spec.spec_id in self.capture.snapshots) + len(self.capture.more.get(spec.spec_id, []))
        # no snapshot of what a benchmark launches besides its trial: do_bench's L2 flush (`cache.zero_()`
        # of 256 MiB, a library's own kernel under FlagGems) filled the snapshot limit before the script's
        # first launch of its own
        if launch is not None and self.snapshots and not benchmarking and \
                kept < MAX_KEPT_LAUNCHES["interpret" if self.interpret else "gpu"]:
            try:
                tensors = tensor_args(fn, args, kwargs)
                with self.own_work():
                    before = storage_layout(tensors)
            except Exception as e:  # noqa: BLE001 - (the script's launch goes on; its inputs are not kept)
                self.unkept.setdefault(spec.kernel, f"{type(e).__name__}: {e}")
            else:
                tuning = self._get("tuning")
                if tuning is not None and tuning.before is not None and tuning.before[1] == tensor_pointers(tensors):
                    tuned = tuning.before[0]   # the chosen launch: the arguments as they were before tuning
        if launch is not None:
            launch()
        record = self.on_launch(spec, args, kwargs, grid, bench)
        try:
            with self.own_work():
                kept_now = before is not None and self.keep_snapshot(spec, fn, args, kwargs, call_grid, before, tuned)
        except Exception as e:  # noqa: BLE001
            self.unkept.setdefault(spec.kernel, f"{type(e).__name__}: {e}")
            kept_now = False
        if kept_now and record is not None:
            record.kept = kept

    def on_launch(self, spec: KernelSpec, args, kwargs, grid: tuple, bench) -> Launch | None:
        fn = spec.fn
        tuner = bench[0] if bench else self._get("tuner")
        if tuner is not None and not _tunes(tuner, fn):
            tuner = None
        opened = None
        if tuner is None:   # a tuner with a run() of its own: its first launch after its trials
            opened = next((t for t in self.open_tunings if compat.jit_function_of(t[0]) is fn), None)
            if opened is not None:
                tuner = opened[0]
                self._set("tuning", opened[1])
        if tuner is not None:
            configs = getattr(tuner, "configs", [])
            info = spec.autotune or {"configs": len(configs), "config_index": None, "config": None,
                                     "chosen": False, "timed": not self.compile_only}
            tuning = self._get("tuning")
            if bench:
                info["config_index"], info["config"] = bench[1], str(bench[2])
                if tuning is not None and bench[1] is not None:
                    tuning.configs.setdefault(bench[1], (bench[2], spec.spec_id))
            else:
                info["chosen"] = True
                best = getattr(tuner, "best_config", None)
                if best is not None and tuning is not None and tuning.configs:
                    index = tuning.index_of(best)
                    info["config_index"], info["config"] = index, str(best)
                    if tuning.chosen is None:
                        tuning.chosen, tuning.chosen_spec = index, spec.spec_id
                        tuning.configs.setdefault(index, (best, spec.spec_id))
                elif best is not None and best in configs:
                    info["config_index"], info["config"] = configs.index(best), str(best)
            spec.autotune = info
        if opened is not None:
            self._set("tuning", None)
            self.open_tunings.remove(opened)
            self.close_tuning(*opened)
        spec.launches += 1
        count = self.records.get(spec.spec_id, 0)
        if count >= MAX_LAUNCH_RECORDS_PER_SPEC:
            return None
        self.records[spec.spec_id] = count + 1
        record = Launch(spec.spec_id, grid, describe_args(fn, bind_args(fn, args, kwargs)), autotune_bench=bool(bench))
        self.capture.launches.append(record)
        return record

    def close_tuning(self, tuner, tuning: Tuning, known: set) -> None:
        """A tuning's trials are over: what it measured, and the key it tuned for."""
        tuning.before = None   # (kept only until the launch it chose)
        if not tuning.configs:
            return
        configs = list(getattr(tuner, "configs", []))
        tuning.pruned = max(0, len(configs) - len(tuning.configs) - len(tuning.ruled_out))
        timings = getattr(tuner, "configs_timings", None) or {}
        tuning.timings = {tuning.index_of(c): [float(x) for x in (t if isinstance(t, (list, tuple)) else [t])]
                          for c, t in timings.items() if c in configs or c in tuning.generated}
        tuning.key = next((k for k in _cache_keys(tuner) if k not in known), None)
        self.capture.tunings.append(tuning)

    def rule_out(self, spec: KernelSpec, error: BaseException) -> None:
        """A config that a ``tl.static_assert`` rejects: Triton's autotuner skips it, and so do we."""
        text = str(error).strip().splitlines()
        bench, tuning = self._get("bench"), self._get("tuning")
        if bench is not None and tuning is not None and bench[1] is not None:
            tuning.ruled_out.append(bench[1])
        self.ruled_out[spec.spec_id] = next((t.strip() for t in reversed(text) if t.strip().strip("^")), "")

    def front_end(self, fn, signature, constexprs, options, attrs) -> None:
        """Without a GPU nothing is compiled while the script runs; an autotuner's trial still
        needs to know what a compile would refuse (``tl.static_assert``): Triton's front end says."""
        target = compat.parse_target(self.capture.target)
        backend = compat.make_backend(target)
        src = compat.ast_source(fn, signature, constexprs, attrs)
        compat.make_ir(src, target, options, backend, compat.new_context(backend))

    def keep_snapshot(self, spec, fn, args, kwargs, grid, before: tuple, tuned: tuple | None = None) -> bool:
        """Keep a launch's inputs and outputs (the first of its spec's, or one more); False where
        the snapshot limit leaves no room. ``tuned``: the arguments before an autotuner benchmarked
        its configs on them (the same layout): what changed since then was written by this launch
        too, even where the benchmark runs had left the same values."""
        regions, views = before
        size = sum(r.before.numel() for r in regions) * 2
        if self.snapshot_bytes + size > self.snapshot_limit:
            if spec.spec_id in self.capture.snapshots:
                self.skipped_later[spec.kernel] = self.skipped_later.get(spec.kernel, 0) + 1
            else:
                self.skipped_snapshots[spec.kernel] = self.skipped_snapshots.get(spec.kernel, 0) + size
            return False
        self.snapshot_bytes += size
        tensors = tensor_args(fn, args, kwargs)
        for name, v in views.items():  # the same bytes of the same storages, after the launch
            region = regions[v.storage]
            if region.after is None:
                region.after = copy_bytes(tensors[name].untyped_storage(), region.start, region.before.numel())
        names = {id(v): k for k, v in bind_args(fn, args, kwargs).items() if k in views}

        def slot(v):
            if id(v) not in names:
                return v
            return TensorSlot(names[id(v)], slot_wrapper(v))
        snapshot = Snapshot(spec.spec_id, tuple(slot(a) for a in args), {k: slot(v) for k, v in kwargs.items()}, grid,
                            regions, views)
        if spec.spec_id in self.capture.snapshots:
            self.capture.more.setdefault(spec.spec_id, []).append(snapshot)
        else:
            self.capture.snapshots[spec.spec_id] = snapshot
        if tuned is not None:
            pre = {name: view_of(tuned[0][v.storage].before, v) for name, v in tuned[1].items()}
            after = snapshot.after
            snapshot.written_since_tuning = frozenset(n for n in views if n in pre and not same_values(pre[n], after[n]))
        return True

    def _spec_from_kernel(self, kernel) -> KernelSpec | None:
        """A kernel not compiled in this capture (Triton's in-memory cache, Inductor): read its
        specialization back off it."""
        if hasattr(kernel, "result"):
            kernel = kernel.result()
        src = getattr(kernel, "src", None)
        fn = getattr(src, "fn", None)
        if src is None or compat.jit_function_of(fn) is None:
            return None   # (a kernel compiled from an IR file: nothing of Python to attach)
        backend = compat.make_backend(kernel.metadata.target)
        fields = set(vars(backend.parse_options({})))
        opts = backend.parse_options({k: v for k, v in kernel.metadata._asdict().items()
                                      if k in fields and k not in TARGET_DERIVED and v is not None
                                      and not isinstance(v, list)})
        return self.spec_for(fn, src.signature, src.constants, opts, src.attrs)

    def notes(self, driver) -> list[str]:
        out = []
        for spec_id, said in self.ruled_out.items():
            spec = self.specs.pop(spec_id)
            self.capture.specs.remove(spec)
            out.append(f"{spec.kernel} with {spec.constexprs}: ruled out by tl.static_assert ({said or 'no message'}); "
                       f"skipped, as Triton's autotuner skips it")
        for kernel, why in self.unkept.items():
            out.append(f"{kernel}: the arguments of a launch could not be kept ({why}); it is compiled, not "
                       "replayed, from that launch")
        if driver is not None and driver.asked:
            card, props = compat.TARGET_CARDS.get(driver.target.arch, compat.TARGET_CARDS[90])
            out.append(f"no GPU: the script asked for device properties; they were answered for {self.capture.target} "
                       f"as a {card} ({props['multiprocessor_count']} SMs, {props['max_shared_mem']} bytes of shared "
                       f"memory) would")
        return out


def _launcher_kwargs(spec: KernelSpec, args: tuple, target: str) -> dict[str, Any]:
    """A launcher's arguments by name, with the options it was compiled with that are not the
    defaults (Triton's ``run`` takes them as keywords): a launch made past ``JITFunction.run`` (a
    launch cache, Inductor, whose kernels compile with ``debug`` on) replays like any other."""
    fn = spec.fn
    names = list(fn.arg_names)
    if len(args) != len(names):  # (releases whose launcher takes no constexprs)
        names = [p.name for p in fn.params if not p.is_constexpr]
    kwargs = dict(zip(names, args))
    for key, value in spec.raw_constexprs.items():
        name = path_name(list(fn.arg_names), key)
        if name in fn.arg_names:
            kwargs.setdefault(name, value)
    defaults = {k: json_value(v) for k, v in vars(compat.make_backend(compat.parse_target(target))
                                                   .parse_options({})).items()}
    kwargs.update({k: v for k, v in spec.options.items() if k in defaults and v != defaults[k]
                   and not isinstance(v, (list, dict))})
    return kwargs


@contextlib.contextmanager
def recording(capture: Capture, compile_only: bool, interpret: bool = False, snapshot_limit: int = 0,
              fake_driver: bool | None = None) -> Iterator[_Recorder]:
    """See every launch for the length of the block: at Triton's compiled launcher
    (``CompiledKernel.run``, 3.5+), with ``JITFunction.run`` and the autotuner wrapped only for
    the facts they add (the call as made, the specialization compiled, the tuner's trials and
    choice)."""
    JITFunction = compat.jit_function_class()
    Autotuner = compat.autotuner_class()
    rec = _Recorder(capture, compile_only, interpret, snapshot_limit)
    split = compat.has_do_compile()
    orig_run = JITFunction.run
    orig_compile = JITFunction._do_compile if split else None
    orig_call_hook = JITFunction._call_hook
    orig_tuner_run, orig_bench = Autotuner.run, Autotuner._bench

    def run(self, *args, grid, warmup, **kwargs):
        if not rec.watching:   # (the capture's own work: run as it would be, not recorded)
            if rec.interpret and not warmup:
                bound = bind_args(self, args, kwargs)
                return interpret_launch(self, args, kwargs, _grid(grid, bound) or (1, 1, 1), rec.interpreted)
            return orig_run(self, *args, grid=grid, warmup=warmup, **kwargs)
        rec._set("pending", None)
        saved = rec._get("call")
        call = _Call(self, args, kwargs, grid)
        rec._set("call", call)
        try:
            kernel = orig_run(self, *args, grid=grid, warmup=warmup, **kwargs)
            spec = rec._get("pending")
            if kernel is not None and not isinstance(kernel, _StandIn) and (warmup or spec is not None):
                rec.spec_of(kernel)   # (a warmup, or a launch no launcher saw: the spec all the same)
            elif not warmup and rec._get("call") is call and spec is not None:
                # no launcher saw it (Triton < 3.5 without a GPU: nothing compiled to launch)
                rec._set("pending", None)
                rec.launched(spec, _grid(grid, bind_args(self, args, kwargs)) or (1, 1, 1), None, None)
        finally:
            rec._set("call", saved)
        return kernel

    def _do_compile(self, key, signature, device, constexprs, options, attrs, warmup):
        if not rec.watching:
            return orig_compile(self, key, signature, device, constexprs, options, attrs, warmup)
        spec = rec.on_compile(self, signature, constexprs, options, attrs)
        try:
            if rec.compile_only:
                if rec._get("bench") is not None:
                    rec.front_end(self, signature, constexprs, options, attrs)
                return _StandIn(rec, spec, options,
                                lambda: compat.ast_source(self, signature, constexprs, attrs))
            kernel = orig_compile(self, key, signature, device, constexprs, options, attrs, warmup)
        except Exception as e:
            if type(e).__name__ == "CompileTimeAssertionFailure":
                rec.rule_out(spec, e)
            raise
        if kernel is not None:
            rec.by_kernel[id(kernel)] = (kernel, spec)
        return kernel

    # Triton 3.0-3.4 compile inside run(); the one way in is the jit_cache_hook check before it,
    # made through _call_hook. A hook of ours marks that call.
    def cache_hook(*args, **kwargs):
        return None

    names_hook = compat.call_hook_names_hook()

    def _call_hook(self, *args, **kwargs):
        if names_hook:
            hook, rest = args[0], args[1:]
        else:  # 3.0-3.3: the cache hook is the one asked before compiling
            hook = compat.jit_cache_hook() if kwargs.get("before", args[7] if len(args) > 7 else True) else None
            rest = args
        if hook is cache_hook and rec.watching:
            _key, signature, _device, constants, options, configs = rest[:6]
            rec.on_compile(self, signature, constants, options, configs[0])
            return True if rec.compile_only else None
        return orig_call_hook(self, *args, **kwargs)

    def tuner_run(self, *args, **kwargs):
        if not rec.watching:
            return orig_tuner_run(self, *args, **kwargs)
        saved = rec._get("tuner"), rec._get("tuning")
        tuning = Tuning(getattr(getattr(self, "base_fn", None), "__name__", "?"), None, self)
        rec._set("tuner", self)
        rec._set("tuning", tuning)
        known = _cache_keys(self)
        try:
            return orig_tuner_run(self, *args, **kwargs)
        finally:
            rec._set("tuner", saved[0])
            rec._set("tuning", saved[1])
            rec.close_tuning(self, tuning, known)

    def bench(self, *args, config, **meta):
        if not rec.watching:
            return orig_bench(self, *args, config=config, **meta)
        saved = rec._get("tuning")
        tuning = saved if rec._get("tuner") is self else None
        if tuning is None:  # a tuner whose run() is its own: the tuning begins with its first trial
            opened = next((t for t in rec.open_tunings if t[0] is self), None)
            if opened is None:
                opened = (self, Tuning(getattr(getattr(self, "base_fn", None), "__name__", "?"), None, self),
                          _cache_keys(self))
                rec.open_tunings.append(opened)
            tuning = opened[1]
        index = tuning.index_of(config)
        rec._set("tuning", tuning)
        if tuning.before is None and rec.snapshots:
            _keep_before_tuning(rec, tuning, self, args, meta)
        rec._set("bench", (self, index, config))
        try:
            if not rec.compile_only:
                return orig_bench(self, *args, config=config, **meta)
            if "do_bench" in vars(Autotuner):
                # nothing to time without a GPU: the trial runs once, its hooks around it as
                # Triton's _bench runs them, and the configs keep their order (the first one wins)
                with compat.benchmarker(self, trial):
                    return orig_bench(self, *args, config=config, **meta)
            self.fn.run(*args, **dict(meta, **config.all_kwargs()))   # (3.0-3.3: _bench times by itself)
            return [float(index or 0)] * 3
        finally:
            rec._set("bench", None)
            rec._set("tuning", saved)

    trial = _trial(rec)
    fake = compile_only if fake_driver is None else fake_driver
    driver = compat.CompileOnlyDriver(compat.parse_target(capture.target)) if fake else None
    driver_cm = compat.active_driver(driver) if fake else contextlib.nullcontext()
    saved_cache_hook = compat.jit_cache_hook()
    inductor = compat.inductor_through_triton() if not compile_only else contextlib.nullcontext()
    with driver_cm, compat.interpret_setting(), compat.launchers_seen(rec.seen, load=not fake), inductor:
        JITFunction.run = run
        if split:
            JITFunction._do_compile = _do_compile
        else:
            JITFunction._call_hook = _call_hook
            compat.set_jit_cache_hook(cache_hook)
        Autotuner.run, Autotuner._bench = tuner_run, bench
        compat.set_interpret(False)  # scripts that default to the interpreter on CPU still get JITFunctions
        try:
            yield rec
        finally:
            rec.active = False
            JITFunction.run = orig_run
            if split:
                JITFunction._do_compile = orig_compile
            else:
                JITFunction._call_hook = orig_call_hook
                compat.set_jit_cache_hook(saved_cache_hook)
            Autotuner.run, Autotuner._bench = orig_tuner_run, orig_bench
            for tuner, tuning, known in rec.open_tunings:
                rec.close_tuning(tuner, tuning, known)
            capture.notes.extend(rec.notes(driver))
            if not compile_only and compat.inductor_used():
                capture.notes.append("torch.compile: Inductor's kernels launched through Triton's launcher while the "
                                     "script was captured (its static CUDA launcher was off), so each launch is seen")


def _cache_keys(tuner) -> set:
    """The keys an autotuner has tuned for (a library's tuner may keep a cache of its own shape)."""
    cache = getattr(tuner, "cache", None)
    try:
        return set(cache.keys() if hasattr(cache, "keys") else ())
    except Exception:  # noqa: BLE001 - (one that cannot list its keys: none known)
        return set()


def _trial(rec: _Recorder) -> Callable:
    """An autotuner's benchmarker in a compile-only capture: one run, no timing."""
    def do_bench(fn, quantiles=None, **_):
        fn()
        bench = rec._get("bench")
        order = float(bench[1] or 0) if bench else 0.0
        return [order] * len(quantiles) if quantiles else order
    return do_bench


def _tunes(tuner, fn) -> bool:
    """``tuner`` tunes the JITFunction ``fn`` (or it is a tuner whose kernel cannot be told)."""
    base = compat.jit_function_of(tuner)
    return base is None or base is fn


def _keep_before_tuning(rec: _Recorder, tuning: Tuning, tuner, args, kwargs) -> None:
    """The autotuned call's tensors as they are before its first config runs (an output is
    then as the script made it, not the answer), within the snapshot limit. Best effort: the
    script's own run goes on whatever happens here."""
    base = compat.jit_function_of(tuner)
    try:
        tensors = tensor_args(base, args, kwargs)
        size = sum(t.numel() * t.element_size() for t in tensors.values())
        if rec.snapshot_bytes + 3 * size <= rec.snapshot_limit:   # (with the snapshot itself)
            with rec.own_work():
                tuning.before = (storage_layout(tensors), tensor_pointers(tensors))
    except Exception:  # noqa: BLE001 - (an autotuner of another shape: the launch's own bytes are used)
        tuning.before = None


def _grid(grid, bound) -> tuple[int, int, int] | None:
    try:
        g = grid(bound) if callable(grid) else grid
        g = tuple(int(x) for x in g)
    except Exception:  # noqa: BLE001
        return None
    return (g + (1, 1, 1))[:3]

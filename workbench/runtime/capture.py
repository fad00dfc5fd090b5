"""Run a user's unmodified script and record every Triton kernel launch.

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
import functools
import inspect
import json
import os
import runpy
import signal
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from workbench.compiler import compat
from workbench.compiler.cache import digest
from workbench.model.diagnostics import Diagnostic, LevelNeedsGPU, WorkbenchError
from workbench.compiler.files import safe_name
from workbench.compiler.metadata import TARGET_DERIVED

MAX_LAUNCH_RECORDS_PER_SPEC = 16
# launches of one specialization whose inputs are kept to replay and verify (within the snapshot
# limit); the interpreter runs each in Python, so fewer there
MAX_KEPT_LAUNCHES = {"gpu": 8, "interpret": 3}


@dataclass
class ArgInfo:
    name: str
    kind: str  # tensor | tensordesc | int | float | bool | none | constexpr | other
    dtype: str | None = None
    shape: list[int] | None = None
    strides: list[int] | None = None
    device: str | None = None
    value: Any = None
    block_shape: list[int] | None = None

    def describe(self) -> str:
        if self.kind == "tensor":
            return f"{self.dtype}[{','.join(map(str, self.shape or []))}]"
        if self.kind == "tensordesc":
            return f"desc<{self.dtype}{self.block_shape}>[{','.join(map(str, self.shape or []))}]"
        return repr(self.value)


@dataclass
class KernelSpec:
    """One specialization of one kernel: what Triton compiles for it."""

    spec_id: str
    kernel: str
    qualname: str
    file: str | None
    line: int | None
    language: str  # triton | gluon
    signature: dict[str, Any]
    constexprs: dict[str, Any]
    attrs: dict[str, Any]
    options: dict[str, Any]
    autotune: dict[str, Any] | None = None
    launches: int = 0
    fn: Any = field(default=None, repr=False, compare=False)
    raw_constexprs: dict = field(default_factory=dict, repr=False, compare=False)
    raw_attrs: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def stem(self) -> str:
        """The kernel's files are ``<stem>.ttgir`` ...: its name made a safe file name."""
        return safe_name(self.kernel)

    @property
    def folder_name(self) -> str:
        return f"{self.stem}-{safe_name(self.spec_id)}"

    @property
    def chosen(self) -> bool:
        return bool(self.autotune and self.autotune.get("chosen"))

    def to_json(self) -> dict[str, Any]:
        return {"spec_id": self.spec_id, "kernel": self.kernel, "stem": self.stem, "folder_name": self.folder_name,
                "qualname": self.qualname, "file": self.file,
                "line": self.line, "language": self.language, "signature": self.signature,
                "constexprs": self.constexprs, "attrs": self.attrs, "options": self.options,
                "autotune": self.autotune, "launches": self.launches}


@dataclass
class Launch:
    spec_id: str
    grid: tuple[int, int, int] | None
    args: list[ArgInfo]
    autotune_bench: bool = False
    kept: int | None = None  # which of its spec's kept launches (0: the first) has its inputs

    def to_json(self) -> dict[str, Any]:
        return {"spec_id": self.spec_id, "grid": list(self.grid) if self.grid else None,
                "args": [vars(a) for a in self.args], "autotune_bench": self.autotune_bench, "kept": self.kept}


ALIGN = 256  # a replay keeps every pointer's address modulo this (Triton specializes on 16-byte divisibility)


@dataclass(frozen=True)
class _View:
    """A tensor argument as a view into its storage's copy: ``offset`` bytes into the region."""

    storage: int
    offset: int
    dtype: Any
    shape: tuple[int, ...]
    strides: tuple[int, ...]


@dataclass
class _Region:
    """The bytes of one storage that a launch's tensor arguments span (every argument that
    shares the storage is a view into it), as they were before and after the launch."""

    before: Any           # uint8 tensor on the arguments' device
    after: Any = None
    align: int = 0        # the address of the region's first byte, modulo ALIGN
    start: int = 0        # its byte offset in the storage it was copied from


@dataclass
class Snapshot:
    """A launch's tensor arguments before and after it ran: replays start from ``before``
    (fresh copies each time) and are checked against ``after``.

    Arguments are kept per storage, not per argument: a tensor passed twice, overlapping
    slices, or views with other strides and offsets of one buffer replay as views of one
    copy, at the same offsets and strides and with the same address alignment, so a kernel
    that reads what another argument writes sees what it saw in the script."""

    spec_id: str
    args: tuple = ()      # positional arguments as launched (tensors replaced by slots)
    kwargs: dict = field(default_factory=dict)
    grid: Any = None
    regions: list[_Region] = field(default_factory=list)
    views: dict[str, _View] = field(default_factory=dict)  # every tensor argument by name
    # an autotuned launch: what differs from before the tuning (the benchmark runs may have left
    # an output holding the answer already, so that this launch looks as if it wrote nothing)
    written_since_tuning: frozenset = frozenset()

    @property
    def before(self) -> dict[str, Any]:
        return {name: _view(self.regions[v.storage].before, v) for name, v in self.views.items()}

    @property
    def after(self) -> dict[str, Any]:
        return {name: _view(self.regions[v.storage].after, v) for name, v in self.views.items()}

    @property
    def nbytes(self) -> int:
        return sum(r.before.numel() for r in self.regions) * 2

    @property
    def shared(self) -> list[list[str]]:
        """Arguments that share a storage, in argument order (groups of two or more)."""
        groups: dict[int, list[str]] = {}
        for name, v in self.views.items():
            groups.setdefault(v.storage, []).append(name)
        return [g for g in groups.values() if len(g) > 1]

    @property
    def checked(self) -> dict[str, str]:
        """What a replay is checked on: one argument per distinct view, by a label that names
        every argument which is that view (``dy_ptr=dx_ptr`` for one tensor passed twice)."""
        seen: dict[_View, list[str]] = {}
        for name, v in self.views.items():
            seen.setdefault(v, []).append(name)
        return {"=".join(names): names[0] for names in seen.values()}

    @property
    def written(self) -> list[str]:
        """Tensors the launch changed: its outputs (one name per distinct view)."""
        before, after = self.before, self.after
        return [name for name in self.checked.values()
                if name in self.written_since_tuning or not _same(before[name], after[name])]

    def fresh_args(self) -> tuple[tuple, dict, dict[str, Any]]:
        """The launch's arguments over new copies of every storage as it was before the launch."""
        import torch
        bases = []
        for r in self.regions:
            n = r.before.numel()
            buf = torch.empty(n + ALIGN, dtype=torch.uint8, device=r.before.device)
            shift = (r.align - buf.data_ptr()) % ALIGN
            buf[shift:shift + n].copy_(r.before)
            bases.append(buf[shift:shift + n])
        copies = {name: _view(bases[v.storage], v) for name, v in self.views.items()}
        fill = lambda v: v.rebuild(copies[v.name]) if isinstance(v, _TensorSlot) else v  # noqa: E731
        return tuple(fill(a) for a in self.args), {k: fill(v) for k, v in self.kwargs.items()}, copies


def _view(region, v: _View):
    """``v`` as a tensor over the bytes of ``region`` (a uint8 tensor)."""
    import torch
    size = torch.empty(0, dtype=v.dtype).element_size()
    base = region.storage_offset() + v.offset
    return torch.empty(0, dtype=v.dtype, device=region.device).set_(
        region.untyped_storage(), base // size, v.shape, v.strides)


def storage_layout(tensors: dict[str, Any]) -> tuple[list[_Region], dict[str, _View]]:
    """Group tensors by the storage they live in and copy the bytes each group spans."""
    spans: dict[tuple, list] = {}
    for name, t in tensors.items():
        storage = t.untyped_storage()
        key = (str(t.device), storage.data_ptr()) if storage.nbytes() else ("empty", name)
        start = t.data_ptr() - storage.data_ptr()
        extent = 0 if t.numel() == 0 else \
            (1 + sum((d - 1) * s for d, s in zip(t.shape, t.stride()))) * t.element_size()
        spans.setdefault(key, []).append((name, t, storage, start, start + extent))
    regions, views = [], {}
    for members in spans.values():
        storage, base = members[0][2], members[0][2].data_ptr()
        lo = min(m[3] for m in members)
        hi = max(m[4] for m in members)
        lo -= min(lo, (base + lo) % ALIGN)  # start on an ALIGN boundary where the storage allows
        region = _Region(_copy_bytes(storage, lo, hi - lo), align=(base + lo) % ALIGN, start=lo)
        for name, t, _, start, _ in members:
            views[name] = _View(len(regions), start - lo, t.dtype, tuple(t.shape), tuple(t.stride()))
        regions.append(region)
    return regions, views


def _copy_bytes(storage, start: int, n: int):
    """A copy of ``n`` bytes of ``storage`` from ``start``, on its device. Copied as raw memory
    where the device allows: torch's ``clone`` / ``copy_`` may be a library's Triton kernel while
    the script runs (FlagGems' ``use_gems``), perhaps the very kernel being launched, under its lock."""
    import torch
    copy = torch.empty(n, dtype=torch.uint8, device=storage.device)
    if n == 0 or _raw_copy(copy.data_ptr(), storage.data_ptr() + start, n, storage.device):
        return copy
    whole = torch.empty(0, dtype=torch.uint8, device=storage.device)
    return whole.set_(storage, start, (n,), (1,)).clone()


@functools.lru_cache(maxsize=1)
def _cu_memcpy():
    """The CUDA driver's ``cuMemcpyDtoDAsync`` (the library is loaded wherever torch runs on an
    NVIDIA GPU), or None."""
    import ctypes
    try:
        fn = ctypes.CDLL("libcuda.so.1").cuMemcpyDtoDAsync_v2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_uint64, ctypes.c_uint64, ctypes.c_size_t, ctypes.c_void_p]
    fn.restype = ctypes.c_int
    return fn


def _raw_copy(dst: int, src: int, n: int, device) -> bool:
    """Copy ``n`` bytes between two addresses on ``device`` without torch's operators, in the
    order of the device's current stream; False where this device cannot."""
    import ctypes
    if device.type == "cpu":
        ctypes.memmove(dst, src, n)
        return True
    if device.type != "cuda" or (memcpy := _cu_memcpy()) is None:
        return False
    import torch
    return memcpy(dst, src, n, torch.cuda.current_stream(device).cuda_stream) == 0


@dataclass(frozen=True)
class TypedPointer:
    """An address and a dtype: what Triton launches a pointer argument from. A replay passes one
    where the script passed a library's pointer object that is no torch.Tensor (FlagGems'
    ``StridedBuffer`` over a tensor's storage, with strides torch cannot have): at the same
    offset into the copy of that storage."""

    ptr: int
    dtype: Any
    owner: Any = field(default=None, compare=False, repr=False)   # (what holds the memory)

    def data_ptr(self) -> int:
        return self.ptr


def _pointed(value):
    """For an argument Triton takes as a pointer that is no tensor but lives in a tensor's
    storage: that storage from the pointer to its end, as a 1-D tensor of the pointer's dtype
    (bytes where the pointer is not aligned to it); else None."""
    import torch
    storage = value.untyped_storage()
    dtype = getattr(value, "dtype", None)
    if not isinstance(storage, torch.UntypedStorage) or not isinstance(dtype, torch.dtype):
        return None
    start = value.data_ptr() - storage.data_ptr()
    if not 0 <= start <= storage.nbytes():
        return None
    size = dtype.itemsize
    if start % size:
        dtype, size = torch.uint8, 1
    return torch.empty(0, dtype=dtype, device=storage.device).set_(
        storage, start // size, ((storage.nbytes() - start) // size,), (1,))


def _slot_wrapper(value):
    """What a replay rebuilds over the copy in ``value``'s place (None: the copy itself)."""
    if _wrapped(value) is not None:
        return value
    if not hasattr(value, "detach"):   # (a library's pointer object: see TypedPointer)
        return TypedPointer(0, value.dtype)
    return None


@dataclass(frozen=True)
class _TensorSlot:
    """Where a tensor (or a tensor descriptor, or a reinterpreting wrapper, over one) goes in
    a replay's arguments."""

    name: str
    wrapper: Any = None  # the captured descriptor / TensorWrapper, rebuilt over the copy

    def rebuild(self, tensor):
        if self.wrapper is None:
            return tensor
        if isinstance(self.wrapper, TypedPointer):
            return TypedPointer(tensor.data_ptr(), self.wrapper.dtype, tensor)
        if _is_descriptor(self.wrapper):
            import dataclasses
            return dataclasses.replace(self.wrapper, base=tensor)
        return type(self.wrapper)(tensor, self.wrapper.dtype)


def _same(a, b) -> bool:
    import torch
    if a.shape != b.shape:
        return False
    if a.dtype.is_floating_point:
        return bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())
    return bool(torch.equal(a, b))


@dataclass
class Tuning:
    """One autotuning run (a first call for a new key): the configs the autotuner benchmarked
    on the launch's arguments, and the one it chose. Every config replays on the inputs the
    chosen one was captured with: configs differ in meta-parameters and options, not arguments."""

    kernel: str
    key: Any
    tuner: Any = field(repr=False, compare=False)  # the Autotuner: its hooks run before each replay
    configs: dict[int, tuple[Any, str]] = field(default_factory=dict)  # config index -> (Config, spec_id)
    chosen: int | None = None
    chosen_spec: str | None = None
    pruned: int = 0  # configs the autotuner's pruning dropped before benchmarking
    timings: dict[int, list[float]] = field(default_factory=dict)  # what the autotuner measured (ms)
    tried: list[int] = field(default_factory=list)  # configs added by the user (--config, --sweep)
    ruled_out: list[int] = field(default_factory=list)  # configs a tl.static_assert rejects (skipped)
    generated: list = field(default_factory=list, repr=False, compare=False)  # configs a pruning made anew
    # the arguments' bytes before the autotuner ran any config (layout, data pointers), while it
    # tunes: by the launch it chooses, the benchmark runs may have left the answer in an output
    before: Any = field(default=None, repr=False, compare=False)

    def index_of(self, config) -> int:
        """A config's index: its place in the tuner's list, or after it for one that a pruning
        made anew (GemLite's prune_configs_by yields new Config objects)."""
        configs = list(getattr(self.tuner, "configs", []))
        if config in configs:
            return configs.index(config)
        if config not in self.generated:
            self.generated.append(config)
        return len(configs) + self.generated.index(config)

    def config_kwargs(self, index: int) -> dict[str, Any]:
        return dict(self.configs[index][0].all_kwargs())

    def to_json(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "key": _json_value(self.key), "chosen": self.chosen,
                "chosen_spec": self.chosen_spec, "pruned": self.pruned, "tried": self.tried,
                "ruled_out": self.ruled_out,
                "configs": {str(i): {"config": str(c), "spec_id": sid, "kwargs": _json_value(c.all_kwargs()),
                                     "autotuner_ms": self.timings.get(i)}
                            for i, (c, sid) in sorted(self.configs.items())}}


@dataclass
class Capture:
    script: str
    mode: str  # gpu | compile-only | interpret
    target: str
    specs: list[KernelSpec] = field(default_factory=list)
    launches: list[Launch] = field(default_factory=list)
    error: Diagnostic | None = None  # the script raised (before, between or after its launches)
    notes: list[str] = field(default_factory=list)
    snapshots: dict[str, Snapshot] = field(default_factory=dict, repr=False)  # spec_id -> first launch
    more: dict[str, list[Snapshot]] = field(default_factory=dict, repr=False)  # spec_id -> later launches kept
    tunings: list[Tuning] = field(default_factory=list, repr=False)

    def spec(self, spec_id: str) -> KernelSpec:
        for s in self.specs:
            if s.spec_id == spec_id:
                return s
        raise KeyError(spec_id)

    def select(self, kernel: str | None = None) -> list[KernelSpec]:
        if kernel is None:
            return list(self.specs)
        return [s for s in self.specs if kernel in (s.kernel, s.qualname, s.spec_id, s.folder_name)]

    def launches_of(self, spec_id: str) -> list[Launch]:
        return [lc for lc in self.launches if lc.spec_id == spec_id]

    def to_json(self) -> dict[str, Any]:
        return {"script": self.script, "mode": self.mode, "target": self.target,
                "specs": [s.to_json() for s in self.specs], "launches": [lc.to_json() for lc in self.launches],
                "error": self.error.to_json() if self.error else None, "notes": self.notes}


# -- the recorder --------------------------------------------------------------------------

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

    def __init__(self, rec: "_Recorder", spec: KernelSpec, options) -> None:
        from types import SimpleNamespace
        self.rec, self.spec, self.name = rec, spec, spec.kernel
        self.metadata = SimpleNamespace(name=spec.kernel, shared=0, target=compat.parse_target(rec.capture.target),
                                        **{k: getattr(options, k, None) for k in
                                           ("num_warps", "num_stages", "num_ctas", "maxnreg")})

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
        const = {_path_name(names, k): _json_value(v) for k, v in constexprs.items()}
        attr = {_path_name(names, k): _json_value(v) for k, v in compat.attrs_dict(attrs).items()}
        opts = {k: _json_value(v) for k, v in vars(options).items()
                if k not in TARGET_DERIVED and v is not None}
        sig = {k: _json_value(v) for k, v in signature.items()}
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
                tensors = _tensor_args(fn, args, kwargs)
                with self.own_work():
                    before = storage_layout(tensors)
            except Exception as e:  # noqa: BLE001 - (the script's launch goes on; its inputs are not kept)
                self.unkept.setdefault(spec.kernel, f"{type(e).__name__}: {e}")
            else:
                tuning = self._get("tuning")
                if tuning is not None and tuning.before is not None and tuning.before[1] == _pointers(tensors):
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
        record = Launch(spec.spec_id, grid, _describe_args(fn, _bind(fn, args, kwargs)), autotune_bench=bool(bench))
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
        tensors = _tensor_args(fn, args, kwargs)
        for name, v in views.items():  # the same bytes of the same storages, after the launch
            region = regions[v.storage]
            if region.after is None:
                region.after = _copy_bytes(tensors[name].untyped_storage(), region.start, region.before.numel())
        names = {id(v): k for k, v in _bind(fn, args, kwargs).items() if k in views}

        def slot(v):
            if id(v) not in names:
                return v
            return _TensorSlot(names[id(v)], _slot_wrapper(v))
        snapshot = Snapshot(spec.spec_id, tuple(slot(a) for a in args), {k: slot(v) for k, v in kwargs.items()}, grid,
                            regions, views)
        if spec.spec_id in self.capture.snapshots:
            self.capture.more.setdefault(spec.spec_id, []).append(snapshot)
        else:
            self.capture.snapshots[spec.spec_id] = snapshot
        if tuned is not None:
            pre = {name: _view(tuned[0][v.storage].before, v) for name, v in tuned[1].items()}
            after = snapshot.after
            snapshot.written_since_tuning = frozenset(n for n in views if n in pre and not _same(pre[n], after[n]))
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
        name = _path_name(list(fn.arg_names), key)
        if name in fn.arg_names:
            kwargs.setdefault(name, value)
    defaults = {k: _json_value(v) for k, v in vars(compat.make_backend(compat.parse_target(target))
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
                bound = _bind(self, args, kwargs)
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
                rec.launched(spec, _grid(grid, _bind(self, args, kwargs)) or (1, 1, 1), None, None)
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
                return _StandIn(rec, spec, options)
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


def interpret_launch(fn, args, kwargs, grid, cache: dict[int, Any]) -> None:
    """Run one launch in Triton's interpreter (``cache`` keeps the interpreted functions).

    The script's kernels were decorated as JITFunctions (capture needs them), so inside the
    interpreted kernel a call to another ``@triton.jit`` helper must be interpreted too.
    """
    JITFunction = compat.jit_function_class()

    def interpreted(jit_fn):
        interp = cache.get(id(jit_fn))
        if interp is None:
            from triton.runtime.interpreter import InterpretedFunction
            interp = cache[id(jit_fn)] = InterpretedFunction(jit_fn.fn)
        return interp

    names = set(fn.arg_names)
    if hasattr(fn, "compile_without_gpu") and any(k.endswith("_dir") and k not in names for k in kwargs):
        raise fn.compile_without_gpu(args, kwargs)   # a launch from a level (workbench.jit): not Python to run
    kw = {k: v for k, v in kwargs.items() if k in names}
    args, kw = compat.interpreter_args(fn, args, kw)
    # Triton's launcher takes grid[:3] (a grid of 4 or more); the interpreter refuses it
    grid3 = (lambda meta: tuple(grid(meta))[:3]) if callable(grid) else tuple(grid)[:3]
    def call(self, *a, **k):  # a helper called from inside an interpreted kernel
        interp = interpreted(self)
        if not compat.interpreter_restores_language():  # the whole launch is in language_restored()
            return interp(*a, **k)
        from triton.runtime.interpreter import _patch_lang
        # InterpretedFunction.__call__ patches triton.language and never restores it, which
        # breaks every later real compile in this process: patch in a scope and restore.
        scope = _patch_lang(interp.fn)
        try:
            return interp.rewrite()(*a, **k)
        finally:
            scope.restore()

    saved_call = JITFunction.__call__
    JITFunction.__call__ = call
    try:
        with compat.language_restored():
            interpreted(fn).run(*args, grid=grid3, warmup=False, **kw)
    except Exception as e:  # noqa: BLE001 - one the interpreter itself has here is said as such
        problem = compat.interpreter_failure(e)
        if problem is None:
            raise
        code = getattr(getattr(fn, "fn", fn), "__code__", None)
        raise WorkbenchError.at(code.co_filename if code else "<kernel>", problem) from None
    finally:
        JITFunction.__call__ = saved_call


@contextlib.contextmanager
def launches_interpreted(cache: dict[int, Any]):
    """Kernels an autotuner's hook launches (a flush, a reset) while a config replays without a
    GPU: interpreted as the replayed kernel is, not compiled for a driver that is not there."""
    JITFunction = compat.jit_function_class()
    saved = JITFunction.run

    def run(self, *args, grid, warmup=False, **kwargs):
        if not warmup:
            interpret_launch(self, args, kwargs, grid, cache)

    JITFunction.run = run
    try:
        yield
    finally:
        JITFunction.run = saved


DEFAULT_SNAPSHOT_LIMIT = 1 << 30  # bytes of input/output copies kept per capture


class ScriptTimeout(BaseException):
    """Raised in the script at its time limit: not an Exception, so the script's own
    ``except Exception`` does not swallow it."""


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`ScriptTimeout` in the block after ``seconds`` (and each second after, should
    the script catch it). A signal, so it needs the main thread; elsewhere there is no limit here
    (the runner's client still has its own)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise ScriptTimeout

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _OsExit(SystemExit):
    """``os._exit`` called by the script (in this process): it stops the script, not the process
    the script runs in (the CLI's, or the runner's)."""


@contextlib.contextmanager
def _os_exit_stops_the_script() -> Iterator[None]:
    real, me = os._exit, os.getpid()

    def _exit(code: int) -> None:
        if os.getpid() != me:   # a child the script forked ends as it asked
            real(code)
        raise _OsExit(code)
    os._exit = _exit
    try:
        yield
    finally:
        os._exit = real


def run_script(script: str | Path, argv: list[str] | None = None, target: str | None = None,
               mode: str = "auto", snapshot_limit: int = 0, time_limit: float | None = None,
               limit_name: str = "--script-timeout") -> Capture:
    """Run ``script`` as ``__main__`` and return what it launched.

    ``mode``: ``auto`` (launch on the GPU if there is one, else compile only), ``gpu``,
    ``compile-only`` or ``interpret`` (no GPU: Triton's interpreter runs each launch).
    ``time_limit``: seconds the script may run before it is stopped (an error at the line it was
    on; ``limit_name`` says how the user sets the limit); its launches so far are kept.
    """
    script = Path(script).resolve()
    gpu_target = compat.current_gpu_target() if mode in ("auto", "gpu") else None
    if mode == "auto":
        mode = "gpu" if gpu_target is not None else "compile-only"
    if mode == "gpu" and gpu_target is None:
        raise RuntimeError("no GPU: use mode 'compile-only' or 'interpret'")
    if target is None:
        target = compat.target_str(gpu_target) if gpu_target is not None else "cuda:90"
    elif mode == "gpu" and compat.parse_target(target).arch != gpu_target.arch:
        mode = "gpu"  # launches run on the card; the compile for `target` happens afterwards
    capture = Capture(script=str(script), mode=mode,
                      target=compat.target_str(compat.parse_target(target if mode != "gpu" else gpu_target)))
    compile_only = mode in ("compile-only", "interpret")
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(script), *(argv or [])]
    sys.path.insert(0, str(script.parent))
    try:
        with recording(capture, compile_only=compile_only, interpret=mode == "interpret",
                       snapshot_limit=snapshot_limit) as rec, contextlib.redirect_stdout(sys.stderr):
            try:
                with _time_limit(time_limit), _os_exit_stops_the_script():
                    runpy.run_path(str(script), run_name="__main__")
            except ScriptTimeout as e:
                when = "after its launches" if capture.launches else "before launching its kernels"
                capture.error = Diagnostic(*_where(e, script), f"the script ran past the {time_limit:g} s limit "
                                           f"{when} ({limit_name}): stopped",
                                           "warning" if capture.launches else "error")
            except _OsExit as e:
                when = "after its launches" if capture.launches else "before launching any kernel"
                capture.error = Diagnostic(*_where(e, script), f"the script called os._exit({e.code}) {when}: "
                                           "stopped there", "warning" if e.code == 0 else "error")
            except SystemExit as e:
                if e.code not in (None, 0):
                    said = f"status {e.code}" if isinstance(e.code, int) else f"status 1: {e.code}"
                    capture.error = Diagnostic(*_where(e, script), f"the script exited with {said}")
            except BaseException as e:  # noqa: BLE001 - the user's script, reported as a value
                if isinstance(e, KeyboardInterrupt):
                    raise
                capture.error = _script_error(e, script, bool(capture.launches), mode)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    if mode == "interpret" and capture.specs and (problem := compat.interpreter_problem()):
        capture.notes.append(problem)
    if mode == "compile-only" and capture.specs:
        capture.notes.append("no GPU: kernels were compiled, not launched; outputs the script computed "
                             "after its launches are not real")
        if capture.error is not None:
            capture.notes.append("the script stopped early, so later launches may be missing: --interpret runs "
                                 "the kernels in Triton's interpreter and lets the script's own checks pass")
    for kernel, size in rec.skipped_snapshots.items():
        capture.notes.append(f"inputs of {kernel} were not kept: {size / 2**20:.0f} MiB over the snapshot limit "
                             f"({snapshot_limit / 2**20:.0f} MiB)")
    for kernel, count in rec.skipped_later.items():
        capture.notes.append(f"{count} later launch{'es' if count > 1 else ''} of {kernel} not kept (the snapshot "
                             f"limit, {snapshot_limit / 2**20:.0f} MiB): the launches kept are the ones verified")
    if any(s.autotune and not s.autotune.get("timed") for s in capture.specs):
        capture.notes.append("no GPU: autotune configs were not timed; the first config is marked chosen")
    return capture


def _where(e: BaseException, script: Path) -> tuple[str, int | None, int | None]:
    """(file, line, column) to report ``e`` at: a syntax error's own place; else the script's
    innermost frame; else the innermost frame in a real file (never ``<frozen runpy>``)."""
    if isinstance(e, SyntaxError) and e.filename and not e.filename.startswith("<") and e.lineno:
        return e.filename, e.lineno, e.offset
    frames = traceback.extract_tb(e.__traceback__)
    mine = [f for f in frames if Path(f.filename).resolve() == script] or \
        [f for f in frames if not f.filename.startswith("<")][-1:]
    return (mine[-1].filename, mine[-1].lineno, None) if mine else (str(script), None, None)


def _script_error(e: BaseException, script: Path, after_launches: bool, mode: str) -> Diagnostic:
    if isinstance(e, LevelNeedsGPU):   # (says what it did: compiled, and needs a GPU to run)
        return Diagnostic(*_where(e, script), str(e))
    when = "after its launches" if after_launches else "before launching any kernel"
    text = e.msg if isinstance(e, SyntaxError) and e.msg else str(e).strip()
    msg = f"the script raised {type(e).__name__} {when}: {text.splitlines()[0] if text else ''}"
    if isinstance(e, ModuleNotFoundError) and (lacks := compat.missing_feature(e.name)):
        msg += f" ({lacks})"
    # Compile-only runs launch nothing, so a check the script makes afterwards is expected to fail.
    severity = "warning" if after_launches and mode == "compile-only" else "error"
    return Diagnostic(*_where(e, script), msg.strip(), severity)


# -- describing arguments ------------------------------------------------------------------

def _is_descriptor(value) -> bool:
    return hasattr(value, "base") and hasattr(value, "block_shape")


def _wrapped(value):
    """The tensor under a tensor descriptor or a ``triton.reinterpret`` wrapper (else None)."""
    base = getattr(value, "base", None)
    if base is not None and hasattr(base, "untyped_storage") and (
            _is_descriptor(value) or type(value).__name__ == "TensorWrapper"):
        return base
    return None


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
        tensors = _tensor_args(base, args, kwargs)
        size = sum(t.numel() * t.element_size() for t in tensors.values())
        if rec.snapshot_bytes + 3 * size <= rec.snapshot_limit:   # (with the snapshot itself)
            with rec.own_work():
                tuning.before = (storage_layout(tensors), _pointers(tensors))
    except Exception:  # noqa: BLE001 - (an autotuner of another shape: the launch's own bytes are used)
        tuning.before = None


def _pointers(tensors: dict[str, Any]) -> dict[str, tuple]:
    """What says two sets of tensor arguments are the same tensors, seen the same way."""
    return {name: (t.data_ptr(), t.dtype, tuple(t.shape), tuple(t.stride())) for name, t in tensors.items()}


def _tensor_args(fn, args, kwargs) -> dict[str, Any]:
    """Tensor arguments by name (for a descriptor or a wrapper: the tensor underneath)."""
    out = {}
    for name, value in _bind(fn, args, kwargs).items():
        value = _wrapped(value) if _wrapped(value) is not None else value
        if hasattr(value, "untyped_storage") and hasattr(value, "data_ptr"):
            tensor = value.detach() if hasattr(value, "detach") else _pointed(value)
            if tensor is not None:
                out[name] = tensor
    return out


def _bind(fn, args, kwargs) -> dict[str, Any]:
    names = fn.arg_names
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k in names:
            bound[k] = v
    for p in fn.params:
        if p.name not in bound and p.has_default:
            bound[p.name] = p.default
    return bound


def _grid(grid, bound) -> tuple[int, int, int] | None:
    try:
        g = grid(bound) if callable(grid) else grid
        g = tuple(int(x) for x in g)
    except Exception:  # noqa: BLE001
        return None
    return (g + (1, 1, 1))[:3]


def _describe_args(fn, bound: dict[str, Any]) -> list[ArgInfo]:
    out = []
    constexpr_names = {p.name for p in fn.params if p.is_constexpr}
    for name in fn.arg_names:
        value = bound.get(name)
        out.append(describe_value(name, value, name in constexpr_names))
    return out


def describe_value(name: str, value: Any, constexpr: bool = False) -> ArgInfo:
    if constexpr:
        return ArgInfo(name, "constexpr", value=_json_value(value))
    if value is None:
        return ArgInfo(name, "none")
    if hasattr(value, "data_ptr") and hasattr(value, "shape") and hasattr(value, "dtype"):
        return ArgInfo(name, "tensor", dtype=str(value.dtype).replace("torch.", ""), shape=list(value.shape),
                       strides=list(value.stride()), device=str(value.device))
    if hasattr(value, "base") and hasattr(value, "block_shape"):
        base = value.base
        return ArgInfo(name, "tensordesc", dtype=str(getattr(base, "dtype", "")).replace("torch.", ""),
                       shape=list(value.shape), strides=list(value.strides), device=str(getattr(base, "device", "")),
                       block_shape=list(value.block_shape))
    if isinstance(value, bool):
        return ArgInfo(name, "bool", value=value)
    if isinstance(value, int):
        return ArgInfo(name, "int", value=value)
    if isinstance(value, float):
        return ArgInfo(name, "float", value=value)
    return ArgInfo(name, "other", value=repr(value)[:80])


def _path_name(names: list[str], key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, tuple) and key:
        head = names[key[0]] if key[0] < len(names) else str(key[0])
        return head + "".join(f"[{i}]" for i in key[1:])
    return str(key)


def _json_value(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    inner = getattr(value, "value", None)  # tl.constexpr
    if inner is not None and type(value).__name__ == "constexpr":
        return _json_value(inner)
    return str(value)

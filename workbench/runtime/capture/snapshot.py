"""A launch's tensor arguments kept before and after it ran, one copy per storage, so that
arguments which share memory replay sharing it (aliasing), at the same offsets, strides and
address alignment. Copies are raw memory where the device allows (``_raw_copy``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from workbench.runtime.capture.arguments import bind_args


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
        return {name: view_of(self.regions[v.storage].before, v) for name, v in self.views.items()}

    @property
    def after(self) -> dict[str, Any]:
        return {name: view_of(self.regions[v.storage].after, v) for name, v in self.views.items()}

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
                if name in self.written_since_tuning or not same_values(before[name], after[name])]

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
        copies = {name: view_of(bases[v.storage], v) for name, v in self.views.items()}
        fill = lambda v: v.rebuild(copies[v.name]) if isinstance(v, TensorSlot) else v  # noqa: E731
        return tuple(fill(a) for a in self.args), {k: fill(v) for k, v in self.kwargs.items()}, copies


def view_of(region, v: _View):
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
        region = _Region(copy_bytes(storage, lo, hi - lo), align=(base + lo) % ALIGN, start=lo)
        for name, t, _, start, _ in members:
            views[name] = _View(len(regions), start - lo, t.dtype, tuple(t.shape), tuple(t.stride()))
        regions.append(region)
    return regions, views


def copy_bytes(storage, start: int, n: int):
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


def slot_wrapper(value):
    """What a replay rebuilds over the copy in ``value``'s place (None: the copy itself)."""
    if _wrapped(value) is not None:
        return value
    if not hasattr(value, "detach"):   # (a library's pointer object: see TypedPointer)
        return TypedPointer(0, value.dtype)
    return None


@dataclass(frozen=True)
class TensorSlot:
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


def same_values(a, b) -> bool:
    import torch
    if a.shape != b.shape:
        return False
    if a.dtype.is_floating_point:
        return bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())
    return bool(torch.equal(a, b))


def _is_descriptor(value) -> bool:
    return hasattr(value, "base") and hasattr(value, "block_shape")


def _wrapped(value):
    """The tensor under a tensor descriptor or a ``triton.reinterpret`` wrapper (else None)."""
    base = getattr(value, "base", None)
    if base is not None and hasattr(base, "untyped_storage") and (
            _is_descriptor(value) or type(value).__name__ == "TensorWrapper"):
        return base
    return None


def tensor_pointers(tensors: dict[str, Any]) -> dict[str, tuple]:
    """What says two sets of tensor arguments are the same tensors, seen the same way."""
    return {name: (t.data_ptr(), t.dtype, tuple(t.shape), tuple(t.stride())) for name, t in tensors.items()}


def tensor_args(fn, args, kwargs) -> dict[str, Any]:
    """Tensor arguments by name (for a descriptor or a wrapper: the tensor underneath)."""
    out = {}
    for name, value in bind_args(fn, args, kwargs).items():
        value = _wrapped(value) if _wrapped(value) is not None else value
        if hasattr(value, "untyped_storage") and hasattr(value, "data_ptr"):
            tensor = value.detach() if hasattr(value, "detach") else _pointed(value)
            if tensor is not None:
                out[name] = tensor
    return out

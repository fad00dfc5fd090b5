"""``dump(x)``: record a value from inside a ``@triton.jit`` kernel.

    from workbench.language import dump

    @triton.jit
    def kernel(...):
        acc = ...
        dump(acc)             # every program's acc (the workbench picks which to keep)
        dump(acc, pid=(0,))   # only program (0, 0, 0)

The workbench allocates the buffers and passes them: nothing else in the kernel or the
launch changes, and the script runs as before without the workbench (``dump`` is then a
no-op that compiles to nothing).

How it works, by mode:
- Triton's interpreter (no GPU): ``dump`` is called as plain Python with the value's
  numpy data; it records ``(kernel, line, program id) -> [value per call]``.
- Compiled under ``workbench dump --level python``: ``dump`` emits a marked ``tt.print``
  of the value; the workbench turns each marker into a TTIR-level dump (a buffer argument
  and a store, see :mod:`workbench.instrument.dump_mlir`) and removes the print.
- Compiled otherwise: nothing is emitted.

``offset`` (the reference system's slot offset) is accepted and kept with the record;
the workbench lays out buffers itself, so it does not move anything.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

_state = threading.local()


def _recorder():
    return getattr(_state, "recorder", None)


def _marking():
    return getattr(_state, "markers", None)


class Recorder:
    """Values recorded by ``dump`` under the interpreter: {(kernel, line): {pid: [arrays]}}."""

    def __init__(self, kernel: str | None = None) -> None:
        self.kernel = kernel
        self.launch = 0          # bumped by the caller before each interpreted launch
        self.values: dict[tuple[str, int], dict[tuple[int, int, int], list[Any]]] = {}
        self.first_launch: dict[str, int] = {}
        self.calls: dict[tuple[str, int], dict[str, Any]] = {}

    def record(self, kernel: str, line: int, pid: tuple[int, int, int], value: Any, dtype: str,
               offset: Any, only_pid: Any) -> None:
        if self.kernel is not None and kernel != self.kernel:
            return
        first = self.first_launch.setdefault(kernel, self.launch)
        if first != self.launch:  # keep the kernel's first launch only
            return
        if only_pid is not None:
            want = tuple(list(only_pid) + [0] * (3 - len(only_pid)))
            if tuple(pid) != want:
                return
        self.values.setdefault((kernel, line), {}).setdefault(tuple(pid), []).append(value)
        self.calls.setdefault((kernel, line), {"dtype": dtype, "offset": offset, "pid": only_pid})


class recording:
    """Context: ``dump`` calls made by interpreted kernels are recorded into ``recorder``."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def __enter__(self) -> Recorder:
        self.saved = _recorder()
        _state.recorder = self.recorder
        return self.recorder

    def __exit__(self, *exc) -> None:
        _state.recorder = self.saved


class marking:
    """Context: ``dump`` calls compiled by Triton's front end emit marked ``tt.print`` ops;
    ``markers`` collects, per marker index, the call's options."""

    def __init__(self) -> None:
        self.markers: list[dict[str, Any]] = []

    def __enter__(self) -> list[dict[str, Any]]:
        self.saved = _marking()
        _state.markers = self.markers
        return self.markers

    def __exit__(self, *exc) -> None:
        _state.markers = self.saved


def _plain(value: Any) -> Any:
    values = getattr(value, "values", None) if type(value).__name__ == "tuple" else None
    if isinstance(values, list):   # a tl.tuple (``dump(x, 0, (0, 1))``): its own attribute lookup raises
        return tuple(_plain(v) for v in values)
    inner = getattr(value, "value", value)  # tl.constexpr
    if isinstance(inner, (list, tuple)):
        return tuple(_plain(v) for v in inner)
    return inner


def interpreted_value(x) -> tuple[Any, str]:
    """(numpy copy, Triton dtype name) of a value inside a kernel Triton's interpreter runs."""
    import numpy as np
    handle = getattr(x, "handle", None)
    data = getattr(handle, "data", x)
    arr = np.array(data, copy=True)
    dtype = str(getattr(x, "dtype", arr.dtype))
    if dtype == "bf16" and arr.dtype == np.uint16:  # the interpreter keeps bf16 as its bits
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    is_block = getattr(getattr(x, "type", None), "is_block", lambda: arr.ndim > 0)()
    if not is_block:
        arr = arr.reshape(())
    return arr, dtype


def interpreted_program() -> tuple[int, int, int]:
    """The program id the interpreter is running now."""
    try:
        from triton.runtime.interpreter import interpreter_builder
        return tuple(int(v) for v in interpreter_builder.grid_idx)
    except Exception:  # noqa: BLE001
        return (0, 0, 0)


def dump(x, offset=None, pid=None, _semantic=None, _generator=None):
    """Record ``x`` (a tensor or scalar) from inside a kernel; see the module docstring."""
    return _dump(x, offset, pid, None, _semantic, 2)


def _dump(x, offset, pid, kind: str | None, _semantic, depth: int):
    """``dump``, and triton-runner's (``kind``: dump, dump_boundary, dump_grids; see
    :mod:`workbench.triton_runner.dump`). A marker records the call's options; for theirs, an
    ``offset`` computed in the kernel gets a marker of its own (the one after the value's), so
    the value can be placed where the call says."""
    offset, pid = _plain(offset), _plain(pid)
    if isinstance(pid, int):
        pid = (pid,)
    if _semantic is None:  # the interpreter, or plain Python
        rec = _recorder()
        if rec is None:
            return None
        frame = sys._getframe(depth)
        arr, dtype = interpreted_value(x)
        rec.record(frame.f_code.co_name, frame.f_lineno, interpreted_program(), arr, dtype, offset, pid)
        return None
    markers = _marking()
    if markers is None:
        return None
    import triton.language as tl
    if not isinstance(x, tl.tensor):
        x = _semantic.to_tensor(x)
    k = len(markers)
    runtime_offset = kind is not None and isinstance(offset, tl.tensor)
    markers.append({"offset": None if runtime_offset else offset, "pid": pid, "kind": kind,
                    "offset_marker": k + 1 if runtime_offset else None})
    _semantic.device_print(f" wbdmarker{k}", [x], False)
    if runtime_offset:
        markers.append({"offset": None, "pid": pid, "kind": "offset", "offset_marker": None})
        _semantic.device_print(f" wbdmarker{k + 1}", [offset], False)
    return None


dump.__triton_builtin__ = True  # Triton's front end passes _semantic to builtins

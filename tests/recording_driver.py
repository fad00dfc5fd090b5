"""A CUDA driver for machines with no GPU whose launcher records what it is given.

Everything above the compiled launcher is Triton's and ours, unchanged: binding, specialization,
compiling (for ``cuda:90`` on the CPU), ``CompiledKernel``, ``CudaLauncher.__call__`` (scratch
and argument order). Only the C ``launch`` that would call the CUDA driver is replaced, by a
function that records its arguments; a kernel's "function handle" says which binary it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from typing import Iterator

from triton.backends.nvidia.driver import CudaLauncher

from workbench.compiler import compat


class RecordingDriver(compat.CompileOnlyDriver):
    """Launches nothing; ``launches`` holds (binary, launch arguments) per launch, the binary
    named by its kernel name and a hash of its cubin."""

    def __init__(self, target, record: bool = True) -> None:
        super().__init__(target)
        self.launches: list[tuple] = []
        self.record = record
        self.stream = 0  # what get_current_stream answers (a test sets it)
        self.binaries: dict[int, str] = {}
        self.utils = _Utils(self)

    def get_current_stream(self, device=None) -> int:
        return self.stream

    def launcher_cls(self, src, metadata) -> CudaLauncher:
        launcher = CudaLauncher.__new__(CudaLauncher)  # Triton's __call__, without building the C part
        launcher.num_ctas = getattr(metadata, "num_ctas", 1)
        launcher.global_scratch_size = metadata.global_scratch_size
        launcher.global_scratch_align = metadata.global_scratch_align
        launcher.profile_scratch_size = metadata.profile_scratch_size
        launcher.profile_scratch_align = metadata.profile_scratch_align
        launcher.launch_cooperative_grid = metadata.launch_cooperative_grid
        launcher.launch_pdl = metadata.launch_pdl
        launcher.launch = self._launch if self.record else _nothing
        return launcher

    def _launch(self, *args) -> None:
        self.launches.append((self.binaries[args[4]], args))


class _Utils:
    def __init__(self, driver: RecordingDriver) -> None:
        self.driver = driver
        self.ids = itertools.count(1)

    def get_device_properties(self, device) -> dict:
        return {"max_shared_mem": 232448, "multiprocessor_count": 132, "max_num_regs": 65536, "warpSize": 32}

    def load_binary(self, name, kernel, shared, device):
        handle = next(self.ids)
        self.driver.binaries[handle] = f"{name}:{hashlib.sha256(kernel).hexdigest()[:16]}"
        return object(), handle, 32, 0, 1024


def _nothing(*args) -> None:
    pass


@contextlib.contextmanager
def recording(target: str = "cuda:90", record: bool = True) -> Iterator[RecordingDriver]:
    drv = RecordingDriver(compat.parse_target(target), record)
    from triton.runtime.driver import driver
    attr = "_active" if hasattr(driver, "_active") else "active"
    saved = getattr(driver, attr)
    driver.set_active(drv)
    try:
        yield drv
    finally:
        setattr(driver, attr, saved)


def launch_args(record: tuple) -> tuple:
    """A recorded launch without the hook slots (Triton passes empty hook chains and a
    LazyDict where the fast path passes None; the C launcher does nothing with either)."""
    binary, args = record
    plain = lambda a: ("tensor", a.data_ptr(), a.dtype) if hasattr(a, "data_ptr") else a  # noqa: E731
    return (binary,) + args[:4] + args[5:10] + tuple(plain(a) for a in args[13:])


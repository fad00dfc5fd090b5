"""The Python cost of a launch, on a machine with no GPU (issue 16), as ratios.

The kernel of ``bench_runner.py`` (5 tensors, 9 ints, 5 constexprs) compiled for cuda:90 on
the CPU and "launched" through Triton's own ``CudaLauncher.__call__`` whose C ``launch`` is a
function that does nothing (``tests/recording_driver.py``): what is timed is everything a
launch does in Python, which is where native ``kernel[grid]()`` and ``workbench.jit`` differ.
The GPU figures (with the C launcher and the driver) come from ``bench_runner.py``.

    python benchmarks/bench_launch_cpu.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("WORKBENCH_QUIET", "1")

import torch  # noqa: E402
import triton  # noqa: E402
from triton import knobs  # noqa: E402
from triton.runtime.jit import compute_cache_key  # noqa: E402

import workbench  # noqa: E402
from bench_runner import noop_kernel  # noqa: E402
from recording_driver import recording  # noqa: E402
from workbench.runtime.fastlaunch import key_mode, native  # noqa: E402


def _best_us(paths: dict, n: int = 3000, rounds: int = 15) -> dict[str, float]:
    """The fastest round of each path, rounds interleaved so that the host's drift (a shared
    machine) hits every path alike."""
    best = dict.fromkeys(paths, float("inf"))
    for _ in range(rounds):
        for name, fn in paths.items():
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / n * 1e6)
    return best


def main() -> None:
    ts = [torch.empty(1024) for _ in range(5)]
    ints = [3, 5, 7, 9, 11, 13, 17, 19, 23]
    wb = workbench.jit(noop_kernel)
    levels = Path(tempfile.mkdtemp(prefix="bench-levels-"))
    wb.save_levels(levels, *ts, *ints, C0=1, C1=2, C2=3, C3=4, C4=5)
    grid = (1,)
    with recording(record=False):
        kernel = noop_kernel[grid](*ts, *ints, C0=1, C1=2, C2=3, C3=4, C4=5)
        args = (*ts, *ints, 1, 2, 3, 4, 5)
        kernel_cache, key_cache, _, _, binder = noop_kernel.device_caches[0]
        wb[grid](*ts, *ints, C0=1, C1=2, C2=3, C3=4, C4=5)
        fast = wb._fast
        entries, fingerprint = fast.entries, native().fingerprint
        kwflags = {p.name: key_mode(p) for p in wb.params}
        flags = bytes(kwflags.values())
        kw = {"C0": 1, "C1": 2, "C2": 3, "C3": 4, "C4": 5}

        def tritons_binding():
            _, spec, options = binder(*ts, *ints, **kw, debug=False, instrumentation_mode="")
            return kernel_cache.get(compute_cache_key(key_cache, spec, options))

        def our_binding():
            return entries.get(fingerprint(flags, kwflags, (*ts, *ints), kw, 0, None, False, "")[0])
        paths = {
            "native kernel[grid]()": lambda: noop_kernel[grid](*ts, *ints, C0=1, C1=2, C2=3, C3=4, C4=5),
            "workbench.jit": lambda: wb[grid](*ts, *ints, C0=1, C1=2, C2=3, C3=4, C4=5),
            "workbench.jit ttgir_dir": lambda: wb[grid](*ts, *ints, C0=1, C1=2, C2=3, C3=4, C4=5, ttgir_dir=levels),
            "CompiledKernel.run floor": lambda: kernel.run(1, 1, 1, 0, kernel.function, kernel.packed_metadata, None,
                                                           knobs.runtime.launch_enter_hook,
                                                           knobs.runtime.launch_exit_hook, *args),
            "Triton binder+key+lookup": tritons_binding,
            "our fingerprint+lookup": our_binding,
        }
        for fn in paths.values():
            fn()
        us = _best_us(paths)
    base = us["native kernel[grid]()"]
    print(f"Python cost of a launch, no-op C launcher (torch {torch.__version__}, triton {triton.__version__}), "
          "fastest of 15 interleaved rounds of 3000")
    for name, v in us.items():
        print(f"   {name:26s} {v:6.2f} us  {v / base:.3f}x native")
    print(f"   binding alone (no launch): ours {us['our fingerprint+lookup']:.2f} us vs Triton's "
          f"{us['Triton binder+key+lookup']:.2f} us: "
          f"{us['our fingerprint+lookup'] / us['Triton binder+key+lookup']:.3f}x")
    print(f"   workbench.jit above the floor: {us['workbench.jit'] - us['CompiledKernel.run floor']:.2f} us; "
          f"native above the floor: {base - us['CompiledKernel.run floor']:.2f} us")


if __name__ == "__main__":
    main()

"""Launch a kernel compiled from any level with a captured launch's arguments.

The binary comes from a :class:`~workbench.compiler.stages.CompileResult` (any start level);
the launcher comes from Triton's own ``CompiledKernel``, built over the files we wrote, so
the argument packing is exactly Triton's. Arguments must specialize the way the binary was
compiled (divisibility, values equal to 1, constexprs): otherwise the launch is refused,
never run silently wrong.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from workbench.compiler import compat, scratch
from workbench.runtime.capture.arguments import bind_args
from workbench.runtime.capture.hooks import recording
from workbench.runtime.capture.model import Capture, KernelSpec
from workbench.runtime.capture.snapshot import Snapshot
from workbench.model.diagnostics import WorkbenchError
from workbench.compiler.stages import CompileResult
from workbench.runtime.verify import poison


def load(result: CompileResult, spec: KernelSpec, folder: str | Path | None = None, src: Any = None):
    """A Triton ``CompiledKernel`` for ``result``, ready to launch. ``src`` is what Triton's
    launcher reads the signature from (default: the captured specialization's)."""
    from triton.compiler.compiler import CompiledKernel
    src = src or compat.ast_source(spec.fn, spec.signature, spec.raw_constexprs, spec.raw_attrs)
    # CompiledKernel reads its files when it is made: without a folder to keep them in, ours goes after
    with (contextlib.nullcontext(Path(folder)) if folder else scratch.folder()) as where:
        paths = result.write(where, result.name)
        group = {f"{result.name}.json": str(paths["json"]), f"{result.name}.cubin": str(paths["cubin"])}
        return CompiledKernel(src, group, result.metadata["hash"])


def specialization_of(spec: KernelSpec, args: tuple, kwargs: dict, grid: Any) -> KernelSpec:
    """The specialization Triton would compile for these arguments (nothing is compiled)."""
    probe = Capture(script="<replay>", mode="compile-only", target="cuda:90")
    with recording(probe, compile_only=True, fake_driver=not compat.has_gpu()):
        spec.fn.run(*args, grid=grid, warmup=True, **kwargs)
    if not probe.specs:
        raise WorkbenchError.at(spec.file or "<kernel>", "could not specialize the arguments")
    return probe.specs[0]


def check_specialization(spec: KernelSpec, args: tuple, kwargs: dict, grid: Any) -> None:
    got = specialization_of(spec, args, kwargs, grid)
    if got.spec_id == spec.spec_id:
        return
    reasons = []
    for what, a, b in (("signature", spec.signature, got.signature), ("constexprs", spec.constexprs, got.constexprs),
                       ("attributes", spec.attrs, got.attrs), ("options", spec.options, got.options)):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                reasons.append(f"{what} of {key}: compiled for {a.get(key)!r}, arguments give {b.get(key)!r}")
    raise WorkbenchError.at(spec.file or "<kernel>", "these arguments specialize differently from the compiled "
                                                     "kernel, refusing to launch: " + "; ".join(reasons[:4]),
                            spec.line)


@dataclass
class Prepared:
    """A launch ready to go: Triton's argument list, the grid, and the tensors it writes."""

    bound: list[Any]
    grid: tuple[int, int, int]
    tensors: dict[str, Any]  # every tensor argument by name (fresh copies of the snapshot)


def _fresh(snapshot: Snapshot, poison_outputs: Iterable[str]) -> tuple[tuple, dict, dict[str, Any]]:
    """Fresh copies of the captured inputs, with ``poison_outputs`` overwritten by the poison
    pattern (so an element the kernel never writes shows)."""
    args, kwargs, copies = snapshot.fresh_args()
    for name in poison_outputs:
        if name in copies:
            poison(copies[name])
    return args, kwargs, copies


def prepare(spec: KernelSpec, snapshot: Snapshot, poison_outputs: Iterable[str] = (), check: bool = True,
            before_launch: Callable[[dict], None] | None = None) -> Prepared:
    """Fresh (and poisoned) copies of the captured inputs, checked against the specialization;
    ``before_launch`` gets the arguments by name (an autotuner's hooks)."""
    args, kwargs, copies = _fresh(snapshot, poison_outputs)
    if check:
        check_specialization(spec, args, kwargs, snapshot.grid)
    bound = bound_values(spec, args, kwargs)
    if before_launch is not None:
        before_launch(dict(zip(spec.fn.arg_names, bound)))
    grid = snapshot.grid(dict(zip(spec.fn.arg_names, bound))) if callable(snapshot.grid) else snapshot.grid
    grid = (tuple(int(g) for g in grid) + (1, 1, 1))[:3]  # as Triton's launcher: grid[:3]
    return Prepared(bound, grid, copies)


def replay(result: CompileResult, spec: KernelSpec, snapshot: Snapshot, kernel=None,
           poison_outputs: Iterable[str] = (), check: bool = True,
           before_launch: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Launch once on fresh copies of the captured inputs; returns every tensor argument after.
    ``check=False`` skips the specialization check (for a snapshot already checked)."""
    run = prepare(spec, snapshot, poison_outputs, check, before_launch)
    kernel = kernel or load(result, spec)
    kernel[run.grid](*run.bound)
    import torch
    torch.cuda.synchronize()
    return run.tensors


def interpret(fn, spec: KernelSpec, snapshot: Snapshot, poison_outputs: Iterable[str] = (),
              before_launch: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """No GPU: run ``fn`` (the original JITFunction or an edited one) in Triton's interpreter on
    fresh copies of the captured (CPU) inputs."""
    from workbench.runtime.capture.interpret import interpret_launch, launches_interpreted
    args, kwargs, copies = _fresh(snapshot, poison_outputs)
    cache: dict[int, Any] = {}
    if before_launch is not None:
        with launches_interpreted(cache):
            before_launch(dict(zip(spec.fn.arg_names, bound_values(spec, args, kwargs))))
    interpret_launch(fn, args, kwargs, snapshot.grid, cache)
    return copies


def bound_values(spec: KernelSpec, args: tuple, kwargs: dict) -> list[Any]:
    """Every kernel argument in order, as Triton's launcher takes them (defaults filled in)."""
    bound = bind_args(spec.fn, args, kwargs)
    return [bound[n] for n in spec.fn.arg_names]

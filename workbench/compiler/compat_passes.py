"""A stage's passes one at a time, whatever the Triton version: its pass managers intercepted so
that each pass runs alone and hooks see the module after it (a part of :mod:`.compat`)."""

from __future__ import annotations

import contextlib
import inspect
import re
from typing import Any, Iterator

from triton._C.libtriton import ir

from workbench.compiler.compat import VERSION


PASS_STAGES = ("ttir", "ttgir", "llir")  # the stages whose work is an MLIR pass manager's


class StagePassManager:
    """What a stage's ``ir.pass_manager(ctx)`` returns while its passes are intercepted.

    The ``passes.*.add_*`` calls land here instead of in a C++ pass manager; ``run`` then
    runs each in a pass manager of its own, so the module can be read between two passes
    and the first ones can be left out (the module given is already past them).
    """

    def __init__(self, context, hooks: "PassHooks") -> None:
        self.context, self.hooks = context, hooks
        self.calls: list[tuple[str, Any, tuple]] = []
        self.debug = False

    def enable_debug(self):
        self.debug = True  # each pass's own manager gets it too (dumps, timing, reproducers)
        return ir.pass_manager(self.context).enable_debug()

    def run(self, mod, *args):
        import time
        if self.hooks.after is None:  # a restart that records nothing: the rest in one manager, as Triton runs it
            first, self.hooks.count = self.hooks.count, self.hooks.count + len(self.calls)
            pm = ir.pass_manager(mod.context)
            if self.debug:
                pm.enable_debug()
            for index, (_call, add, add_args) in enumerate(self.calls, first):
                if index >= self.hooks.skip:
                    add(pm, *add_args)
            pm.run(mod, *args)
            self.hooks._ran()
            return
        for call, add, add_args in self.calls:
            index = self.hooks.count
            self.hooks.count += 1
            if index < self.hooks.skip:
                continue
            pm = ir.pass_manager(mod.context)
            if self.debug:
                pm.enable_debug()
            add(pm, *add_args)
            pipeline = pm.get_pipeline_str()
            t0 = time.perf_counter()
            pm.run(mod, *args)  # 3.4: run(mod); 3.5+: run(mod, name)
            ms = (time.perf_counter() - t0) * 1000
            if self.hooks.after is not None:
                self.hooks.after(index, pass_name(pipeline), call, ms, mod)
        self.hooks._ran()


class PassHooks:
    """How many of a stage's passes to leave out, what to call after each one that runs, and
    after each of the stage's pass managers has run (``ran(runs)``, its count so far)."""

    def __init__(self, skip: int = 0, after=None, ran=None) -> None:
        self.skip, self.after, self.ran, self.count, self.runs = skip, after, ran, 0, 0

    def _ran(self) -> None:
        self.runs += 1
        if self.ran is not None:
            self.ran(self.runs)


class _PassModule:
    """A stand-in for ``passes`` / ``nvidia`` / ``ir`` in the backend's module: ``add_*`` calls
    go to the stage's intercepted pass manager, everything else to the real module."""

    def __init__(self, real, path: str, hooks: PassHooks) -> None:
        self._real, self._path, self._hooks = real, path, hooks

    def __getattr__(self, name: str):
        value = getattr(self._real, name)
        if name == "pass_manager" and self._path == "ir":
            return lambda context: StagePassManager(context, self._hooks)
        if inspect.ismodule(value):
            return _PassModule(value, f"{self._path}.{name}", self._hooks)
        if name.startswith("add_") and callable(value):
            call = f"{self._path}.{name}"

            def add(pm, *args):
                if isinstance(pm, StagePassManager):
                    pm.calls.append((call, value, args))
                else:
                    value(pm, *args)
            return add
        return value


@contextlib.contextmanager
def intercepted_passes(backend, hooks: PassHooks) -> Iterator[PassHooks]:
    """While a stage function of ``backend`` runs, its passes go through ``hooks``.

    Every supported version (3.4 to 3.9) builds each MLIR stage the same way in its backend's
    module: ``pm = ir.pass_manager(ctx)``, ``passes.<group>.add_<pass>(pm, ...)`` (and
    ``nvidia.passes...``), ``pm.run(mod[, name])``; so the pass list is the stage function's
    own, for these options and this target, never a copy. The binding modules' names are
    swapped for stand-ins in that module for the duration.
    """
    import sys
    module = sys.modules[type(backend).__module__]
    # every C++ binding module the backend's module holds (nvidia's or amd's passes too)
    names = [n for n, v in module.__dict__.items()
             if inspect.ismodule(v) and getattr(v, "__name__", "").startswith("triton._C.libtriton")]
    saved = {n: module.__dict__[n] for n in names}
    for n, real in saved.items():
        module.__dict__[n] = _PassModule(real, n, hooks)
    try:
        yield hooks
    finally:
        module.__dict__.update(saved)


def pass_name(pipeline: str) -> str:
    """A one-call pass manager's textual pipeline -> its passes' names:
    ``any(tritongpu-coalesce)`` -> ``tritongpu-coalesce``; a call that adds two passes
    (``any(convert-triton-gpu-to-llvm{...}, reconcile-unrealized-casts)``) names both, with '+'."""
    inner = pipeline.strip()
    m = re.fullmatch(r"[\w.]+\((.*)\)", inner, re.S)
    if m:
        inner = m.group(1)
    names, depth, item = [], 0, ""
    for ch in inner + ",":
        if ch == "," and depth == 0:
            item = item.strip()
            nested = re.fullmatch(r"[\w.]+\((.*)\)", item, re.S)  # a pass nested on an op: tt.func(cse)
            names.append(pass_name(nested.group(1)) if nested else re.split(r"[{(\s]", item, maxsplit=1)[0])
            item = ""
            continue
        depth += ch in "{(" and 1 or (-1 if ch in "})" else 0)
        item += ch
    return "+".join(n for n in names if n) or pipeline


def printable_after(pass_name: str) -> bool:
    """Whether the module can be printed after this pass. Triton 3.4's printer never returns
    on the module the line-info pass (``enable-line-info``, the LLIR stage's last) leaves
    (its DI scopes; seen on 3.4.0, fixed by 3.6): that IR is not kept, the pass is still listed."""
    return not (VERSION < (3, 5, 0) and pass_name == "enable-line-info")

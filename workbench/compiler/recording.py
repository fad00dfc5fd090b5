"""Pass recording: the IR kept after every pass of a stage, printed in forked children (on a
copy-on-write snapshot of the stage's input) while the compile goes on, and collected once it is
done; the stage loop (:mod:`.stages`) calls these where a stage is recorded aside."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import time
from dataclasses import dataclass, field
from typing import Any

from workbench.compiler import compat_passes, passes as passes_mod
from workbench.compiler.isolate import ChildDied, ChildRaised, Isolated
from workbench.compiler.metadata import StageMetadata
from workbench.compiler.sources import MLIR_LEVELS, materialize

RECORDING_WAIT_S = 10.0   # a recording child's time beyond 20x its stage's, before it is stopped
# the stages recorded in a child: their modules take longer to print than a fork (11-12 ms for a
# process holding torch, on the H200 machine); TTIR's few KB print in well under that
RECORDED_ASIDE = ("ttgir", "llir")
# the stages recorded by two children together, each printing the passes it gets to first, where
# the machine has the cores: after its conversion to the LLVM dialect, LLIR's module is 0.5-2.5 MB
# and each print of it takes 5-30 ms; a child alone prints after the compile has finished
RECORDED_SPLIT = {"llir": 2}


def recording_children(stage: str) -> int:
    """How many children record ``stage`` together: one per two cores the process may use, at most
    ``RECORDED_SPLIT``'s (with fewer cores they would compete with the compile for them)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(RECORDED_SPLIT.get(stage, 1), cpus // 2))



@dataclass
class Recording:
    """A stage recorded pass by pass in one child or more while the compile goes on."""

    pass_key: str
    args: tuple               # record_stage's after the module: (stage name, function, metadata, ...)
    origin: tuple[str, Any]   # what the module was made from: (a level, its text; None: the start object)
    chain: list[tuple]        # then the stages run on it before this one
    tells: list[int]          # the pipes to the children: how many pass managers the stage ran
    children: list[Isolated] = field(default_factory=list)
    output: Any = None        # the stage's output in the compile, and its time
    ms: float = 0.0

    @property
    def stage(self) -> str:
        return self.args[0]

    def told(self, runs: int | None) -> None:
        """The children told how many pass managers the stage ran (None: nothing, the pipes closed)."""
        for tell in self.tells:
            with contextlib.suppress(OSError):
                if runs is not None:
                    os.write(tell, str(runs).encode())
                os.close(tell)
        self.tells = []

    def stop(self) -> None:
        for child in self.children:
            child.stop()


class _Recorded(BaseException):
    """A recording child has every pass of its stage: the rest of the stage is not its work
    (a BaseException: it goes through the stage's ``except Exception``)."""


def record_in_children(compiler, args: tuple, obj: Any, pass_key: str, origin: tuple[str, Any],
                       chain: list[tuple]) -> Recording:
    """The stage of ``args`` recorded on ``obj`` in forked children (copy-on-write snapshots of
    the stage's input) while this process compiles on: collected once the compile is done.
    ``compiler``: the :class:`~.stages.Compiler` whose ``call_stage`` runs the stage."""
    count = recording_children(args[0])
    claims = passes_mod.PassClaims() if count > 1 else None
    rec = Recording(pass_key, args, origin, list(chain), [])
    try:
        for me in range(1, count + 1):
            told, tell = os.pipe()   # how many pass managers the stage ran, once this process knows
            rec.tells.append(tell)
            try:
                rec.children.append(Isolated(functools.partial(_record_aside, compiler), obj, *args, told=told,
                                             claim=claims and (lambda index, me=me: claims.claim(index, me))))
            finally:
                os.close(told)
    except BaseException:
        rec.told(None)
        rec.stop()
        raise
    finally:
        if claims is not None:
            claims.close()   # (the children have it)
    return rec


def record_stage(compiler, obj: Any, ext: str, stage, metadata: StageMetadata, file: str, prev: str,
                 keep_ir: bool, text_in: str | None, told: int | None = None,
                 claim=None) -> passes_mod.StageRecorder:
    """Stage ``ext`` on ``obj`` with the module kept after each pass (in a recording child, or
    here when that failed): its recorder, holding the passes and the module's text after them.
    ``told``: where the compile says how many pass managers its stage ran; the recording
    ends after that many (the rest of the stage, LLVM's own work for LLIR, is the compile's).
    ``claim``: which passes this process prints, where others record the stage with it."""
    recorder = passes_mod.StageRecorder(ext, obj, 0, keep_ir, text_in, claim)

    said: list[int] = []

    def ran(runs: int) -> None:
        if told is not None and not said and select.select([told], [], [], 0)[0]:
            said.append(int(os.read(told, 32) or -1))   # (-1: the compile said nothing)
        if said and said[0] == runs:
            raise _Recorded
    try:
        compiler.call_stage(ext, stage, obj, metadata, dict(metadata), file, prev, False,
                            compat_passes.PassHooks(0, recorder, ran))
    except _Recorded:
        pass
    return recorder


def _record_aside(compiler, *args, told: int | None = None, claim=None) -> dict[str, Any]:
    """:func:`record_stage` in a recording child: its part of the recording, with each pass
    in JSON for the cache made there too (the LLIR stage's is ~5 MB, 10 ms)."""
    return record_stage(compiler, *args, told=told, claim=claim).part()


def collect(compiler, rec: Recording, start_obj, file: str,
            python_fn: Any) -> tuple[dict[str, Any], str]:
    """A stage's recording from its children, and its JSON for the cache; where a child failed,
    or they left the module other than the compile did, the stage is recorded again here, from its input."""
    deadline = time.monotonic() + RECORDING_WAIT_S + 20 * rec.ms / 1000
    try:
        parts = [child.result(timeout=max(deadline - time.monotonic(), 0.0))[0] for child in rec.children]
        data, last, encoded = passes_mod.join_parts(parts)
        if last is None or not isinstance(rec.output, str) or rec.stage not in MLIR_LEVELS or last == rec.output:
            return data, encoded
    except (ChildDied, ChildRaised, ValueError):
        rec.stop()
    prev, content = rec.origin   # the module made again as this compile made it (text alone
    obj = compiler.start_module(start_obj, file, python_fn) if content is None \
        else materialize(compiler.backend, prev, content)
    for ext, stage, metadata, in_file, before, hooks in rec.chain:   # would number its locations apart)
        hooks = compat_passes.PassHooks(hooks.skip) if hooks is not None and hooks.skip else None
        obj = compiler.call_stage(ext, stage, obj, StageMetadata(metadata), dict(metadata), in_file, before,
                                  False, hooks)[1]
    ext, stage, metadata, *rest = rec.args
    data = record_stage(compiler, obj, ext, stage, StageMetadata(metadata), *rest).data()
    return data, json.dumps(data)

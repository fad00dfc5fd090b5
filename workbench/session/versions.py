"""A kernel's versions as a session holds them: the original and each saved version, compiled
(:class:`Version`), the kernel's state across runs (:class:`KernelState`) and a run's verdict
(:class:`RunResult`). :meth:`~.session.Session.version` gets one by its label."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.compiler.stages import CompileResult
from workbench.model.diagnostics import Diagnostic
from workbench.runtime.bench import Timing
from workbench.runtime.capture.model import KernelSpec
from workbench.runtime.capture.snapshot import Snapshot
from workbench.runtime.configs import ConfigReplay
from workbench.runtime.verify import OutputCheck


@dataclass
class Version:
    """What can run: the original kernel or a saved version, compiled."""

    label: str  # "original" or the version number as text
    level: str  # the level it was started from
    result: CompileResult | None
    fn: Any = None  # the JITFunction (python level: the edited one)
    kernel: Any = None  # Triton CompiledKernel, once loaded
    file: Path | None = None  # a saved version's edited file, where it was read from


@dataclass
class KernelState:
    spec: KernelSpec
    snapshot: Snapshot | None
    versions: dict[str, Version] = field(default_factory=dict)
    more: list[Snapshot] = field(default_factory=list)  # the spec's later launches kept: each verified too
    float_atomics: bool = False  # it adds floats atomically: the sum's order, and its last bits, vary run to run
    pure_outputs: list[str] = field(default_factory=list)  # poisoned before each run
    more_pure: list[list[str]] = field(default_factory=list)  # the same, for each of ``more``
    timings: dict[str, Timing] = field(default_factory=dict)
    last_run: str | None = None
    checked: bool = False  # the snapshot's arguments match the specialization (they never change)
    config: ConfigReplay | None = None  # an autotune config: replayed on the chosen config's inputs
    watch_cache: dict = field(default_factory=dict)  # the original's watched values (watch.values)
    passes: dict | None = None  # the original's passes (Session.passes), made once


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
    caveat: str | None = None  # what the verdict cannot vouch for: the interpreter's known faults in this kernel
    launches: list[dict] = field(default_factory=list)  # each kept launch's verdict, where there are several

    def to_json(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "spec_id": self.spec_id, "version": self.version, "level": self.level,
                "status": self.status, "outputs": [o.to_json() | {"sentence": o.sentence} for o in self.outputs],
                "timing": self.timing.to_json() if self.timing else None, "vs_original": self.vs_original,
                "vs_previous": self.vs_previous, "compile": self.compile, "message": self.message,
                "error": self.error.to_json() if self.error else None, "times": self.times, "caveat": self.caveat,
                "launches": self.launches}

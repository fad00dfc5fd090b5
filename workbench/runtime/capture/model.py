"""What a capture recorded: the specializations Triton compiled, the launches, the autotuning runs
and the snapshots to replay them from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.compiler.files import safe_name
from workbench.model.diagnostics import Diagnostic
from workbench.runtime.capture.arguments import ArgInfo, json_value
from workbench.runtime.capture.snapshot import Snapshot


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
        return {"kernel": self.kernel, "key": json_value(self.key), "chosen": self.chosen,
                "chosen_spec": self.chosen_spec, "pruned": self.pruned, "tried": self.tried,
                "ruled_out": self.ruled_out,
                "configs": {str(i): {"config": str(c), "spec_id": sid, "kwargs": json_value(c.all_kwargs()),
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

"""The runner's answers the app reads, as dataclasses: each parsed once, where it arrives, with its
fields checked, so a wrong shape is one line naming the field (:class:`AnswerError`), never an
AttributeError three screens later. The runner sends JSON (``runner/protocol.py``); the widgets
take these, never the answer's dict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


class AnswerError(ValueError):
    """A runner answer not of the shape the app reads."""


_MISSING = object()


def _get(d: Any, key: str, kinds: type | tuple[type, ...], what: str, default: Any = _MISSING) -> Any:
    """``d[key]``, checked to be of ``kinds`` (None, or a missing key, gives ``default`` where one is given)."""
    if not isinstance(d, dict):
        raise AnswerError(f"the runner's {what}: expected an object, got {type(d).__name__}")
    value = d.get(key)
    if value is None and default is not _MISSING:
        return default
    if value is None:
        raise AnswerError(f"the runner's {what} has no {key}")
    if isinstance(value, bool) and kinds in (int, float, (int, float)):
        raise AnswerError(f"the runner's {what}: {key} is a bool, not a number")
    if not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,)))
        raise AnswerError(f"the runner's {what}: {key} is {type(value).__name__}, not {names}")
    return value


def _list(d: Any, key: str, what: str) -> list:
    return _get(d, key, list, what, [])


@dataclass(frozen=True)
class Timing:
    """A version's timing (``runtime.bench.Timing.to_json``): times in ms."""

    mode: str               # "cuda-event", "graph", "wall" (the interpreter: not a kernel timing), ...
    median: float | None
    spread: float | None
    tflops: float | None
    gbps: float | None
    stats: dict[str, float]   # every statistic of its runs (p20 and p80: the Configs table's noise test)

    @classmethod
    def parse(cls, d: Any, what: str = "timing") -> "Timing":
        stats = _get(d, "stats", dict, what, {})
        for key in stats:
            _get(stats, key, (int, float), what)
        return cls(str(_get(d, "mode", str, what, "")), _get(stats, "median", (int, float), what, None),
                   _get(stats, "spread", (int, float), what, None), _get(d, "tflops", (int, float), what, None),
                   _get(d, "gbps", (int, float), what, None), dict(stats))

    @property
    def interpreted(self) -> bool:
        """Timed by wall clock around Triton's interpreter (no GPU)."""
        return self.mode == "wall"


@dataclass(frozen=True)
class Version:
    """A saved version of a kernel (``session.workspace.VersionInfo.to_json``)."""

    number: int
    level: str              # the level it was saved from
    folder: Path
    result: dict | None     # its result as kept in result.json (None: its run did not end)
    after_pass: int | None  # started from the IR after this pass

    @classmethod
    def parse(cls, d: Any, what: str = "version") -> "Version":
        return cls(_get(d, "number", int, what), _get(d, "level", str, what), Path(_get(d, "folder", str, what)),
                   _get(d, "result", dict, what, None), _get(d, "after_pass", int, what, None))

    @property
    def label(self) -> str:
        return str(self.number)


@dataclass(frozen=True)
class OutputCheck:
    """One output checked against the original's (``runtime.verify.OutputCheck.to_json`` and its sentence)."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    ok: bool
    max_abs: float
    max_rel: float
    mismatches: int
    nan: int
    inf: int
    sentence: str

    @classmethod
    def parse(cls, d: Any, what: str = "output") -> "OutputCheck":
        return cls(_get(d, "name", str, what), str(_get(d, "dtype", str, what, "")), tuple(_list(d, "shape", what)),
                   _get(d, "ok", bool, what, False), _get(d, "max_abs", (int, float), what, 0),
                   _get(d, "max_rel", (int, float), what, 0), _get(d, "mismatches", int, what, 0),
                   _get(d, "nan", int, what, 0), _get(d, "inf", int, what, 0), _get(d, "sentence", str, what, ""))


@dataclass(frozen=True)
class Comparison:
    """A version's timing against the original's (``runtime.bench.Comparison.to_json``), with the
    original's timing taken beside it: the ratio is of the two medians."""

    ratio: float | None     # the version's median / the original's: < 1 is faster
    verdict: str            # faster | slower | no significant change
    sentence: str
    timing: Timing | None   # the original's

    @classmethod
    def parse(cls, d: Any, what: str = "comparison") -> "Comparison":
        timing = _get(d, "timing", dict, what, None)
        return cls(_get(d, "ratio", (int, float), what, None), _get(d, "verdict", str, what, ""),
                   _get(d, "sentence", str, what, ""), Timing.parse(timing, f"{what}'s timing") if timing else None)


@dataclass(frozen=True)
class SanitizeRun:
    """A sanitize run of a version, as History shows it (the app's summary of the tool's answer,
    kept in the workspace by the runner: ``session.workspace.Workspace.sanitize_runs``)."""

    version: str            # "original" or a version number
    tools: list[str]
    time: str               # when it started (HH:MM:SS)
    result: str             # "no errors", "2 errors, 1 new", "failed"
    lines: list[str]        # each error's line (or the failure's, or "no errors (TOOLS)")

    @classmethod
    def parse(cls, d: Any, what: str = "sanitize run") -> "SanitizeRun":
        tools, lines = _list(d, "tools", what), _list(d, "lines", what)
        if not all(isinstance(x, str) for x in tools + lines):
            raise AnswerError(f"the runner's {what}: its tools and lines are not all strings")
        return cls(str(_get(d, "version", (str, int), what)), tools, _get(d, "time", str, what, ""),
                   _get(d, "result", str, what), lines)

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "tools": self.tools, "time": self.time, "result": self.result,
                "lines": self.lines}


def _versions(d: Any, what: str) -> list[Version]:
    return [Version.parse(v, f"{what}'s version") for v in _list(d, "versions", what)]


@dataclass(frozen=True)
class RunResult:
    """A run's or an apply's answer (``session.RunResult.to_json``; an apply adds the version list,
    the new version's source map, its compile time and the watched values)."""

    kernel: str
    spec_id: str
    version: str            # "original" or a version number
    level: str
    status: str             # ok | mismatch | compiled-only | error
    message: str
    compile: dict | None    # the compile summary (warps, registers, spills, shared)
    timing: Timing | None
    outputs: list[OutputCheck]       # each output checked against the original's
    vs_original: Comparison | None   # a version's timing against the original's, timed beside it
    caveat: str | None      # what the verdict cannot vouch for (the interpreter's known faults in this kernel)
    times: dict
    compile_ms: float | None
    versions: list[Version] | None   # an apply's: the kernel's versions now
    srcmap: dict | None     # an apply's: the new version's source map
    watches: list[dict] | None       # an apply's: the watched values, beside the original's
    watch_notes: list[str]

    @classmethod
    def parse(cls, d: Any, what: str = "run result") -> "RunResult":
        timing, vs = _get(d, "timing", dict, what, None), _get(d, "vs_original", dict, what, None)
        return cls(_get(d, "kernel", str, what), _get(d, "spec_id", str, what), str(_get(d, "version", (str, int), what)),
                   _get(d, "level", str, what), _get(d, "status", str, what), _get(d, "message", str, what, ""),
                   _get(d, "compile", dict, what, None), Timing.parse(timing, f"{what}'s timing") if timing else None,
                   [OutputCheck.parse(o, f"{what}'s output") for o in _list(d, "outputs", what)],
                   Comparison.parse(vs, f"{what}'s vs_original") if vs else None, _get(d, "caveat", str, what, None),
                   _get(d, "times", dict, what, {}), _get(d, "compile_ms", (int, float), what, None),
                   _versions(d, what) if d.get("versions") is not None else None, _get(d, "srcmap", dict, what, None),
                   _get(d, "watches", list, what, None), _list(d, "watch_notes", what))

    @property
    def median(self) -> float | None:
        """Its timing's median, ms (None: not timed)."""
        return self.timing.median if self.timing else None

    @property
    def verdict_kind(self) -> str:
        """How the status line colours it: ok, error (a mismatch too) or nothing."""
        return "ok" if self.status == "ok" else "error" if self.status in ("mismatch", "error") else ""

    @property
    def verified(self) -> bool:
        """Its outputs were checked (a timing then means something)."""
        return self.status in ("ok", "mismatch")


@dataclass(frozen=True)
class KernelEntry:
    """A kernel specialization the script launched, as the runner's open answers it: compiled (its
    levels in ``folder``/original, edited in ``edit``), or ``error`` (it did not compile)."""

    kernel: str
    spec_id: str
    spec: dict              # the specialization (signature, constexprs, options, line)
    line: int | None        # the kernel's ``def`` in the script
    grids: list[tuple[int, ...] | None]   # each launch's grid (None: not known)
    folder: Path | None
    edit: Path | None
    versions: list[Version]
    srcmap: dict | None
    result: dict | None     # the original's compile summary
    error: dict | None      # a diagnostic: it did not compile
    sanitized: list[SanitizeRun]   # the sanitize runs kept in the workspace (History's rows)

    @classmethod
    def parse(cls, d: Any, what: str = "kernel entry") -> "KernelEntry":
        spec = _get(d, "spec", dict, what)
        error = _get(d, "error", dict, what, None)
        folder, edit = _get(d, "folder", str, what, None), _get(d, "edit", str, what, None)
        if error is None and (folder is None or edit is None):
            raise AnswerError(f"the runner's {what}: a compiled kernel with no {'folder' if folder is None else 'edit'}")
        grids = [_get(launch, "grid", list, f"{what}'s launch", None) for launch in _list(d, "launches", what)]
        return cls(_get(spec, "kernel", str, f"{what}'s spec"), _get(spec, "spec_id", str, f"{what}'s spec"), spec,
                   _get(spec, "line", int, f"{what}'s spec", None), [tuple(g) if g else None for g in grids],
                   Path(folder) if folder else None,
                   Path(edit) if edit else None, _versions(d, what), _get(d, "srcmap", dict, what, None),
                   _get(d, "result", dict, what, None), error,
                   [SanitizeRun.parse(r, f"{what}'s sanitize run") for r in _list(d, "sanitized", what)])


@dataclass(frozen=True)
class Opened:
    """The runner's answer to ``open``: what the script launched and how it ran."""

    mode: str               # gpu | interpret
    target: str
    gpu: bool
    kernels: list[KernelEntry]
    tunings: list[dict]     # the script's autotune tunings (the Configs tab's tables)
    script_error: dict | None   # a diagnostic: the script raised after its launches
    notes: list[str]

    @classmethod
    def parse(cls, d: Any) -> "Opened":
        what = "open answer"
        return cls(_get(d, "mode", str, what, ""), _get(d, "target", str, what), bool(_get(d, "gpu", bool, what, False)),
                   [KernelEntry.parse(k) for k in _list(d, "kernels", what)], _list(d, "tunings", what),
                   _get(d, "script_error", dict, what, None), [str(n) for n in _list(d, "notes", what)])

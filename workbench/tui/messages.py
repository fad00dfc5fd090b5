"""What the app's worker threads post from the runner's answers (``post_message`` is thread-safe),
as dataclasses: one place to read what each carries."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.message import Message

from workbench.model import results
from workbench.model.results import RunResult, Version


class RunnerMessage(Message):
    """A message from the runner's answers: dropped once the app shuts down (its widgets are being
    taken away; an answer late by a frame is nobody's), as the watcher's FilesChanged is."""


class TerminalGone(Message):
    """The terminal hung up (an SSH connection dropped, tmux killed): nobody can see or answer."""


@dataclass
class Progress(RunnerMessage):
    text: str


@dataclass
class Timing(RunnerMessage):
    """The timing run of a version whose verdict is on screen has started timing."""
    version: str


@dataclass
class RunnerLog(RunnerMessage):
    line: str
    style: str = ""


@dataclass
class RunnerRestarted(RunnerMessage):
    reason: str


@dataclass
class Hello(RunnerMessage):
    info: dict


@dataclass
class Opened(RunnerMessage):
    data: results.Opened


@dataclass
class OpenFailed(RunnerMessage):
    text: str
    lines: list[str]


@dataclass
class RunDone(RunnerMessage):
    """A run or an apply finished: ``path``/``level`` name the saved file for an apply."""
    result: RunResult
    versions: list[Version] | None
    path: Path | None = None
    level: str | None = None
    started: float = 0.0
    answered: float = field(default_factory=time.perf_counter)   # the answer read (the timeline's "answer")


@dataclass
class RunFailed(RunnerMessage):
    error: Any                  # a RunnerError (RunnerCrashed for a restart) or another exception
    path: Path | None = None
    level: str | None = None
    versions: list[Version] | None = None


@dataclass
class Restored(RunnerMessage):
    version: str
    paths: list[str]
    spec_id: str = ""           # the kernel it was restored in


@dataclass
class Exported(RunnerMessage):
    version: str
    done: dict                  # the runner's answer: the folder and its run.py


@dataclass
class ConfigsDone(RunnerMessage):
    """Config runs (a config of the table, or one tried from its field) and, for a tried one, its
    tuning as the runner now has it."""
    results: list[RunResult]
    tuning: tuple[int, dict] | None = None
    error: str | None = None
    progress: str | None = None   # a sweep's count, elapsed time and ETA
    kernel: results.KernelEntry | None = None    # a tried config that compiled: its levels are in the workspace


@dataclass
class LevelsReady(RunnerMessage):
    """Levels of a version made after its verdict was on screen (its SASS, written into edit/) and
    its source map: an apply's ``levels`` event."""
    spec_id: str
    version: str
    levels: list[str]
    srcmap: dict | None


@dataclass
class Timed(RunnerMessage):
    """A version's timing, asked for after its verdict was on screen (the runner's answer: parsed
    as it is shown; a failed one is its spec id and version)."""
    result: dict
    error: str | None = None


@dataclass
class WatchesDone(RunnerMessage):
    """The watch list as the runner answers a ``watch_list``, ``watch_add`` (``added``: its id) or
    ``watch_remove``, for kernel ``spec_id``; or (``entries``) the list dumped for the version shown."""
    spec_id: str
    watches: list[dict] | None
    added: str | None = None
    error: str | None = None
    entries: list[dict] | None = None   # ``watch_values`` of the version shown, asked for after the list


@dataclass
class DivergeDone(RunnerMessage):
    spec_id: str
    result: dict | None = None
    error: str | None = None


@dataclass
class DumpDone(RunnerMessage):
    value: str
    level: str
    result: Any = None
    error: str | None = None


@dataclass
class WorkerFailed(RunnerMessage):
    """A worker let an exception out (our bug, or a runner failure it did not expect)."""
    what: str
    error: BaseException

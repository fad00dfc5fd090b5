"""Errors a user can cause, as values with a file, a line and a sentence.

Compiler tools report problems in their own dialects (MLIR's ``loc("f":3:4): error:``,
LLVM's ``lineno:``, ptxas's ``f, line 12; error :``); each parser here turns one of
them into :class:`Diagnostic` so that the CLI prints ``FILE:LINE:COL: error: ...`` and the
app puts the message at its line.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int | None
    col: int | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: {self.severity}: {self.message}"

    def to_json(self) -> dict:
        return asdict(self)


class LevelNeedsGPU(RuntimeError):
    """A launch from a level where there is no GPU to run it: the level compiled, nothing ran
    (the interpreter runs Python kernels only)."""


@dataclass
class WorkbenchError(Exception):
    """A problem with the user's input: reported, never a traceback."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    detail: str = ""  # the tool's raw output, for a log pane

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @classmethod
    def at(cls, file: str, message: str, line: int | None = None, col: int | None = None,
           detail: str = "") -> "WorkbenchError":
        return cls([Diagnostic(str(file), line, col, message)], detail)

    def __str__(self) -> str:
        return "\n".join(str(d) for d in self.diagnostics) or "error"

    def to_json(self) -> dict:
        """The shape every consumer reads (the runner's error answers, a kernel entry's "error"):
        ``message`` is the whole text, one ``FILE:LINE: error: ...`` line per diagnostic."""
        return {"message": str(self), "diagnostics": [d.to_json() for d in self.diagnostics],
                "detail": self.detail}


def utf8_text(data: bytes, file: str) -> str:
    """``data`` as UTF-8 text, or an error at the line and column of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise WorkbenchError.at(file, f"not UTF-8 text: byte 0x{data[e.start]:02x} cannot be read", line,
                                col) from None


def os_error(e: OSError, path: str | None = None, elsewhere: str = "") -> WorkbenchError:
    """What the system refused, as one line: the file, its reason, what to do (``elsewhere``:
    how this front end puts its files somewhere else)."""
    import errno
    reason = e.strerror or str(e) or type(e).__name__
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = "free some space" + (f", or {elsewhere}" if elsewhere else "")
    elif e.errno == errno.EISDIR:
        advice = "a folder is where a file goes: move it away"
    else:
        advice = elsewhere
    return WorkbenchError.at(str(e.filename or path or "workbench"), f"{reason}: {advice}" if advice else reason)


_MLIR_LOC = re.compile(r'loc\((?:callsite\()?"(?P<file>[^"]*)":(?P<line>\d+):(?P<col>\d+)')
_MLIR_DIAG = re.compile(
    r'^(?:(?P<loc>loc\(.*?\))|(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+)):\s*'
    r'(?P<sev>error|warning|note|remark):\s*(?P<msg>.*)$')


def parse_mlir_diagnostics(text: str, file: str) -> list[Diagnostic]:
    """Diagnostics MLIR printed while parsing or running passes on ``file``.

    Locations inside the file keep their line; locations elsewhere (the Python source,
    when a pass fails on an op that still carries its Python loc) are kept as they are,
    since they point at the line that made the op.
    """
    out: list[Diagnostic] = []
    for raw in text.splitlines():
        m = _MLIR_DIAG.match(raw.strip())
        if not m:
            continue
        if m.group("loc"):
            lm = _MLIR_LOC.search(m.group("loc"))
            f, line, col = (lm.group("file"), int(lm.group("line")), int(lm.group("col"))) if lm \
                else (file, None, None)
        else:
            f, line, col = m.group("file"), int(m.group("line")), int(m.group("col"))
        out.append(Diagnostic(f, line, col, m.group("msg").strip(), m.group("sev")))
    return out


_LLVM_ERR = re.compile(r"LLVM ERROR:\s*(?:failed to parse IR:\s*)?(?P<msg>.*?)\s*(?:lineno:\s*(?P<line>\d+))?"
                       r"\s*(?:colno:\s*(?P<col>\d+))?\s*$")


def parse_llvm_error(text: str, file: str) -> list[Diagnostic]:
    out = []
    for raw in text.splitlines():
        m = _LLVM_ERR.search(raw)
        if m:
            line = int(m.group("line")) if m.group("line") else None
            col = int(m.group("col")) if m.group("col") else None
            out.append(Diagnostic(file, line, col, m.group("msg") or "LLVM error"))
    return out


_PTXAS = re.compile(r"^ptxas(?:-\w+)?\s+(?P<file>[^,]+), line (?P<line>\d+); (?P<sev>error|warning|fatal)\s*:\s*"
                    r"(?P<msg>.*)$")
_PTXAS_FATAL = re.compile(r"^ptxas(?:-\w+)? fatal\s*:\s*(?P<msg>.*?)(?: on line (?P<line>\d+))?$")
_PTXAS_ABORTED = "Ptx assembly aborted due to errors"  # says only that the lines before it were errors


def parse_ptxas_log(text: str, file: str) -> list[Diagnostic]:
    """ptxas messages, re-pointed from its temporary file to ``file``, each once (Triton puts
    the log in its exception and prints it too), a ``fatal`` as the error it is."""
    out: list[Diagnostic] = []
    for raw in text.splitlines():
        raw = raw.strip()
        if m := _PTXAS.match(raw):
            sev = "warning" if m.group("sev") == "warning" else "error"
            d = Diagnostic(file, int(m.group("line")), None, m.group("msg").strip(), sev)
        elif m := _PTXAS_FATAL.match(raw):
            d = Diagnostic(file, int(m.group("line")) if m.group("line") else None, None, m.group("msg").strip())
        else:
            continue
        if d not in out:
            out.append(d)
    if any(d.message != _PTXAS_ABORTED for d in out):
        out = [d for d in out if d.message != _PTXAS_ABORTED]
    return out


_MC_ERROR = re.compile(r"^(?:<[^>]*>:(\d+):(\d+): )?error: (.+)$")


def parse_assembler_errors(text: str, source: str, file: str) -> list[Diagnostic]:
    """LLVM's AMDGCN assembler: ``error: invalid instruction`` then the offending source line
    and a caret, with no line number; the line is found by its text in ``source`` (the
    n-th error with the same text is the n-th such line)."""
    lines = text.splitlines()
    rows = source.splitlines()
    used: set[int] = set()
    out: list[Diagnostic] = []
    for i, row in enumerate(lines):
        m = _MC_ERROR.match(row.strip())
        if not m or "ld.lld" in row:
            continue
        line = int(m.group(1)) if m.group(1) else None
        col = int(m.group(2)) if m.group(2) else None
        echoed = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if line is None and echoed:
            line = next((n for n, r in enumerate(rows, 1) if r.strip() == echoed and n not in used), None)
            if line is not None and i + 2 < len(lines) and lines[i + 2].strip() == "^":
                col = lines[i + 2].index("^") - lines[i + 1].index(echoed[0]) + len(rows[line - 1]) \
                    - len(rows[line - 1].lstrip()) + 1
        if line is not None:
            used.add(line)
        out.append(Diagnostic(file, line, col, m.group(3).strip()))
    return out


# why a session without a GPU refuses to time: said by the app (Bench tab, `b`) and `workbench run --bench`
NO_GPU_TIMING = ("no timings: without a GPU nothing is timed (the interpreter's wall time is not a kernel timing, "
                 "and the verdict would wait for it)")

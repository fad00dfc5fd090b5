"""The folder beside a script where every level, edit, version and result lives.

```
.workbench/<script-stem>/<kernel>-<spec-id>/
  original/   every level as first compiled + metadata json (reference, never edited)
  edit/       the same files: the user edits these; saving one regenerates the levels below
  versions/   NNN/ per saved version: the edited level, the levels derived from it, result.json
  inputs/     captured inputs and the original kernel's outputs (.pt, for the runner)
```

Each sanitize run of a version (or of the original) is kept beside it, in its folder's
``sanitize/NNN.json`` (its tools, time, result and error lines: History's row after a reopen).

Plain files only, so an editor in another pane works on them, and nothing is ever lost: a
version folder is written once and never changed afterwards, except for its result and its
sanitize runs. A version
is built in a temporary folder and renamed into place (whole or not at all, and a number two
writers cannot both take); edit/ changes only after that, each file by a rename. Every
folder and file name made from a kernel or script name goes through ``safe_name``.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.model.diagnostics import WorkbenchError
from workbench.compiler.files import TMP_SUFFIX, atomic_write, discard, os_reason, safe_name, stage, sweep
from workbench.model.level_files import SUFFIX, below
from workbench.compiler.passes import number_of_pass_file

# A guard on names that arrive already made safe (a spec's folder name is a safe kernel name,
# a dash and a spec id): a longer limit than safe_name's own, so a safe name passes unchanged.
_GUARD_BYTES = 200
_TAKEN = (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR)


@dataclass
class VersionInfo:
    number: int
    level: str  # the level the user edited
    folder: Path
    result: dict[str, Any] | None
    after_pass: int | None = None  # started from the IR after this pass (a pass file was its source)

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "level": self.level, "folder": str(self.folder), "result": self.result,
                "after_pass": self.after_pass}


class Workspace:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.notes: list[str] = []  # what was skipped while reading it (a corrupt version.json)
        self.wrote: dict[Path, tuple] = {}  # edit/ files this workspace wrote, as they were just after

    @classmethod
    def beside(cls, script: str | Path) -> "Workspace":
        script = Path(script).resolve()
        return cls(script.parent / ".workbench" / safe_name(script.stem))

    def kernel_dir(self, folder_name: str) -> Path:
        return self.root / safe_name(folder_name, _GUARD_BYTES)

    def original(self, folder_name: str) -> Path:
        return self.kernel_dir(folder_name) / "original"

    def edit(self, folder_name: str) -> Path:
        return self.kernel_dir(folder_name) / "edit"

    def inputs(self, folder_name: str) -> Path:
        return self.kernel_dir(folder_name) / "inputs"

    def versions_dir(self, folder_name: str) -> Path:
        return self.kernel_dir(folder_name) / "versions"

    def write_original(self, folder_name: str, stem: str, result) -> dict[str, Path]:
        """Every level of the first compile into original/, and into edit/ where edit/ is
        missing or still holds an older original (edits the user made are kept)."""
        stem = safe_name(stem)
        orig = self.original(folder_name)
        with _reported(orig):
            previous = {p.name: p.read_bytes() for p in orig.iterdir() if p.is_file()} if orig.is_dir() else {}
            paths = result.write(orig, stem)
            if result.python:
                paths["python"] = atomic_write(orig / f"{stem}.py", result.levels["python"])
            edit = self.edit(folder_name)
            edit.mkdir(parents=True, exist_ok=True)
            for path in paths.values():
                target = edit / path.name
                if not target.exists() or target.is_file() and target.read_bytes() == previous.get(path.name):
                    self._write_edit(target, path.read_bytes())
        return paths

    def edit_file(self, folder_name: str, stem: str, level: str) -> Path:
        return self.edit(folder_name) / f"{safe_name(stem)}{SUFFIX[level]}"

    def new_version(self, folder_name: str, stem: str, level: str, text: str | bytes, derived,
                    update_edit: bool = True, source: str | Path | None = None) -> VersionInfo:
        """Keep the edited level and what it compiled to as the next version; with
        ``update_edit``, the levels below the edited one in edit/ are then regenerated.

        All or nothing: the version is written in a temporary folder beside the others and
        renamed to the first free number (a number another writer took makes the rename
        fail, and the next is tried); the new edit/ files are written beside their targets
        first and renamed over them only once the version is in place. A failure leaves no
        version and edit/ as it was, and is one line naming the path and the reason.
        """
        stem = safe_name(stem)
        vdir = self.versions_dir(folder_name)
        staged: list[tuple[Path, Path]] = []
        tmp: Path | None = None
        with _reported(vdir):
            try:
                vdir.mkdir(parents=True, exist_ok=True)
                sweep(vdir)
                tmp = Path(tempfile.mkdtemp(dir=vdir, prefix=f".new.{os.getpid()}.", suffix=TMP_SUFFIX))
                if derived is not None:
                    derived.write(tmp, stem)
                if derived is None or level == "python" or derived.levels.get(level) != text:   # (else written)
                    (tmp / f"{stem}{SUFFIX[level]}").write_bytes(text if isinstance(text, bytes) else text.encode())
                if update_edit:
                    edit = self.edit(folder_name)
                    edit.mkdir(parents=True, exist_ok=True)
                    sweep(edit)
                    for path in sorted(tmp.iterdir()):
                        if path.suffix != SUFFIX[level]:
                            target = edit / path.name
                            if target.is_dir():
                                raise IsADirectoryError(errno.EISDIR, "a folder is where the file goes", str(target))
                            staged.append((stage(target, path.read_bytes()), target))
                meta = {"number": 0, "level": level, "source": str(source) if source else None}
                folder, number = self._place(tmp, vdir, meta)
                tmp = None
            finally:
                if tmp is not None:
                    discard(tmp)
                    for staged_file, _ in staged:
                        discard(staged_file)
        with _reported(self.edit(folder_name), f"version {number} was kept in {folder}, but edit/ was not updated"):
            try:
                while staged:
                    staged_file, target = staged[0]
                    os.replace(staged_file, target)
                    self.wrote[target] = _identity(target)
                    staged.pop(0)
                # a level it does not hold (yet: the SASS comes after a verdict) is absent, never older
                if update_edit and derived is not None:
                    for gone in (*below(level, derived.target.split(":")[0]), "sass"):
                        if gone not in derived.levels:
                            target = self.edit(folder_name) / f"{stem}{SUFFIX[gone]}"
                            target.unlink(missing_ok=True)
                            self.wrote.pop(target, None)
            finally:
                for staged_file, _ in staged:
                    discard(staged_file)
        return VersionInfo(number, level, folder, None, number_of_pass_file(source))

    def add_level(self, info: VersionInfo, folder_name: str, stem: str, level: str, content: str | bytes,
                  update_edit: bool) -> None:
        """A level of a kept version made after it (its SASS, disassembled once its verdict is
        out): into its folder and, with ``update_edit``, into edit/, where it was absent meanwhile."""
        name = f"{safe_name(stem)}{SUFFIX[level]}"
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        with _reported(info.folder):
            atomic_write(info.folder / name, data)
        if update_edit:
            with _reported(self.edit(folder_name), f"version {info.number} has its {name}, but edit/ was not "
                                                   "updated"):
                self._write_edit(self.edit(folder_name) / name, data)

    def _place(self, tmp: Path, vdir: Path, meta: dict[str, Any]) -> tuple[Path, int]:
        """Rename a finished version folder to the first number nobody has."""
        number = max((int(p.name) for p in vdir.iterdir() if p.name.isdigit()), default=0) + 1
        while True:
            meta["number"] = number
            # (written in place: the folder is unseen until renamed whole, and a dead writer's is swept)
            (tmp / "version.json").write_text(json.dumps(meta))
            folder = vdir / f"{number:03d}"
            try:
                os.rename(tmp, folder)  # never replaces a version: a non-empty folder refuses
                return folder, number
            except OSError as e:
                if e.errno not in _TAKEN:
                    raise
            number += 1

    def save_result(self, info: VersionInfo, result: dict[str, Any]) -> None:
        info.result = result
        with _reported(info.folder):
            atomic_write(info.folder / "result.json", json.dumps(result, indent=1, default=str))

    def versions(self, folder_name: str) -> list[VersionInfo]:
        """The saved versions, in order; a folder whose version.json cannot be read is left
        out and a corrupt result.json reads as no result, each with a note in ``notes``."""
        vdir = self.versions_dir(folder_name)
        out = []
        try:
            folders = sorted(p for p in vdir.iterdir() if p.name.isdigit()) if vdir.is_dir() else []
        except OSError as e:
            self._note(f"{vdir}: the versions could not be read ({os_reason(e)})")
            return []
        for folder in folders:
            meta = folder / "version.json"
            if not meta.is_file():  # a version is renamed into place with it: this one was damaged
                self._note(f"{meta}: missing, so version {int(folder.name)} is not listed: the folder is kept as "
                           "it is")
                continue
            try:
                info = json.loads(meta.read_text())
                number, level = int(info["number"]), str(info["level"])
            except (OSError, ValueError, TypeError, KeyError) as e:
                self._note(f"{meta}: skipped, not a version record ({_why(e)})")
                continue
            res, result = folder / "result.json", None
            if res.is_file():
                try:
                    result = json.loads(res.read_text())
                except (OSError, ValueError) as e:
                    self._note(f"{res}: the result could not be read ({_why(e)}); the version is listed without it")
                wrong = _result_shape(result)
                if wrong:
                    self._note(f"{res}: not a run result ({wrong}); the version is listed without it")
                    result = None
            out.append(VersionInfo(number, level, folder, result, number_of_pass_file(info.get("source"))))
        return out

    def sanitize_dir(self, folder_name: str, version: str) -> Path:
        """Where a version's (or the original's) sanitize runs are kept: beside its levels."""
        if version == "original":
            return self.original(folder_name) / "sanitize"
        return self.version(folder_name, int(version)).folder / "sanitize"

    def keep_sanitize_run(self, folder_name: str, run: dict[str, Any]) -> Path:
        """A sanitize run's summary as the next ``NNN.json`` beside its version (atomically)."""
        folder = self.sanitize_dir(folder_name, run["version"])
        with _reported(folder):
            folder.mkdir(parents=True, exist_ok=True)
            number = max((int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()), default=0) + 1
            return atomic_write(folder / f"{number:03d}.json", json.dumps(run, indent=1))

    def sanitize_runs(self, folder_name: str) -> list[dict[str, Any]]:
        """The kept sanitize runs, the original's then each version's, in the order they ran; a
        file that is not one (not UTF-8, not JSON, another shape) is left out with a note."""
        out = []
        kept = [("original", self.original(folder_name))] + [(str(v.number), v.folder)
                                                            for v in self.versions(folder_name)]
        for label, folder in kept:
            folder = folder / "sanitize"
            try:
                paths = sorted(p for p in folder.iterdir() if p.suffix == ".json") if folder.is_dir() else []
            except OSError as e:
                self._note(f"{folder}: the sanitize runs could not be read ({os_reason(e)})")
                continue
            for path in paths:
                try:
                    run = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as e:   # (UnicodeDecodeError too)
                    self._note(f"{path}: skipped, not a sanitize run ({_why(e)})")
                    continue
                wrong = sanitize_run_shape(run)
                if wrong:
                    self._note(f"{path}: skipped, not a sanitize run ({wrong})")
                    continue
                out.append(dict(run, version=label))   # (the folder says whose it is)
        return out

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def version(self, folder_name: str, number: int) -> VersionInfo:
        for v in self.versions(folder_name):
            if v.number == number:
                return v
        raise KeyError(number)

    def restore(self, folder_name: str, number: int | str, seen: dict[str, str] | None = None) -> list[Path]:
        """Put a version's files back into edit/ (the levels above its edited one come from the
        original), or the original's. ``seen``: the :func:`edit_digest` of each edit/ file when
        the restore was asked for (a name left out: no such file then); a file holding anything
        else now, not written by this workspace, was saved since and is kept: a restore never
        writes over text newer than its request."""
        sources = [self.original(folder_name)]
        if number != "original":
            sources.append(self.version(folder_name, int(number)).folder)
        edit = self.edit(folder_name)
        restored = {}
        with _reported(edit):
            edit.mkdir(parents=True, exist_ok=True)
            for src in sources:
                for path in sorted(src.iterdir()):
                    if path.is_file() and (path.suffix in SUFFIX.values() or path.suffix == ".json"
                                           and path.name not in ("version.json", "result.json")):
                        target = edit / path.name
                        if seen is None or self._unchanged_since(target, seen.get(path.name)):
                            restored[path.name] = self._write_edit(target, path.read_bytes())
        return list(restored.values())

    def _unchanged_since(self, target: Path, seen: str | None) -> bool:
        """``target`` holds what the requester saw, or is still the file this workspace wrote
        (by a request answered after it looked: not a save)."""
        try:
            now = edit_digest(target.read_bytes())
        except FileNotFoundError:
            now = None
        except OSError:
            return True   # (a folder in its place: the write says so)
        return now == seen or self.wrote.get(target) == _identity(target)

    def _write_edit(self, target: Path, data: bytes) -> Path:
        atomic_write(target, data)
        self.wrote[target] = _identity(target)
        return target


def _result_shape(result: Any) -> str | None:
    """What in a result.json is not as its readers use it (an object, a status word, compile
    facts as numbers), or None."""
    if result is None:
        return None
    if not isinstance(result, dict):
        return f"a JSON object was expected, not {type(result).__name__}"
    if not isinstance(result.get("status", ""), str):
        return "its status is not a string"
    facts = result.get("compile")
    if facts is not None and not (isinstance(facts, dict) and all(
            type(facts.get(k)) in (int, float, type(None))
            for k in ("num_warps", "registers", "spill_stores", "spill_loads", "shared"))):
        return "its compile facts are not numbers"
    return None


def sanitize_run_shape(run: Any) -> str | None:
    """What in a sanitize run's record is not as History reads it (version, tools, time, result,
    the error lines), or None."""
    if not isinstance(run, dict):
        return f"a JSON object was expected, not {type(run).__name__}"
    for key, kind in (("version", str), ("tools", list), ("time", str), ("result", str), ("lines", list)):
        if not isinstance(run.get(key), kind):
            return f"its {key} is not a {kind.__name__}" if key in run else f"it has no {key}"
    if not all(isinstance(x, str) for x in run["tools"] + run["lines"]):
        return "its tools and lines are not all strings"
    return None


def _identity(path: Path) -> tuple | None:
    """A file as written: a save after it, even of the same bytes, is another inode or time."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def edit_digest(data: bytes) -> str:
    """The digest a restore's ``seen`` holds (sha1, as the app's EditFlow names a file's content)."""
    return hashlib.sha1(data).hexdigest()


class _reported:
    """An OSError inside becomes one line: the path and the system's reason."""

    def __init__(self, where: Path, what: str = "could not write") -> None:
        self.where, self.what = where, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, e, tb) -> bool:
        if isinstance(e, OSError):
            raise WorkbenchError.at(e.filename or str(self.where), f"{self.what}: {os_reason(e)}") from None
        return False


def _why(e: Exception) -> str:
    return os_reason(e) if isinstance(e, OSError) else f"{type(e).__name__}: {e}"

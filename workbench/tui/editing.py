"""The edit loop of one kernel, apart from Textual (so it is tested without it): the one owner of
its versions, the current version, the save queue and the drafts.

It knows what each level's file in ``edit/`` holds (the original's text, a version's text, or a
save not compiled yet), which save compiles next (one compile at a time; while it runs, the newest
content on disk wins; while the runner rewrites ``edit/``, saves wait), which version is current
(what runs, what the verdict is about, what every pane calls current), and the drafts typed in the
panes (and those kept on disk when the terminal went away). The app reads files into panes and
talks to the runner; this class decides. The disk is the truth: a save is found by content, never
by remembering events, so a save made while a compile runs is never taken for one already seen
(invariant 2 of DESIGN.md), and a file the runner regenerated is known by its content as a
version's, never taken for a user's save.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from workbench.model.levels import NVIDIA, Family
from workbench.model.results import RunResult, Version
from workbench.tui.format import EDITABLE, LEVELS, version_label

ORIGINAL = "original"


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write beside, then rename over: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@dataclass(frozen=True)
class Apply:
    """A save to compile: the level file and the digest of the content it held when asked for."""

    level: str
    path: Path
    digest: str


@dataclass(frozen=True)
class Decision:
    """What a save comes to: ``compile`` it, ``wait`` for the compile running, ``queued`` until the
    runner is done rewriting edit/ (a restore), ``restore`` the version whose text it is (an
    identical text is not a new version), or ``nothing`` (it is the current version's text already)."""

    action: str
    level: str
    version: str | None = None
    apply: Apply | None = None

    def sentence(self, family: Family) -> str:
        what = family.title(self.level)
        if self.action == "nothing":
            return f"{what} is {version_label(self.version)}'s text already: no new version"
        if self.action == "restore":
            return f"{what} is {version_label(self.version)}'s text: no new version, {version_label(self.version)} " \
                   f"is restored and run"
        if self.action == "wait":
            return f"{what} saved: it compiles when the compile running now ends"
        return f"compiling from {what}"


class EditSession:
    """One kernel's edit loop: ``edit_dir`` holds the files, ``original_dir`` the first compile,
    ``versions`` the runner's version list; ``family``
    names the levels' files (AMD's ptx pane is ``.amdgcn``)."""

    def __init__(self, edit_dir: Path, original_dir: Path, stem: str, versions: list[Version] | None = None,
                 family: Family = NVIDIA, spec_id: str | None = None) -> None:
        self.edit_dir = Path(edit_dir)
        self.spec_id = spec_id
        self.family = family
        self.original_dir = Path(original_dir)
        self.stem = stem
        self.versions: list[Version] = list(versions or [])
        self.current = ORIGINAL          # the version whose result is the current one
        self.result: RunResult | None = None  # the last result shown (a run's or a save's)
        self.running: Apply | None = None
        self.failed: dict[str, str] = {}  # level -> digest of a text whose compile failed
        self.coming: set[str] = set()  # levels of the current version the runner makes after its verdict (SASS)
        self.drafts: dict[str, str] = {}  # level -> text typed in its pane, not saved
        self.shown: dict[str, str | None] = {}   # level -> digest of the file its pane shows (None: missing)
        self.runner_writes = 0            # requests in flight that rewrite edit/ (apply, restore)
        self.pending: dict[Path, float] = {}   # files changed, not looked at yet -> their first event's time
        self._frozen: dict[Path, str | None] = {}  # digests of original/ and versions/ files (never rewritten)

    # -- what the files hold --------------------------------------------------------------

    def path(self, level: str) -> Path:
        return self.edit_dir / f"{self.stem}{self.family.suffix(level)}"

    def _frozen_digest(self, path: Path) -> str | None:
        if path not in self._frozen:
            try:
                self._frozen[path] = digest(path.read_bytes())
            except OSError:
                return None      # not written yet (a version being made): asked again next time
        return self._frozen[path]

    def provenance(self, level: str, d: str | None) -> str | None:
        """Whose text ``d`` is at this level: "original", a version number (the current version
        first, then the newest), or None (a text no compile made)."""
        if d is None:
            return None
        name = f"{self.stem}{self.family.suffix(level)}"
        if self._frozen_digest(self.original_dir / name) == d:
            return ORIGINAL
        by_number = {v.label: v for v in self.versions}
        order = ([by_number[self.current]] if self.current in by_number else []) + \
            sorted(self.versions, key=lambda v: -v.number)
        for v in order:
            if self._frozen_digest(v.folder / name) == d:
                return v.label
        return None

    def disk_digest(self, level: str) -> str | None:
        try:
            return digest(self.path(level).read_bytes())
        except OSError:
            return None

    def note(self, level: str, d: str | None) -> str:
        """A pane title's word for what it shows: the file's digest ``d`` (None: missing)."""
        if level in self.drafts:
            return "draft"
        if d is None:
            return f"{version_label(self.current)}: being made…" if level in self.coming else "missing: restore a version"
        if self.running is not None and self.running.level == level and self.running.digest == d:
            return "saved, compiling…"
        who = self.provenance(level, d)
        if who == ORIGINAL:
            return ORIGINAL
        if who is not None:
            return f"edited ({version_label(who)})"
        if self.failed.get(level) == d:
            return "saved, did not compile"
        return "saved, not compiled yet"

    def shown_note(self, level: str) -> str:
        """The title word of what ``level``'s pane shows."""
        return self.note(level, self.shown.get(level))

    def shown_provenance(self, level: str) -> str | None:
        return self.provenance(level, self.shown.get(level))

    def shown_again(self) -> str:
        """A kernel shown again (its workspace reopened, or picked again): the version edit/
        holds becomes the current one, so what the panes show is what runs and what the verdict
        is about. That is the newest version whose text a level's file is (a version edited at
        TTGIR keeps the Python of the one before it); a text no compile made leaves the version
        of the others, and compiles once the edits are kept."""
        found = [self.provenance(level, self.disk_digest(level)) for level in LEVELS]
        numbers = [int(who) for who in found if who not in (None, ORIGINAL)]
        self.current = str(max(numbers)) if numbers else ORIGINAL
        return self.current

    def edited_levels(self) -> dict[str, str]:
        """Levels whose file is not the original's, with their title word (for the reopen question)."""
        out = {}
        for level in LEVELS:
            d = self.disk_digest(level)
            if d is not None and self.provenance(level, d) != ORIGINAL:
                out[level] = self.note(level, d)
        return out

    def level_of(self, version: str) -> str | None:
        """The level a version was saved from (None: the original, or no such version)."""
        return next((v.level for v in self.versions if v.label == version), None)

    def seen(self) -> dict[str, str]:
        """edit/'s files as they are now, by name (a restore keeps a save newer than this)."""
        seen = {}
        try:
            files = list(self.edit_dir.iterdir())
        except OSError:
            files = []   # (no edit/ now: the runner makes it again)
        for path in files:
            try:
                seen[path.name] = digest(path.read_bytes())
            except OSError:
                pass     # (a folder, or gone since)
        return seen

    # -- saves ---------------------------------------------------------------------------

    def saved(self, level: str, d: str) -> Decision:
        """A level file now holds content ``d`` (saved from the app or from outside)."""
        if level not in EDITABLE:
            return Decision("nothing", level, None)
        who = self.provenance(level, d)
        if who is not None:
            if who == self.current or self.running is not None:
                return Decision("nothing", level, who)
            return Decision("restore", level, who)
        if self.running is not None:
            return Decision("wait", level)
        return self._start(Apply(level, self.path(level), d))

    def save_arrived(self, level: str, d: str) -> Decision:
        """:meth:`saved`, unless a restore is rewriting edit/: then the file waits for it (``queued``)."""
        if self.runner_writes and self.running is None:
            self.pending.setdefault(self.path(level), time.perf_counter())
            return Decision("queued", level)
        return self.saved(level, d)

    def _start(self, apply: Apply) -> Decision:
        self.running = apply
        return Decision("compile", apply.level, apply=apply)

    def pass_saved(self, level: str, path: Path, d: str) -> Decision:
        """The IR after a pass, saved into edit/ by the Passes view: compiled at once (the app
        asks only while no compile runs), as ``level``'s text that starts after that pass."""
        return self._start(Apply(level, Path(path), d))

    def next_save(self, saved: Iterable[str] = ()) -> Decision | None:
        """After a compile (or a restore): the newest save on disk that no compile made yet, if
        any. Of several, the one written last wins; texts that failed to compile wait for the
        next save. ``saved``: levels saved while a restore waited for the runner (it kept them);
        one that holds another version's text now restores that version (the later save wins)."""
        if self.running is not None:
            return None
        found = []
        for level in EDITABLE:
            path = self.path(level)
            try:
                data, mtime = path.read_bytes(), path.stat().st_mtime_ns
            except OSError:
                continue
            d = digest(data)
            if self.provenance(level, d) is None and self.failed.get(level) != d:
                found.append((mtime, -LEVELS.index(level), Apply(level, path, d)))
        if found:
            return self._start(max(found, key=lambda t: t[:2])[2])
        restores = []
        for level in set(saved) & set(EDITABLE):
            who = self.provenance(level, self.disk_digest(level))
            if who not in (None, self.current):
                restores.append((self._mtime(level), -LEVELS.index(level), Decision("restore", level, who)))
        return max(restores, key=lambda t: t[:2])[2] if restores else None

    def _mtime(self, level: str) -> int:
        try:
            return self.path(level).stat().st_mtime_ns
        except OSError:
            return 0

    def finished(self, versions: list[Version] | None, failed: bool) -> str | None:
        """The compile running ended, with the runner's version list. Returns the version it
        made (then the current one, even when its run did not end), or None; a text that did
        not compile (``failed``) waits for the next save."""
        apply, self.running = self.running, None
        before = self.newest_version()
        if versions is not None:
            self.versions = list(versions)
        made = self.newest_version() if self.newest_version() != before else None
        if made is not None:
            self.current = made
        elif apply is not None and failed:
            self.failed[apply.level] = apply.digest
        return made

    def newest_version(self) -> str | None:
        return str(max(v.number for v in self.versions)) if self.versions else None

    # -- results and the runner's writes ---------------------------------------------------

    def ran(self, result: RunResult) -> None:
        """A result is on screen: its version is the current one (unless it is another kernel's)."""
        self.result = result
        if result.spec_id == self.spec_id:
            self.current = result.version

    def runner_writing(self) -> None:
        """A request that rewrites edit/ (an apply, a restore) is on its way."""
        self.runner_writes += 1

    def runner_wrote(self) -> None:
        self.runner_writes = max(self.runner_writes - 1, 0)

    def take_pending(self) -> dict[Path, float]:
        """The changed files to look at now (none while the runner rewrites edit/: looked at once it is done)."""
        if not self.pending or self.runner_writes:
            return {}
        pending, self.pending = self.pending, {}
        return pending

    def after_runner_write(self, restored: bool = False) -> Decision | None:
        """The runner is done with edit/ (the panes show what it holds): the newest save it does
        not hold a version of yet compiles next (one made while the compile ran). After a restore
        (``restored``), a save made while it waited that holds another version's text restores that."""
        if self.runner_writes:
            return None
        saved = [self.family.pane_of_suffix(p.suffix) for p in self.pending] if restored else []
        self.pending.clear()      # the files are on screen now, and the flow looks at all of them
        return self.next_save(saved)

    # -- drafts --------------------------------------------------------------------------

    def drafts_sentence(self) -> str:
        return ", ".join(self.family.title(lv) for lv in LEVELS if lv in self.drafts)

    def kept_draft_path(self, level: str) -> Path:
        """Where a level's draft is kept when the terminal goes away (the kernel's drafts/)."""
        return self.original_dir.parent / "drafts" / self.path(level).name

    def keep_drafts(self, texts: dict[str, str]) -> list[str]:
        """Drafts written into drafts/ (the terminal went away); the files written."""
        kept = []
        for level, text in texts.items():
            target = self.kept_draft_path(level)
            try:
                target.parent.mkdir(exist_ok=True)
                atomic_write(target, text.encode())
                kept.append(str(target))
            except OSError:
                pass
        return kept

    def kept_drafts(self) -> dict[str, str]:
        """Drafts kept by a session whose terminal went away, by level."""
        out = {}
        for level in (lv for lv in LEVELS if lv in EDITABLE):
            try:
                out[level] = self.kept_draft_path(level).read_bytes().decode("utf-8", errors="replace")
            except OSError:
                continue
        return out

    def forget_kept_draft(self, level: str) -> None:
        if level in EDITABLE:
            self.kept_draft_path(level).unlink(missing_ok=True)

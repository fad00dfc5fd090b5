"""A cache of stage outputs keyed by the content of their input.

Triton's own cache keys a kernel by its Python source and options: an IR file swapped in
by an override is not part of the key, so an edited level can be served a stale binary.
Here every stage's key is the hash of the exact text (or bytes) it compiles, with the
options, the target and the Triton version: an edit always misses, an unchanged level
always hits.

An entry on disk is its output (``<key>.out``) and a description (``<key>.json``) holding
what the stage set in the metadata, its resources and times, and one sha256 over all of it
with the output: the description is served as the output is (the registers and shared
memory shown and written into ``<kernel>.json`` come from it). A read checks the digest
before serving anything: an entry damaged on disk, or left half-written by a killed
process, is removed, said once, and the stage runs again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


@dataclass
class Entry:
    output: str | bytes
    metadata: dict[str, Any]  # what the stage wrote into the metadata
    info: dict[str, Any]      # ms it took, resources, tool log


def default_dir() -> Path:
    root = os.environ.get("WORKBENCH_CACHE_DIR")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "triton-workbench" / "stages"


class StageCache:
    """In memory (bounded) in front of a folder on disk (``None``: memory only)."""

    def __init__(self, root: Path | str | None = None, max_entries: int = 512,
                 on_bad: Callable[[str], None] | None = None) -> None:
        self.root = Path(root) if root is not None else None
        self.max_entries = max_entries
        self.on_bad = on_bad or _say  # told once about each bad entry dropped
        self._mem: OrderedDict[str, Entry] = OrderedDict()
        self._held: list[tuple[str, Entry]] | None = None   # puts kept from the disk until flush()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Entry | None:
        entry = self._mem.get(key)
        if entry is None and self.root is not None:
            entry = self._read(key)
            if entry is not None:
                self._remember(key, entry)
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
            self._mem.move_to_end(key)
        return entry

    def put(self, key: str, entry: Entry) -> None:
        self._remember(key, entry)
        if self._held is not None:
            self._held.append((key, entry))
        elif self.root is not None:
            self._write(key, entry)

    def hold(self) -> None:
        """Keep what is put in memory only (gets find it) until :meth:`flush`: an edit's verdict
        goes out first, its entries reach the disk after it."""
        if self._held is None:
            self._held = []

    def flush(self) -> None:
        """Write what was held (nothing when nothing was)."""
        held, self._held = self._held, None
        for key, entry in held or ():
            if self.root is not None:
                self._write(key, entry)

    def _remember(self, key: str, entry: Entry) -> None:
        self._mem[key] = entry
        while len(self._mem) > self.max_entries:
            self._mem.popitem(last=False)

    def _paths(self, key: str) -> tuple[Path, Path]:
        assert self.root is not None
        folder = self.root / key[:2]
        return folder / f"{key}.out", folder / f"{key}.json"

    def _read(self, key: str) -> Entry | None:
        out_path, meta_path = self._paths(key)
        if not meta_path.exists() and not out_path.is_dir():
            return None  # never written, or killed before its description: a plain miss
        try:
            entry = _verified(meta_path, out_path)
        except _Bad as e:
            self._drop(out_path, meta_path, str(e))
            return None
        return entry

    def _drop(self, out_path: Path, meta_path: Path, reason: str) -> None:
        for path in (meta_path, out_path):  # the description first: without it, no reader trusts the rest
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
            except OSError:
                pass
        self.on_bad(f"note: dropped a bad stage cache entry {out_path} ({reason}); it is rebuilt")

    def _write(self, key: str, entry: Entry) -> None:
        out_path, meta_path = self._paths(key)
        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            binary = isinstance(entry.output, bytes)
            data = entry.output if binary else entry.output.encode("utf-8")
            # write-then-rename: a reader never sees half an entry
            _atomic_write(out_path, data)
            # the description goes last and names the output's digest: a writer killed between
            # the two renames leaves a description that does not match, never a bad entry
            described = json.loads(json.dumps({"binary": binary, "metadata": entry.metadata, "info": entry.info},
                                              default=vars))  # as a reader will see it
            _atomic_write(meta_path, json.dumps({"sha256": _entry_digest(data, described), **described}).encode())
        except OSError:
            pass  # a cache that cannot write is only slower


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _entry_digest(data: bytes, described: dict[str, Any]) -> str:
    """One digest over the output and everything said about it (a JSON text read back and
    written again is the same text: the order of keys is kept, numbers print as they read)."""
    return digest(data, json.dumps({k: described[k] for k in ("binary", "metadata", "info")}))


class _Bad(Exception):
    """Why an entry on disk is not served."""


def _verified(meta_path: Path, out_path: Path) -> Entry:
    try:
        meta = json.loads(meta_path.read_bytes())
    except (OSError, ValueError):
        raise _Bad("its description cannot be read") from None
    if not (isinstance(meta, dict) and isinstance(meta.get("binary"), bool) and isinstance(meta.get("sha256"), str)
            and isinstance(meta.get("metadata"), dict) and isinstance(meta.get("info"), dict)):
        raise _Bad("its description is not one this version writes")
    try:
        data = out_path.read_bytes()
    except OSError as e:
        raise _Bad(f"its content cannot be read: {e.strerror or e}") from None
    if _entry_digest(data, meta) != meta["sha256"]:
        raise _Bad("its content or description does not match its digest")
    try:
        output: str | bytes = data if meta["binary"] else data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Bad("its text is not UTF-8") from None
    return Entry(output, meta["metadata"], meta["info"])


def _say(note: str) -> None:
    print(note, file=sys.stderr)

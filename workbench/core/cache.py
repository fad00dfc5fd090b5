"""A cache of stage outputs keyed by the content of their input.

Triton's own cache keys a kernel by its Python source and options: an IR file swapped in
by an override is not part of the key, so an edited level can be served a stale binary.
Here every stage's key is the hash of the exact text (or bytes) it compiles, with the
options, the target and the Triton version: an edit always misses, an unchanged level
always hits.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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

    def __init__(self, root: Path | str | None = None, max_entries: int = 512) -> None:
        self.root = Path(root) if root is not None else None
        self.max_entries = max_entries
        self._mem: OrderedDict[str, Entry] = OrderedDict()
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
        try:
            meta = json.loads(meta_path.read_text())
            data = out_path.read_bytes()
        except (OSError, ValueError):
            return None
        output: str | bytes = data if meta.get("binary") else data.decode("utf-8")
        return Entry(output, meta["metadata"], meta["info"])

    def _write(self, key: str, entry: Entry) -> None:
        out_path, meta_path = self._paths(key)
        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            binary = isinstance(entry.output, bytes)
            data = entry.output if binary else entry.output.encode("utf-8")
            # write-then-rename: a reader never sees half an entry
            _atomic_write(out_path, data)
            _atomic_write(meta_path, json.dumps({"binary": binary, "metadata": entry.metadata,
                                                 "info": entry.info}, default=vars).encode())
        except OSError:
            pass  # a cache that cannot write is only slower


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)

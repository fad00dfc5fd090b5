"""Cross-level line mapping from a runner's source-map JSON, for the app.

The same join as :meth:`workbench.model.srcmap.SourceMap.related` (every level's lines that come
from the Python line(s) of one line), on JSON the runner sends. Python files are compared by
name, not by full path: a level served from the stage cache may carry the path of the copy of
the script it was first compiled from, and its lines are still those of the same source.
"""

from __future__ import annotations

import os
from collections import defaultdict

from workbench.model.srcmap import ends

PyKey = tuple[str, int]


def _key(file: str, line: int) -> PyKey:
    return os.path.basename(str(file)), int(line)


class LevelMap:
    """level -> line -> Python (file name, line), innermost first (a helper's line, then its call
    sites out to the kernel's line); and the reverse index."""

    def __init__(self, levels: dict[str, dict[int, list[PyKey]]] | None = None) -> None:
        self.levels: dict[str, dict[int, list[PyKey]]] = levels or {}
        self._by_source: dict[str, dict[PyKey, list[int]]] = {}
        for level, lines in self.levels.items():
            index: dict[PyKey, list[int]] = defaultdict(list)
            for n, locs in lines.items():
                for loc in locs:
                    index[loc].append(n)
            self._by_source[level] = {k: sorted(set(v)) for k, v in index.items()}

    @classmethod
    def from_json(cls, data: dict | None) -> "LevelMap":
        levels: dict[str, dict[int, list[PyKey]]] = {}
        for level, lines in (data or {}).items():
            out: dict[int, list[PyKey]] = {}
            for n, locs in (lines or {}).items():
                try:
                    out[int(n)] = [_key(f, ln) for f, ln in locs]
                except (TypeError, ValueError):
                    continue
            levels[level] = out
        return cls(levels)

    def merged(self, other: "LevelMap") -> "LevelMap":
        """This map with ``other``'s levels replacing ours (an apply maps only the levels it made)."""
        return LevelMap({**self.levels, **other.levels})

    def sources(self, level: str, line: int) -> list[PyKey]:
        if level == "python":
            locs = [loc for locs in self.levels.get("python", {}).values() for loc in locs if loc[1] == line]
            if not locs:  # a Python line that made no code still names itself
                names = {loc[0] for locs in self.levels.get("python", {}).values() for loc in locs}
                locs = [(name, line) for name in sorted(names)]
            return locs[:1]
        locs = self.levels.get(level, {}).get(line, [])
        return ends(locs)  # innermost, and the kernel's line that called it

    def related(self, level: str, line: int) -> dict[str, list[int]]:
        """Lines in every level that come from the same Python line as ``level:line``."""
        return self.lines_from(self.sources(level, line))

    def lines_from(self, sources: list[PyKey]) -> dict[str, list[int]]:
        """Lines in every level that come from these Python lines (a pass's IR line's, say)."""
        out: dict[str, list[int]] = {}
        for other, index in self._by_source.items():
            hits: set[int] = set()
            for loc in sources:
                hits.update(index.get(loc, ()))
            out[other] = sorted(hits)
        return out

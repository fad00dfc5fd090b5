"""Finding in a level's view: text search (``/``, n, N), go to definition (d, ctrl+o back) and the next
mapped line ([, ]),
a mixin of :class:`~workbench.tui.widgets.code_view.CodeView`, whose lines, cursor and messages it uses."""

from __future__ import annotations

import bisect
import re

# The name under the cursor that "go to definition" looks up, per level family.
SSA_RE = re.compile(r'%(?:[\w$.-]+|"[^"]*")')
_SASS_NAME_RE = re.compile(r"\b(?:U?R\d+|U?P\d+)\b")


class CodeSearch:
    def find(self, query: str, *, forward: bool = True) -> int | None:
        """Move to the next (or previous) occurrence of ``query`` after the cursor, wrapping.

        Case-insensitive unless the query has a capital letter. Matches stay highlighted until
        :meth:`clear_search`. Returns the 1-based line found, or None.
        """
        self.search_query = query
        if not query:
            self.clear_search()
            return None
        flags = 0 if any(c.isupper() for c in query) else re.IGNORECASE
        self._search = re.compile(re.escape(query), flags)
        self.refresh()
        return self._find(forward)

    def clear_search(self) -> None:
        self._search = None
        self.refresh()

    def _find(self, forward: bool) -> int | None:
        pattern = self._search
        if pattern is None:
            return None
        n = len(self._lines)
        start, col = self.cursor_line - 1, self.cursor_column
        for step in range(n + 1):
            index = (start + step) % n if forward else (start - step) % n
            line = self._lines[index]
            if forward:
                m = pattern.search(line, col + 1) if step == 0 else pattern.search(line)
            else:
                ms = [m for m in pattern.finditer(line) if step or m.start() < col]
                m = ms[-1] if ms else None
            if m is not None:
                wrapped = (index < start or (index == start and m.start() <= col)) if forward else \
                    (index > start or (index == start and m.start() >= col))
                self.goto_line(index + 1, m.start())
                self.post_message(self.Jumped(self, "find", True, index + 1,
                                              self._match_count_text(index, m.start(), wrapped, forward)))
                return index + 1
        self.post_message(self.Jumped(self, "find", False, None, f"not found: {self.search_query}"))
        return None

    def _match_count_text(self, index: int, column: int, wrapped: bool, forward: bool) -> str:
        """``/x: 3 of 12`` and whether the search went round the end of the file."""
        pattern, before, total = self._search, 0, 0
        for i, line in enumerate(self._lines):
            for m in pattern.finditer(line):
                total += 1
                if (i, m.start()) < (index, column):
                    before += 1
        text = f"/{self.search_query}: {before + 1} of {total}"
        if wrapped:
            text += " (wrapped to the top)" if forward else " (wrapped to the bottom)"
        return text

    def action_find_next(self) -> None:
        self._find(True)

    def action_find_previous(self) -> None:
        self._find(False)

    def name_at(self, line: int | None = None, column: int | None = None) -> str | None:
        """The SSA value / register under (or first after) a position; the cursor's by default."""
        line = self.cursor_line if line is None else line
        column = self.cursor_column if column is None else column
        text = self._lines[line - 1]
        pattern = _SASS_NAME_RE if self._level == "sass" else SSA_RE
        after = None
        for m in pattern.finditer(text):
            if m.start() <= column < m.end():
                return m.group(0)
            if after is None and m.start() >= column:
                after = m.group(0)
        return after

    def definition_of(self, name: str) -> int | None:
        """The 1-based line defining ``name`` (MLIR/LLVM: ``%x = ``, args; PTX: first write)."""
        if self._definitions is None:
            self._definitions = _index_definitions(self._level, self._lines)
        return self._definitions.get(_strip_result_suffix(name))

    def goto_definition(self) -> int | None:
        """Jump to the definition of the name under the cursor; ``ctrl+o`` comes back."""
        name = self.name_at()
        if name is None:
            self.post_message(self.Jumped(self, "definition", False, None, "no SSA value under the cursor"))
            return None
        line = self.definition_of(name)
        if line is None:
            self.post_message(self.Jumped(self, "definition", False, None, f"no definition of {name} here"))
            return None
        self._jumps.append((self.cursor_line, self.cursor_column))
        column = self._lines[line - 1].find(_strip_result_suffix(name))
        self.goto_line(line, max(column, 0))
        self.post_message(self.Jumped(self, "definition", True, line, name))
        return line

    def action_goto_definition(self) -> None:
        self.goto_definition()

    def action_jump_back(self) -> None:
        if self._jumps:
            line, column = self._jumps.pop()
            self.goto_line(line, column)

    # -- the lines mapped from another level's cursor ([ and ]) --

    def next_highlighted(self, *, forward: bool = True) -> int | None:
        """Move to the next (previous) highlighted line after the cursor, wrapping."""
        if not self._mapped:
            self.post_message(self.Jumped(self, "mapped", False, None, "no mapped lines"))
            return None
        if forward:
            i = bisect.bisect_right(self._mapped, self.cursor_line)
            line = self._mapped[i % len(self._mapped)]
        else:
            i = bisect.bisect_left(self._mapped, self.cursor_line) - 1
            line = self._mapped[i]
        self.goto_line(line)
        self.post_message(self.Jumped(self, "mapped", True, line, ""))
        return line

    def action_next_mapped(self) -> None:
        self.next_highlighted()

    def action_previous_mapped(self) -> None:
        self.next_highlighted(forward=False)


def _strip_result_suffix(name: str) -> str:
    """``%x#1`` (a use of result 1) and ``%x:9`` (a 9-result definition) name ``%x``."""
    return re.sub(r"[#:]\d+$", "", name)


_MLIR_DEF = re.compile(r'(%[\w$.-]+)(?::\d+)?\s*=(?!=)')                       # %x = , %acc:9 = , iter_args


_MLIR_RESULTS = re.compile(r'^\s*(%[\w$.-]+(?::\d+)?(?:\s*,\s*%[\w$.-]+(?::\d+)?)+)\s*=')   # %a, %b =


_MLIR_ARG = re.compile(r'(%[\w$.-]+)\s*:\s*(?=[!a-z])')                      # (%x: f32 in func/block args


_LLVM_DEF = re.compile(r'^\s*(%(?:[\w$.-]+|"[^"]*"))\s*=')


_LLVM_LABEL = re.compile(r'^([\w$.-]+|"[^"]*"):')


_PTX_DEST = re.compile(r'^\s*(?:@!?%\w+\s+)?[a-z][\w.]*\s+(?:\{([^}]*)\}|(%[\w$]+))')


def _index_definitions(level: str, lines: list[str]) -> dict[str, int]:
    defs: dict[str, int] = {}

    def add(name: str, n: int) -> None:
        defs.setdefault(_strip_result_suffix(name), n)

    for n, line in enumerate(lines, 1):
        if "%" not in line and level != "llir":
            continue
        if level in ("ttir", "ttgir", "glir", "mlir"):
            if m := _MLIR_RESULTS.match(line):
                for name in re.split(r"\s*,\s*", m.group(1)):
                    add(name, n)
            for m in _MLIR_DEF.finditer(line):
                add(m.group(1), n)
            stripped = line.lstrip()
            if stripped.startswith("^") or "tt.func" in line or "func.func" in line:
                for m in _MLIR_ARG.finditer(line):
                    add(m.group(1), n)
        elif level == "llir":
            if m := _LLVM_DEF.match(line):
                add(m.group(1), n)
            elif m := _LLVM_LABEL.match(line):
                add("%" + m.group(1), n)
            elif line.startswith("define "):
                for m in SSA_RE.finditer(line):
                    add(m.group(0), n)
        elif level == "ptx":
            if m := _PTX_DEST.match(line):
                if m.group(1) is not None:
                    for name in re.findall(r"%[\w$]+", m.group(1)):
                        add(name, n)
                else:
                    add(m.group(2), n)
    return defs

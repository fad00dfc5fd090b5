"""The folder beside a script where every level, edit, version and result lives.

```
.workbench/<script-stem>/<kernel>-<spec-id>/
  original/   every level as first compiled + metadata json (reference, never edited)
  edit/       the same files: the user edits these; saving one regenerates the levels below
  versions/   NNN/ per saved version: the edited level, the levels derived from it, result.json
  inputs/     captured inputs and the original kernel's outputs (.pt, for the runner)
```

Plain files only, so an editor in another pane works on them, and nothing is ever lost: a
version folder is written once and never changed afterwards, except for its result.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .levels import SUFFIX


@dataclass
class VersionInfo:
    number: int
    level: str  # the level the user edited
    folder: Path
    result: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "level": self.level, "folder": str(self.folder), "result": self.result}


class Workspace:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @classmethod
    def beside(cls, script: str | Path) -> "Workspace":
        script = Path(script).resolve()
        return cls(script.parent / ".workbench" / script.stem)

    def kernel_dir(self, folder_name: str) -> Path:
        return self.root / folder_name

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
        orig = self.original(folder_name)
        previous = {p.name: p.read_bytes() for p in orig.iterdir() if p.is_file()} if orig.is_dir() else {}
        paths = result.write(orig, stem)
        if result.python:
            paths["python"] = orig / f"{stem}.py"
            paths["python"].write_text(result.levels["python"])
        edit = self.edit(folder_name)
        edit.mkdir(parents=True, exist_ok=True)
        for path in paths.values():
            target = edit / path.name
            if not target.exists() or target.read_bytes() == previous.get(path.name, None):
                shutil.copyfile(path, target)
        return paths

    def edit_file(self, folder_name: str, stem: str, level: str) -> Path:
        return self.edit(folder_name) / f"{stem}{SUFFIX[level]}"

    def new_version(self, folder_name: str, stem: str, level: str, text: str | bytes, derived) -> VersionInfo:
        """Keep the edited level and what it compiled to as the next version; the levels
        below the edited one in edit/ are regenerated."""
        vdir = self.versions_dir(folder_name)
        vdir.mkdir(parents=True, exist_ok=True)
        number = max((int(p.name) for p in vdir.iterdir() if p.name.isdigit()), default=0) + 1
        folder = vdir / f"{number:03d}"
        folder.mkdir()
        if derived is not None:
            derived.write(folder, stem)
            for path in folder.iterdir():
                if path.suffix != SUFFIX[level]:
                    shutil.copyfile(path, self.edit(folder_name) / path.name)
        edited = folder / f"{stem}{SUFFIX[level]}"
        if isinstance(text, bytes):
            edited.write_bytes(text)
        else:
            edited.write_text(text)
        (folder / "version.json").write_text(json.dumps({"number": number, "level": level}))
        return VersionInfo(number, level, folder, None)

    def save_result(self, info: VersionInfo, result: dict[str, Any]) -> None:
        info.result = result
        (info.folder / "result.json").write_text(json.dumps(result, indent=1, default=str))

    def versions(self, folder_name: str) -> list[VersionInfo]:
        vdir = self.versions_dir(folder_name)
        out = []
        for folder in sorted(vdir.iterdir()) if vdir.is_dir() else []:
            meta = folder / "version.json"
            if not meta.is_file():
                continue
            info = json.loads(meta.read_text())
            res = folder / "result.json"
            out.append(VersionInfo(info["number"], info["level"], folder,
                                   json.loads(res.read_text()) if res.is_file() else None))
        return out

    def version(self, folder_name: str, number: int) -> VersionInfo:
        for v in self.versions(folder_name):
            if v.number == number:
                return v
        raise KeyError(number)

    def restore(self, folder_name: str, number: int | str) -> list[Path]:
        """Put a version's files back into edit/ (the levels above its edited one come from the
        original), or the original's."""
        sources = [self.original(folder_name)]
        if number != "original":
            sources.append(self.version(folder_name, int(number)).folder)
        restored = {}
        for src in sources:
            for path in src.iterdir():
                if path.suffix in SUFFIX.values() or path.suffix == ".json" and path.name not in ("version.json",
                                                                                                 "result.json"):
                    shutil.copyfile(path, self.edit(folder_name) / path.name)
                    restored[path.name] = self.edit(folder_name) / path.name
        return list(restored.values())

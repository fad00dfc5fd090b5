"""Watch a kernel's edit/ folder for saves made outside the app (another tmux pane, $EDITOR).

The watchdog handler runs on the observer thread and only posts a message (``post_message`` is
thread-safe). The folder's parent is watched too, so that a folder deleted and made again
(``rm -r edit``, a restore by hand, a ``git checkout``) is watched again at once, and both
``src_path`` and ``dest_path`` are matched, since editors save atomically by writing a temporary
file and renaming it over the target.
The app debounces the messages and compares content digests, so the files it (or the runner)
wrote itself are not taken for edits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from textual.message import Message

WATCHED_SUFFIXES = frozenset({".py", ".ttir", ".ttgir", ".llir", ".ptx", ".sass", ".amdgcn"})


class FilesChanged(Message):
    """Files in the watched folder were created, changed, moved into place or deleted;
    ``complete``: the event says the writer is done (closed after writing, or renamed into place),
    so the app need not wait out the debounce meant for a write still in progress."""

    def __init__(self, paths: list[Path], complete: bool = False) -> None:
        super().__init__()
        self.paths = paths
        self.complete = complete


def relevant(paths: Iterable[str | bytes | None], folder: Path) -> list[Path]:
    """The level files among an event's paths (temporary files and other folders are not)."""
    out = []
    for raw in paths:
        if not raw:
            continue
        path = Path(raw.decode() if isinstance(raw, bytes) else raw)
        if path.parent == folder and path.suffix in WATCHED_SUFFIXES and not path.name.startswith("."):
            out.append(path)
    return out


class EditWatcher:
    """One watchdog observer over one folder; ``post`` receives :class:`FilesChanged`."""

    def __init__(self, post: Callable[[Message], object]) -> None:
        self._post = post
        self._observer = None
        self.folder: Path | None = None

    def watch(self, folder: Path) -> None:
        """Watch ``folder`` (and stop watching the previous one)."""
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        folder = Path(folder).resolve()
        self.stop()
        post = self._post

        observer = Observer()
        watches: dict[str, object] = {}

        def watch_folder() -> None:  # (again, once the folder is made again: its old watch died with it)
            if "folder" in watches:
                try:
                    observer.unschedule(watches.pop("folder"))
                except (KeyError, OSError):
                    pass
            watches["folder"] = observer.schedule(handler, str(folder), recursive=False)

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:  # the observer thread: post only
                if event.event_type in ("opened", "closed_no_write"):
                    return
                if event.is_directory:  # the folder itself made again (or moved into place): all its files
                    made = [Path(p if isinstance(p, str) else p.decode()) for p in
                            (event.src_path, getattr(event, "dest_path", None)) if p]
                    if folder in made and event.event_type in ("created", "moved") and folder.is_dir():
                        watch_folder()
                        paths = relevant((str(p) for p in folder.iterdir()), folder)
                        if paths:
                            post(FilesChanged(paths))
                    return
                paths = relevant((event.src_path, getattr(event, "dest_path", None)), folder)
                if paths:
                    post(FilesChanged(paths, complete=event.event_type in ("closed", "moved")))

        handler = Handler()
        observer.schedule(handler, str(folder.parent), recursive=False)  # sees the folder made again
        watch_folder()
        observer.daemon = True
        observer.start()
        self._observer, self.folder = observer, folder

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)

"""What the Profile, Sanitize and Compare tabs share: a tool (ncu, compute-sanitizer, a second
runner) run in a process of its own, on exported versions. The runner exports each version once per session (a version is
written whole and never changes); the tool's command runs in a new process session, waited for on
a thread (minutes long), and is ended with the tab."""

from __future__ import annotations

import os
import signal
import subprocess


def error_line(err: str, status: int, what: str) -> str:
    """A failed tool command in one line: its first ``FILE:LINE: error:`` line, else its last."""
    lines = [ln for ln in err.splitlines() if ": error: " in ln] or err.strip().splitlines()[-1:]
    return lines[0] if lines else f"{what}: exit status {status}"


class ToolProcess:
    """Mixed into a tab's view; call :meth:`init_tool` in ``on_mount``."""

    def init_tool(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._exports: dict[tuple[str, str], str] = {}   # (kernel, version) -> its export

    async def export(self, spec_id: str, version: str) -> str:
        folder = self._exports.get((spec_id, version))
        if folder is None or not os.path.isfile(os.path.join(folder, "launch.json")):
            folder = (await self.app.link.request("export", kernel=spec_id, version=version, timeout=120))["folder"]
            self._exports[(spec_id, version)] = folder
        return folder

    def run_tool(self, command: list[str]) -> tuple[int, str, str]:
        """(On a thread.) The command's exit status, stdout and stderr (OSError: it could not start)."""
        self._proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      start_new_session=True)
        out, err = self._proc.communicate()
        status, self._proc = self._proc.returncode, None
        return status, out, err

    def on_unmount(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)   # the command and the tool it started

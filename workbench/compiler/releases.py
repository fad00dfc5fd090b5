"""Other Triton releases, for a second runner (``workbench compare --triton X.Y.Z``).

One Python process holds one Triton, so a second release runs in a second runner: the same
interpreter with that release's folder first on ``PYTHONPATH``. A release is a ``pip install
--target`` folder (the layout of the repository's ``.triton-versions/``), looked up in the
workbench's cache, then in the repository, and otherwise installed once into the cache.
Imports nothing heavy: the CLI calls it before any runner starts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from workbench.model.diagnostics import WorkbenchError

ROOT = Path(__file__).resolve().parents[2]   # the folder holding the workbench package
# a release as pip spells one (3.4.0, 3.5.0rc1, 3.2.0.post1): nothing else reaches pip's command line
VERSION = re.compile(r"^\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.post\d+)?$")
# pip's words for a package index it could not reach (as opposed to one that lacks the release)
_UNREACHABLE = re.compile(r"NewConnectionError|Failed to establish a new connection|Network is unreachable|"
                          r"Temporary failure in name resolution|Name or service not known|ConnectTimeout|"
                          r"Connection refused|ProxyError|No route to host|Max retries exceeded", re.IGNORECASE)


def cache_root() -> Path:
    """``<cache>/triton-versions``: beside the stage cache (``WORKBENCH_CACHE_DIR`` moves both)."""
    from workbench.compiler.cache import default_dir
    return default_dir().parent / "triton-versions"


def repo_root() -> Path:
    return ROOT / ".triton-versions"


def check_version(version: str) -> str:
    if not VERSION.match(version):
        raise WorkbenchError.at("--triton", f"{version!r} is not a Triton release (expected X.Y.Z, e.g. 3.4.0)")
    return version


def installed(folder: Path, version: str) -> bool:
    """A complete install of ``version``: its package and its own dist-info (the marker pip writes last)."""
    return (folder / "triton" / "__init__.py").is_file() and (folder / f"triton-{version}.dist-info").is_dir()


def find(version: str) -> Path | None:
    for root in (cache_root(), repo_root()):
        if installed(root / version, version):
            return root / version
    return None


def available() -> list[str]:
    """The releases unpacked in the cache or the repository, oldest first (folders only: nothing is
    imported; the app offers the newest other one)."""
    found = {d.name for root in (cache_root(), repo_root()) if root.is_dir()
             for d in root.iterdir() if VERSION.match(d.name) and installed(d, d.name)}
    return sorted(found, key=_order)


def _order(version: str) -> tuple:
    """3.4.0 < 3.5.0rc1 < 3.5.0 < 3.5.0.post1."""
    major, minor, patch, rest = re.match(r"(\d+)\.(\d+)\.(\d+)(.*)", version).groups()
    return int(major), int(minor), int(patch), not rest.startswith(("a", "b", "rc")), rest


def locate(version: str, python: str = sys.executable) -> Path:
    """The folder of ``version``, installed into the cache first where no folder has it."""
    return find(check_version(version)) or install(version, python)


def install(version: str, python: str = sys.executable) -> Path:
    """``pip install --no-deps --target`` into a temporary folder renamed into place: a release is in
    the cache whole or not at all. A failure is one line: no index reached, or no such release."""
    dest = cache_root() / version
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=dest.parent))
    print(f"installing Triton {version} into {dest} (pip install --target, once)", file=sys.stderr)
    try:
        proc = subprocess.run([python, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check",
                               "--target", str(tmp), f"triton=={version}"], check=False, capture_output=True, text=True,
                              env=dict(os.environ, PIP_RETRIES=os.environ.get("PIP_RETRIES", "1")))
        if proc.returncode != 0 or not installed(tmp, version):
            raise WorkbenchError.at("--triton", _pip_failure(version, dest, proc.stdout + proc.stderr))
        try:
            tmp.rename(dest)
        except OSError:   # another process installed it meanwhile
            if not installed(dest, version):
                raise
        return dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _pip_failure(version: str, dest: Path, log: str) -> str:
    how = f"pip install --no-deps --target {dest} triton=={version}"
    if _UNREACHABLE.search(log):
        return (f"Triton {version} is not installed here and no package index could be reached: run `{how}` "
                "where one can be, or pass --python with an interpreter that has it")
    last = next((row.strip() for row in reversed(log.splitlines()) if row.strip()), "no output")
    return f"pip could not install Triton {version} ({last[:200]}): try `{how}` yourself, or pass --python"


def runner_env(release: Path | None, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a runner: ``release`` (a folder) first on the path, then this workbench."""
    env = dict(os.environ if env is None else env)
    paths = ([str(release)] if release is not None else []) + [str(ROOT)]
    rest = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join(paths + ([rest] if rest else []))
    return env

"""The app's tests: never the developer's own config; a copy of vector_add to open."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import EXAMPLES


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    """Never read the developer's own config; no colour variables from the outside."""
    monkeypatch.setenv("WORKBENCH_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def script(tmp_path) -> Path:
    path = tmp_path / "vector_add.py"
    shutil.copy(EXAMPLES / "vector_add.py", path)
    return path

"""Fixtures for the render tests (helpers live in render_helpers.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
from render_helpers import make_repo

from releasegate.layout import RepoLayout


@pytest.fixture
def repo(tmp_path: Path) -> RepoLayout:
    return make_repo(tmp_path / "repo")

"""``releasegate --log-level``: one stderr handler, set up for the command and removed after it."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from tests.acceptance.cli import run_cli

LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) (releasegate[.\w]*): .+")


@pytest.fixture(autouse=True)
def in_repo(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(git_repo)
    return git_repo


def _records(err: str) -> list[tuple[str, str]]:
    return [m.group(1, 2) for line in err.splitlines() if (m := LINE.fullmatch(line))]


def test_debug_records_go_to_stderr_with_time_level_and_logger(capsys: pytest.CaptureFixture[str]) -> None:
    quiet = run_cli(capsys, "status")
    result = run_cli(capsys, "--log-level", "debug", "status")
    assert result.code == quiet.code == 0
    assert result.out == quiet.out  # logging never touches a command's output
    assert ("DEBUG", "releasegate.command") in _records(result.err)
    assert re.search(r"DEBUG releasegate\.command: git -C \S+ .+: exit 0 in \d+ ms", result.err)
    assert _records(quiet.err) == []


def test_the_level_comes_from_the_environment_too(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELEASEGATE_LOG_LEVEL", "DEBUG")
    assert ("DEBUG", "releasegate.command") in _records(run_cli(capsys, "status").err)
    monkeypatch.setenv("RELEASEGATE_LOG_LEVEL", "loud")
    result = run_cli(capsys, "status")
    assert result.code == 2 and "Invalid value for '--log-level'" in result.err


def test_the_cli_leaves_no_handler_or_level_behind(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), logging.getLogger("releasegate").level
    assert run_cli(capsys, "--log-level", "debug", "status").code == 0
    assert root.handlers == handlers and logging.getLogger("releasegate").level == level  # so runs never pile up handlers

"""Run the CLI in-process, as check-jsonschema's run_line does."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from releasegate.cli import main


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)

"""The library logs and never configures logging: handlers and levels are the CLI's alone."""
from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "releasegate"
CONFIGURES = re.compile(r"basicConfig\(|addHandler\(|\.setLevel\(|logging\.config|captureWarnings\(")
NAMED = re.compile(r"getLogger\((?!__name__\))([^)]*)\)")


def _library() -> list[Path]:
    return [p for p in sorted(SRC.rglob("*.py")) if "cli" not in p.relative_to(SRC).parts]


def test_only_the_cli_configures_logging() -> None:
    offenders = [f"{p.relative_to(SRC)}:{m.group(0)}" for p in _library() for m in CONFIGURES.finditer(p.read_text())]
    assert offenders == []


def test_library_loggers_live_under_releasegate() -> None:
    names = [(p.relative_to(SRC), m.group(1)) for p in _library() for m in NAMED.finditer(p.read_text())]
    assert all(name.strip("\"'").startswith("releasegate.") for _, name in names), names

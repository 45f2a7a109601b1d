from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, time, timezone
from pathlib import Path

import pytest
import regress

from releasegate.policy import FreezeWindow, schema_validator

SCHEMAS = Path(__file__).resolve().parents[2] / "policies" / "schemas"

UTC = timezone.utc


def test_weekly_window_crossing_midnight() -> None:
    window = FreezeWindow("night", days=("fri",), from_time=time(22, 0), to_time=time(6, 0))
    assert window.contains(datetime(2026, 11, 20, 23, 0, tzinfo=UTC))  # Friday 23:00
    assert window.contains(datetime(2026, 11, 21, 5, 59, tzinfo=UTC))  # Saturday 05:59
    assert not window.contains(datetime(2026, 11, 21, 6, 0, tzinfo=UTC))
    assert not window.contains(datetime(2026, 11, 20, 21, 59, tzinfo=UTC))


def test_weekly_window_in_a_time_zone() -> None:
    window = FreezeWindow("fri-pm", days=("fri",), from_time=time(15, 0), to_time=None, zone="Europe/Berlin")
    assert window.contains(datetime(2026, 11, 20, 14, 30, tzinfo=UTC))  # 15:30 in Berlin
    assert not window.contains(datetime(2026, 11, 20, 13, 30, tzinfo=UTC))  # 14:30 in Berlin
    assert not window.contains(datetime(2026, 11, 20, 23, 30, tzinfo=UTC))  # Saturday 00:30 in Berlin


def test_dated_window_is_half_open() -> None:
    start, end = datetime(2026, 12, 21, tzinfo=UTC), datetime(2027, 1, 4, tzinfo=UTC)
    window = FreezeWindow("year-end", start=start, end=end)
    assert window.contains(start) and not window.contains(end)


def _patterns(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


SCHEMA_PATTERNS = sorted({p for f in sorted(SCHEMAS.rglob("*.schema.json")) for p in _patterns(json.loads(f.read_text()))})
SAMPLES = [
    "", "a", "a\n", "a\n\n", "\na", "sentiment", "sentiment\n", "team-nlp", "nvidia-h100", "nvidia-h100\n", "16Gi",
    "16Gi\n", "500m", "1.4.0", "1.4.0\n", "1.4.0-rc.1+b.2", "e30f36948b55a0018d7a78c18e3340ade33a76a461e2ebf0013f6bbe3dd37b65",
    "e30f36948b55a0018d7a78c18e3340ade33a76a461e2ebf0013f6bbe3dd37b65\n", "2da8fab", "2da8fab\n", "22:00", "24:00\n",
    "s3://models/x/1.0.0/model.pt2", "s3://models/x\n", "http://127.0.0.1:8000/v2", "http://localhost\n/", "$", "a$", "x\r",
]


@pytest.mark.parametrize("pattern", SCHEMA_PATTERNS + ["^a$", "^[$]x$", "^a\\$$", "^(a|b$)", "a$|^b"])
def test_schema_patterns_are_read_as_ecma_262(pattern: str) -> None:
    """Every pattern of the shipped schemas gives the verdict of an ECMA-262 engine (regress) on each sample."""
    validator = schema_validator({"type": "string", "pattern": pattern})
    engine = regress.Regex(pattern)
    for sample in SAMPLES + ["$x", "a$", "b\n", "a\\"]:
        assert validator.is_valid(sample) == (engine.find(sample) is not None), (pattern, sample)

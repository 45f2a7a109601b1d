"""The throttle behind the server's repeatable log lines: one of a kind per interval, then a count."""
from __future__ import annotations

import logging
import time

import pytest

from releasegate.serve.logs import Throttle


def test_one_line_of_a_kind_per_interval_then_the_count_held_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="releasegate.test")
    throttle = Throttle(logging.getLogger("releasegate.test"), every_s=0.2)
    for i in range(5):
        throttle.log(logging.WARNING, "refused", "client %d refused", i)
    throttle.log(logging.WARNING, "other", "another kind: %s", "50% full")
    time.sleep(0.25)
    throttle.log(logging.WARNING, "refused", "client %d refused", 9)
    assert [r.getMessage() for r in caplog.records] == [
        "client 0 refused",
        "another kind: 50% full",
        "client 9 refused (4 more like it since the last one)",
    ]


def test_nothing_is_counted_or_formatted_below_the_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="releasegate.test")
    throttle = Throttle(logging.getLogger("releasegate.test"), every_s=60)
    throttle.log(logging.WARNING, "refused", "%s", object())
    throttle.log(logging.ERROR, "refused", "first error")
    assert [r.getMessage() for r in caplog.records] == ["first error"]

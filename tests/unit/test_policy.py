from __future__ import annotations

from datetime import datetime, time, timezone

from releasegate.policy import FreezeWindow

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

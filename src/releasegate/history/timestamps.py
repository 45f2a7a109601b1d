"""Points in time given on the command line: ISO 8601 with a zone, never naive."""
from __future__ import annotations

from datetime import datetime

from releasegate.errors import InputError


def parse_moment(text: str | None, flag: str) -> datetime | None:
    """``2026-11-01T12:00Z`` or ``2026-11-01T13:00+01:00`` -> aware datetime; InputError otherwise."""
    if text is None:
        return None
    cleaned = text.strip()
    if cleaned[-1:] in ("Z", "z"):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError as e:
        raise InputError(f"{flag} {text!r} is not an ISO 8601 time", "write e.g. 2026-11-01T12:00Z") from e
    if moment.tzinfo is None:
        raise InputError(f"{flag} {text!r} has no time zone",
                         "add Z (UTC) or an offset, e.g. 2026-11-01T12:00Z or 2026-11-01T13:00+01:00")
    return moment

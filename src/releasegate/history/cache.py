"""Caches in ``.git/releasegate/`` (never committed): the first-parent record, keyed by tip.

The record is extended incrementally when the branch moves forward along its first-parent
line, and read afresh when the cached tip is not on that line (a force-push, a reset).
A missing, damaged or unwritable cache only costs time.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from releasegate.history.commit_log import Commit, read_log
from releasegate.history.file_index import Record
from releasegate.history.git import Git
from releasegate.history.jsonfile import write_json

CACHE_FORMAT = 3
log = logging.getLogger(__name__)


def cached_log(git: Git, tip: str) -> Record:
    """The full first-parent record up to ``tip``, using and refreshing the cache in ``.git/releasegate``."""
    cache_file = git.git_dir() / "releasegate" / "history-log.json"
    cached = _load_cache(cache_file)
    if cached is not None:
        cached_tip, record = cached
        if cached_tip == tip:
            log.debug("history cache: up to date at %s", tip)
            return record
        newer = newer_commits(git, cached_tip, tip)
        if newer is not None:
            log.debug("history cache: extended by %d commits to %s", len(newer), tip)
            record = record.extended(newer)
            _save_cache(cache_file, tip, record)
            return record
    log.debug("history cache: %s, reading the whole record up to %s",
              "none usable" if cached is None else "its tip is not on the first-parent line", tip)
    record = Record.from_commits(read_log(git, tip))
    _save_cache(cache_file, tip, record)
    return record


def newer_commits(git: Git, cached_tip: str, tip: str) -> list[Commit] | None:
    """Commits after ``cached_tip`` when it lies on ``tip``'s first-parent chain, else None."""
    chain = git.text(["rev-list", "--first-parent", "--parents", f"{cached_tip}..{tip}"]).splitlines()
    if not chain:
        return None
    last = chain[-1].split()
    if len(last) < 2 or last[1] != cached_tip:
        return None
    return read_log(git, tip, stop=cached_tip)


def _load_cache(path: Path) -> tuple[str, Record] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != CACHE_FORMAT:
            return None
        return data["tip"], Record.from_raw(data["commits"], data["index"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # a missing or damaged cache is rebuilt from git


def _save_cache(path: Path, tip: str, record: Record) -> None:
    rows, index = record.raw()
    write_json(path, {"format": CACHE_FORMAT, "tip": tip, "commits": rows, "index": index})

"""Semantic Version 2.0.0 precedence, enough to tell an upgrade from a downgrade."""
from __future__ import annotations

import re

# semver.org's suggested regex, used with fullmatch and re.ASCII (\d is 0-9, nothing else; no match
# before a trailing newline). policies/schemas/release.schema.json spells the same pattern for ECMA-262.
_NUMERIC = r"0|[1-9]\d*"
_PRERELEASE_ID = r"0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*"
_SEMVER = re.compile(
    rf"({_NUMERIC})\.({_NUMERIC})\.({_NUMERIC})"
    rf"(?:-((?:{_PRERELEASE_ID})(?:\.(?:{_PRERELEASE_ID}))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?",
    re.ASCII,
)


def is_semver(version: str) -> bool:
    """True when ``version`` is a SemVer 2.0.0 version, exactly (no ``v`` prefix, no whitespace)."""
    return _SEMVER.fullmatch(version) is not None


def _key(version: str) -> tuple[tuple[int, int, int], tuple[tuple[int, int, str], ...] | None] | None:
    m = _SEMVER.fullmatch(version)
    if not m:
        return None
    core = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m.group(4) is None:
        return core, None
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in m.group(4).split("."))
    return core, parts


def compare(a: str, b: str) -> int | None:
    """-1, 0 or 1 as ``a`` precedes, equals or follows ``b``; None when either is not SemVer."""
    ka, kb = _key(a), _key(b)
    if ka is None or kb is None:
        return None
    if ka[0] != kb[0]:
        return -1 if ka[0] < kb[0] else 1
    pa, pb = ka[1], kb[1]
    if pa == pb:
        return 0
    if pa is None:  # a release follows its pre-releases
        return 1
    if pb is None:
        return -1
    return -1 if pa < pb else 1


def is_downgrade(old: str | None, new: str | None) -> bool:
    """True when ``new`` has lower precedence than ``old`` (both SemVer)."""
    if old is None or new is None:
        return False
    return compare(new, old) == -1

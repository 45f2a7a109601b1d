"""Who owns a path, by GitHub's CODEOWNERS rules (enough of them to check the gate's own paths).

Patterns follow gitignore with GitHub's differences: the last matching line wins, a line without
owners leaves its paths unowned, ``!`` and ``[...]`` do not exist, and ``dir/*`` owns only the
files directly in ``dir``. A leading ``/`` or a ``/`` inside the pattern anchors it at the root.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")  # GitHub uses the first that exists


@dataclass(frozen=True)
class Entry:
    line: int
    pattern: str
    owners: tuple[str, ...]


def parse(text: str) -> tuple[Entry, ...]:
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split("#", 1)[0].split()  # (an escaped `\#` in a pattern is not supported)
        if words:
            entries.append(Entry(number, words[0], tuple(words[1:])))
    return tuple(entries)


def owners_of(entries: tuple[Entry, ...], path: str) -> tuple[str, ...]:
    """The owners of ``path`` (relative, ``/``-separated); empty when nobody owns it."""
    for entry in reversed(entries):
        if _matches(entry.pattern, path):
            return entry.owners
    return ()


def unowned(entries: tuple[Entry, ...], directory: str) -> tuple[str, ...]:
    """Sample paths in ``directory`` (a file in it and one nested deeper) that have no owner."""
    base = directory.strip("/")
    probes = (f"{base}/any-file.yaml", f"{base}/any-folder/any-file.json")
    return tuple(p for p in probes if not owners_of(entries, p))


def _matches(pattern: str, path: str) -> bool:
    body = pattern.strip("/")
    if not body:
        return False
    anchored = pattern.startswith("/") or "/" in body
    regex = ("" if anchored else "(?:.*/)?") + _translate(body)
    if re.fullmatch(regex, path):
        return True
    if pattern.endswith("*") and not pattern.endswith("**"):
        return False  # `dir/*` owns the files in dir, not those in its subdirectories
    parts = path.split("/")
    return any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts)))


def _translate(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    return "".join(out)

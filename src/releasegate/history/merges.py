"""What each commit of the first-parent line brought in, for every commit at once.

One ``git log`` of the commit graph (not one Git process per commit, which made ``audit`` take
minutes on 10,000 promotions) gives, for each first-parent commit, the commits it brought in:
itself and, for a merge, its branch's commits down to main's first-parent line. From them come
the change's authors (``audit``) and its first authored moment (lead time in ``audit --dora``).
A branch that merged main into itself may bring in commits of other changes: the walk stops only
at main's first-parent line.
"""
from __future__ import annotations

from dataclasses import dataclass

from releasegate.history.git import Git


@dataclass(frozen=True)
class BroughtIn:
    authors: tuple[str, ...]  # "Name <email>" of the non-merge commits, newest first, each once
    first_authored: int  # the oldest author time among them (seconds)


def brought_in(git: Git, tip: str) -> dict[str, BroughtIn]:
    """For every commit on ``tip``'s first-parent line: what it brought in."""
    out = git.run(["log", "--format=%H%x00%at%x00%an <%ae>%x00%P", tip]).decode("utf-8", "replace")
    author_time: dict[str, int] = {}
    author: dict[str, str] = {}
    parents: dict[str, list[str]] = {}
    for line in out.splitlines():
        oid, at, who, ps = line.split("\0")
        author_time[oid], author[oid], parents[oid] = int(at), who, ps.split()
    line_oids: list[str] = []
    current: str | None = tip
    while current is not None and current in parents:
        line_oids.append(current)
        current = parents[current][0] if parents[current] else None
    on_line = set(line_oids)
    found = {}
    for oid in line_oids:
        commits = _walk(oid, parents, on_line)
        plain = sorted((c for c in commits if len(parents.get(c, [])) <= 1), key=lambda c: -author_time.get(c, 0))
        authors = tuple(dict.fromkeys(author[c] for c in plain if c in author)) or (author[oid],)
        found[oid] = BroughtIn(authors, min(author_time[c] for c in commits if c in author_time))
    return found


def _walk(oid: str, parents: dict[str, list[str]], on_line: set[str]) -> list[str]:
    brought, stack = [oid], list(parents.get(oid, [])[1:])
    seen = set(stack)
    while stack:
        commit = stack.pop()
        if commit in on_line:
            continue  # main's own history: the branch started after it
        brought.append(commit)
        for parent in parents.get(commit, []):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return brought

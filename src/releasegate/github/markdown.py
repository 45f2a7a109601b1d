"""Markdown for PR comments and step summaries, with everything from the PR escaped.

Titles, branch names, file names and messages come from people (possibly from a
fork): they must never inject Markdown, HTML, links, images or @-mentions.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

_SPECIAL = set("\\`*_{}[]()|~!")
_LEADING = set("#+-=")  # only special at the start of a line
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "@": "&#64;"}
MAX_TEXT = 1000


def escape(text: object, limit: int = MAX_TEXT) -> str:
    """``text`` as inert inline Markdown: one line, no markup, no HTML, no mentions."""
    raw = " ".join(str(text).split())
    if len(raw) > limit:
        raw = raw[: limit - 1] + "…"
    out = []
    for i, ch in enumerate(raw):
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _SPECIAL or (i == 0 and ch in _LEADING) or (ch in ".)" and raw[:i].isdigit()):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def code(text: object, limit: int = 200) -> str:
    """``text`` as inline code (file names, SHAs); HTML ``<code>`` so no backtick can close it."""
    raw = " ".join(str(text).split())
    if len(raw) > limit:
        raw = raw[: limit - 1] + "…"
    return "<code>" + "".join(_ENTITIES.get(ch, ch) for ch in raw).replace("|", "&#124;") + "</code>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; cells must already be escaped (use :func:`escape` / :func:`code`)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def details(summary: str, body: str) -> str:
    """A collapsed section; ``summary`` must already be escaped."""
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>"


def verdict(ok: bool) -> str:
    return "✅ passed" if ok else "❌ failed"

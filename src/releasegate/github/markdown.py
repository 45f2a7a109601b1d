"""Markdown for PR comments and step summaries, with everything from the PR escaped.

Titles, branch names, file names and messages come from people (possibly from a
fork): they must never inject Markdown, HTML, links or images. Besides markup,
GitHub's renderer (cmark-gfm with the autolink extension) turns bare text into
links: ``scheme://…`` (http, https, ftp), ``www.…``, e-mail addresses, also after
``mailto:``/``xmpp:``. The escapes below break each trigger without changing what
is read: the ``:`` of ``://`` and the ``.`` of ``www.`` are backslash-escaped, and
every ``@`` is the entity ``&#64;`` after an invisible WORD JOINER (U+2060), which
no e-mail address has before its ``@``. ``tests/unit/github/test_markdown.py``
renders hostile text with cmark-gfm and finds no link and no image. The ``@`` of
``@user`` is written as an entity, which cmark-gfm cannot test against GitHub's
mention filter; ``#123`` references are left as they are.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

_SPECIAL = set("\\`*_{}[]()|~!")
_LEADING = set("#+-=")  # only special at the start of a line
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "@": "&#8288;&#64;"}
MAX_TEXT = 1000


def _one_line(text: object, limit: int) -> str:
    raw = " ".join(str(text).split())
    return raw if len(raw) <= limit else raw[: limit - 1] + "…"


def _autolink_trigger(raw: str, i: int, ch: str) -> bool:
    """True for the ``:`` of ``scheme://`` and the ``.`` of ``www.`` (any case)."""
    if ch == ":":
        return raw.startswith("/", i + 1)
    return ch == "." and raw[max(i - 3, 0):i].lower() == "www"


def escape(text: object, limit: int = MAX_TEXT) -> str:
    """``text`` as inert inline Markdown: one line, no markup, no HTML, no links, ``@`` as an entity."""
    raw = _one_line(text, limit)
    out = []
    for i, ch in enumerate(raw):
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif (ch in _SPECIAL or (i == 0 and ch in _LEADING) or (ch in ".)" and raw[:i].isdigit())
              or _autolink_trigger(raw, i, ch)):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def code(text: object, limit: int = 200) -> str:
    """``text`` as inline code (file names, SHAs); HTML ``<code>`` so no backtick can close it.

    The content of ``<code>`` is still Markdown to GitHub, so it is escaped like :func:`escape`
    (backticks stay: a pair of them is a code span, literal, never a link)."""
    out = []
    raw = _one_line(text, limit)
    for i, ch in enumerate(raw):
        if ch == "|":
            out.append("&#124;")
        elif ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif (ch in _SPECIAL and ch != "`") or _autolink_trigger(raw, i, ch):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "<code>" + "".join(out) + "</code>"


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

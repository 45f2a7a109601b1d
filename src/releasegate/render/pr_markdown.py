"""Markdown for the render gate: drifted files with their diffs, problems."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from releasegate.github.markdown import code, details, escape, table

MAX_DIFF = 20000


def fenced(text: str, lang: str = "") -> str:
    """``text`` in a code fence longer than any run of backticks inside it."""
    run, best = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        best = max(best, run)
    fence = "`" * max(3, best + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def drift_markdown(drifts: Sequence[Any], checked: int) -> str:
    if not drifts:
        return f"## releasegate render ✅ up to date\n\n{checked} rendered file(s) match the release files.\n"
    rows = [[code(d.path), escape(d.status)] for d in drifts]
    parts = [
        "## releasegate render ❌ drift",
        f"{len(drifts)} rendered file(s) differ from what the release files render. "
        "Fix: run `releasegate render` and commit the result.",
        table(["file", "status"], rows),
    ]
    for d in drifts:
        diff = d.diff if len(d.diff) <= MAX_DIFF else d.diff[:MAX_DIFF] + "\n… (diff cut)"
        parts.append(details(code(d.path), fenced(diff, "diff")))
    return "\n\n".join(parts) + "\n"


def problems_markdown(problems: Sequence[Any]) -> str:
    rows = [[code(f"{p.file}:{p.line or 1}"), code(p.rule), escape(f"{p.json_path}: {p.message}"), escape(p.hint)]
            for p in problems]
    return ("## releasegate render ❌ cannot render\n\nNothing was written.\n\n"
            + table(["where", "rule", "problem", "how to fix"], rows) + "\n")

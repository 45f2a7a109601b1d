"""The GitHub Actions runtime protocol: workflow commands, outputs, step summary.

The library never prints: :func:`command` returns the line to print; outputs and the
step summary are files (``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``) written here.
"""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from releasegate.errors import InputError


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: object) -> str:
    """A workflow command line such as ``::error file=a.yaml,line=3,col=5,title=x::message``.

    Properties that are None are left out; all values are escaped so that text from a
    pull request cannot end the command early or inject another one.
    """
    props = ",".join(
        f"{key}={_escape_property(str(value))}" for key, value in properties.items() if value is not None
    )
    return f"::{name}{' ' + props if props else ''}::{_escape_data(message)}"


def annotation(level: str, message: str, *, file: str | None = None, line: int | None = None,
               col: int | None = None, title: str | None = None) -> str:
    """An ``::error``/``::warning``/``::notice`` annotation on an exact file position."""
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"annotation level must be error, warning or notice, not {level!r}")
    return command(level, message, file=file, line=line, col=col, title=title)


def write_outputs(path: Path | str | None, outputs: Mapping[str, str]) -> None:
    """Append ``outputs`` to the ``GITHUB_OUTPUT`` file (multi-line values use a random delimiter)."""
    if not path:
        return
    lines = []
    for name, value in outputs.items():
        if "\n" in value or "\r" in value:
            delimiter = f"releasegate_{secrets.token_hex(8)}"
            lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            lines.append(f"{name}={value}\n")
    _append(Path(path), "".join(lines), "GITHUB_OUTPUT")


def append_summary(path: Path | str | None, markdown: str) -> None:
    """Append ``markdown`` to the ``GITHUB_STEP_SUMMARY`` file (no-op outside Actions)."""
    if path:
        _append(Path(path), markdown.rstrip("\n") + "\n\n", "GITHUB_STEP_SUMMARY")


def failure_summary(what: str, why: str, fix: str) -> str:
    """The "what / why / how to fix" section an action writes when it fails."""
    from releasegate.github.markdown import escape

    return (
        "## ❌ releasegate could not finish\n\n"
        f"**What happened:** {escape(what, 4000)}\n\n"
        f"**Why:** {escape(why, 4000)}\n\n"
        f"**How to fix it:** {escape(fix, 4000)}\n"
    )


def _append(path: Path, text: str, name: str) -> None:
    try:
        with path.open("a", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise InputError(f"{name}={path}: cannot write: {e.strerror}", f"unset {name} or point it at a writable file") from e

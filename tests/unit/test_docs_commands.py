"""The README and docs/ name only commands and options that exist.

Every ``releasegate <command> [<subcommand>] … --option`` in a fenced code block or an inline code span
of README.md and docs/*.md is looked up in the CLI itself: a renamed or removed flag fails here
instead of in a user's terminal.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest

from releasegate.cli import COMMANDS, LazyGroup, cli
from tests.conftest import PROJECT

DOCS = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
_CALL = re.compile(r"(?:^|[\s$;|&(])releasegate\s+([a-z][a-z-]*)((?:\s+[^\s#|;&`]+)*)")
_PLACEHOLDER = re.compile(r"[A-Z<…]")  # --OPTION, --<flag>: a placeholder, not a flag


def _snippets(text: str) -> Iterator[tuple[int, str]]:
    """(line, code) for every line of a fenced block and every inline code span elsewhere."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            yield number, line
        else:
            yield from ((number, span) for span in re.findall(r"`([^`]+)`", line))


def _options(command: click.Command) -> set[str]:
    return {o for p in command.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}


def _documented() -> Iterator[tuple[str, str, list[str]]]:
    """(where, command path, tokens after it) for every releasegate call the docs show."""
    for doc in DOCS:
        for number, code in _snippets(doc.read_text(encoding="utf-8")):
            for call in _CALL.finditer(code):
                if call.group(1) in COMMANDS:
                    yield f"{doc.relative_to(PROJECT)}:{number}", call.group(1), call.group(2).split()


def test_the_docs_show_calls_at_all() -> None:
    """The scan finds what it looks for (a broken pattern would make the next test pass on nothing)."""
    assert sum(1 for _ in _documented()) > 100


def test_every_documented_option_exists() -> None:
    global_options = _options(cli) | {"--help", "-h"}
    unknown = []
    for where, name, tokens in _documented():
        command = LazyGroup.get_command(cli, click.Context(cli), name)
        assert command is not None
        path = name
        if isinstance(command, click.Group) and tokens and tokens[0] in command.commands:
            command, path = command.commands[tokens[0]], f"{name} {tokens[0]}"
        known = _options(command) | global_options
        for token in tokens:
            flag = token.strip("[]()'\",.").split("=")[0]
            if flag.startswith("--") and not _PLACEHOLDER.search(flag) and flag not in known:
                unknown.append(f"{where}: releasegate {path} {flag}")
    if unknown:
        pytest.fail("options the docs name that the CLI does not have:\n" + "\n".join(unknown))

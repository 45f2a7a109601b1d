"""CODEOWNERS matching, on the examples of GitHub's documentation ("About code owners")."""
from __future__ import annotations

from pathlib import Path

import pytest

from releasegate.github.codeowners import owners_of, parse, unowned

DOCS_EXAMPLE = """\
# This is a comment.
*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
/build/logs/ @doctocat
docs/* docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
/apps/ @octocat
/apps/github @doctocat
"""


@pytest.mark.parametrize(("path", "owners"), [
    ("README.md", ("@global-owner1", "@global-owner2")),
    ("src/app.js", ("@js-owner",)),
    ("build/logs/today.txt", ("@octocat",)),  # /build/logs/ matches, but **/logs comes later
    ("docs/getting-started.md", ("@doctocat",)),
    ("scripts/run.sh", ("@doctocat", "@octocat")),
    ("deep/down/logs/x.txt", ("@octocat",)),
    ("apps/web/index.html", ("@octocat",)),
    ("apps/github/main.go", ("@doctocat",)),
])
def test_the_last_matching_line_wins(path: str, owners: tuple[str, ...]) -> None:
    assert owners_of(parse(DOCS_EXAMPLE), path) == owners


def test_dir_star_owns_only_the_files_directly_inside() -> None:
    entries = parse("docs/* @docs\n")
    assert owners_of(entries, "docs/a.md") == ("@docs",)
    assert owners_of(entries, "docs/build-app/troubleshooting.md") == ()


def test_a_line_without_owners_leaves_paths_unowned() -> None:
    entries = parse("* @all\n/policies/\n")
    assert unowned(entries, "policies/") == ("policies/any-file.yaml", "policies/any-folder/any-file.json")
    assert unowned(entries, "environments/prod/") == ()


def test_the_shipped_codeowners_owns_the_gate() -> None:
    text = (Path(__file__).resolve().parents[3] / ".github/CODEOWNERS").read_text(encoding="utf-8")
    entries = parse(text)
    for folder in ("policies/", "environments/prod/", ".github/workflows/", ".github/rulesets/"):
        assert unowned(entries, folder) == (), folder
    assert owners_of(entries, ".github/CODEOWNERS")
    assert unowned(entries, "environments/dev/") != ()

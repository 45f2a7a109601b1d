"""Which releases the gate measures, and against what: the baseline is what the base ref says is live.

* Targets: the release files given, or those changed since ``--base`` (work tree and
  untracked files included), or -- with neither -- those changed since ``HEAD``.
* Baseline: the same file at the base ref (``git show REF:path``; ``HEAD`` when no
  ``--base``); none when the file does not exist there (a new model).
* Rollback: the candidate's version was live in this environment before (the base
  ref's history, :func:`releasegate.history.is_rollback`); with ``rollback.skipLoadTest``
  the test is skipped, because the evidence exists.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from releasegate.command import run
from releasegate.errors import GitError, InputError
from releasegate.layout import RepoLayout
from releasegate.release import Release, is_release_path, parse_release
from releasegate.validate.targets import changed_since, checked_path


def select(layout: RepoLayout, paths: Sequence[str | Path], base: str | None) -> list[str]:
    """Repository-relative release files to consider, sorted."""
    if paths:
        sources = [checked_path(layout, p) for p in paths]
        bad = [s for s in sources if not is_release_path(s)]
        if bad:
            raise InputError(f"{bad[0]}: not a release file", "give environments/<env>/releases/<model>.yaml files")
        return sorted(set(sources))
    return sorted({s for s in changed_since(layout, base or "HEAD") if is_release_path(s)})


def check_ref(layout: RepoLayout, ref: str) -> str:
    """The commit id of ``ref``; :class:`GitError` when it does not name a commit."""
    proc = run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=layout.root, check=False)
    if proc.returncode != 0:
        raise GitError(
            f"--base {ref}: not a commit in {layout.root}",
            "fetch it first (git fetch origin main), or in Actions use fetch-depth: 0",
        )
    return proc.stdout.decode().strip()


def file_at(layout: RepoLayout, ref: str, source: str) -> bytes | None:
    """The bytes of ``source`` at ``ref``, None when it does not exist there."""
    spec = f"{ref}:{source}"
    if run(["git", "cat-file", "-e", spec], cwd=layout.root, check=False).returncode != 0:
        return None
    return run(["git", "show", spec], cwd=layout.root).stdout


def baseline(layout: RepoLayout, ref: str, source: str) -> Release | None:
    """The release live at ``ref`` for ``source``; None for a new model.

    Raises :class:`InputError` when the file exists there but does not parse.
    """
    data = file_at(layout, ref, source)
    return None if data is None else parse_release(data, source)

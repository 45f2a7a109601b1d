"""Which releases the gate measures, and against what: the baseline is what the base ref says is live.

* Targets: the release files given, or those changed since ``--base`` (work tree and
  untracked files included), or -- with neither -- those changed since ``HEAD``.
* Baseline: the same file at the base ref (``git show REF:path``; ``HEAD`` when no
  ``--base``); none when the file does not exist there (a new model).
* Rollback: the candidate's version and digest were live in this environment before
  (in the base ref's history of that file); with ``rollback.skipLoadTest`` the test is
  skipped, because the evidence exists.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from releasegate.command import run
from releasegate.errors import GitError, InputError
from releasegate.layout import RepoLayout
from releasegate.release import Release, is_release_path, parse_release
from releasegate.targets import changed_since, checked_path

ROLLBACK_HISTORY_LIMIT = 500


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


def is_rollback(layout: RepoLayout, ref: str, candidate: Release, current: Release | None) -> bool:
    """Whether ``candidate`` goes back to a version (and digest) that was live in its environment."""
    if candidate.version is None or (current is not None and current.version == candidate.version):
        return False
    try:
        history = _history_module()
        if history is not None:
            return bool(history(layout, candidate, ref))
    except (AttributeError, TypeError):
        pass
    return _was_live_before(layout, ref, candidate)


def _history_module():  # type: ignore[no-untyped-def]
    """``releasegate.history``'s rollback check once it exists (its one call site)."""
    try:
        from releasegate import history
    except ImportError:
        return None
    return getattr(history, "is_rollback_release", None)


def _was_live_before(layout: RepoLayout, ref: str, candidate: Release) -> bool:
    log = run(
        ["git", "log", "--format=%H", "-n", str(ROLLBACK_HISTORY_LIMIT), ref, "--", candidate.source],
        cwd=layout.root, check=False,
    )
    if log.returncode != 0:
        raise GitError(f"cannot read the history of {candidate.source} at {ref}", "fetch full history (fetch-depth: 0)")
    for commit in log.stdout.decode().split():
        data = file_at(layout, commit, candidate.source)
        if data is None:
            continue
        try:
            old = parse_release(data, candidate.source)
        except InputError:
            continue
        if old.version == candidate.version and (candidate.sha256 is None or old.sha256 == candidate.sha256):
            return True
    return False

"""Git as the version record: what is live, what was live, and how it changed.

The functions here are the entry points other parts of releasegate use (the load-test
gate, the freeze rule through ``ValidationContext.is_rollback``):

- :func:`live_release` - the release file live in an environment at a ref (its tip).
- :func:`live_release_at` - the release file that was live at a moment in time.
- :func:`was_live` - whether a version was ever live in an environment.
- :func:`is_rollback` - whether a proposed release is a rollback to a previously-live version.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from releasegate.layout import release_source

if TYPE_CHECKING:  # imported inside the functions, so that importing a submodule stays cheap
    from releasegate.layout import RepoLayout
    from releasegate.release import Release

__all__ = ["is_rollback", "live_release", "live_release_at", "was_live"]


def live_release(layout: RepoLayout, env: str, model: str, ref: str = "HEAD") -> Release | None:
    """The release file of ``model`` in ``env`` as committed at ``ref``; None when there is none.

    Needs no history (works in a shallow clone): what is live is what the branch says.
    """
    from releasegate.history.git import open_repo
    from releasegate.release import parse_release

    git = open_repo(layout.root)
    data = git.blob_at(git.rev_parse(ref), release_source(env, model))
    return None if data is None else parse_release(data, release_source(env, model))


def live_release_at(layout: RepoLayout, env: str, model: str, at: datetime, ref: str = "HEAD") -> Release | None:
    """The release file of ``model`` in ``env`` that was live at ``at`` on ``ref``'s first-parent line."""
    from releasegate.history.query import History
    from releasegate.release import parse_release

    with History.open(layout.root, ref, paths=[release_source(env, model)], use_cache=False) as history:
        entries = [e for e in history.until(at).live([env]) if e.model == model]
        if not entries:
            return None
        data = history.git.cat_blobs([entries[0].blob])[entries[0].blob]
    return parse_release(data, release_source(env, model))


def was_live(layout: RepoLayout, env: str, model: str, version: str, ref: str = "HEAD") -> bool:
    """Whether ``version`` of ``model`` is or was ever live in ``env`` (first-parent history of ``ref``)."""
    from releasegate.history.classify import Classifier
    from releasegate.history.query import History

    with History.open(layout.root, ref, paths=[release_source(env, model)], use_cache=False) as history:
        return bool(Classifier(history).stints_of_version(env, model, version))


def is_rollback(layout: RepoLayout, release: Release, ref: str = "HEAD") -> bool:
    """Whether ``release`` takes its environment back to a release file live there before.

    A rollback is a downgrade whose file equals, byte for byte, one that was live in that
    environment before; the old version with anything else changed is a promotion.

    Such a change gets the policy's rollback fast path (``rollback.skipLoadTest``,
    ``rollback.skipSoak``, ``rollback.ignoreFreeze``). ``ref`` is the branch whose history
    is the record, normally the pull request's base (``origin/main``).
    """
    from releasegate.history.classify import Classifier, release_paths
    from releasegate.history.query import History

    if release.version is None:
        return False
    paths = release_paths([release.file_model], [release.env])
    with History.open(layout.root, ref, paths=paths, use_cache=False) as history:
        return Classifier(history).assess(release.env, release.file_model, release.version,
                                          release.document.content_id).rollback

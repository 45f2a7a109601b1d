"""The rules a pull request is judged by come from its base commit, never from the pull request.

:func:`rules_from` extracts ``policies/`` (schemas, policy pack, render configuration) of a
commit into ``.git/releasegate/rules/<tree id>/`` once (Git objects, not the work tree, so
a pull request's edits to ``policies/`` are not read), and returns a layout that reads
release files from the work tree and rules from there. The folder is named by the tree's
object id, so its content never changes and one extraction serves every later run.

Only regular files are extracted: a symbolic link or a submodule inside ``policies/`` of
the base is refused, because following it would let a committed link point the rules at
any file on the runner.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from releasegate.errors import CommandError, ConfigError, GitError
from releasegate.history.git import Git, open_repo
from releasegate.layout import RepoLayout

POLICIES = "policies"
_REGULAR = ("100644", "100755")


def rules_from(layout: RepoLayout, ref: str, git: Git | None = None) -> RepoLayout:
    """``layout`` with its rules (``policies/``) read from commit ``ref``."""
    git = git or open_repo(layout.root)
    try:
        commit = git.rev_parse(ref)
    except GitError as e:
        raise GitError(f"cannot compare with {ref!r}: {e.message}", e.hint) from e
    tree = _policies_tree(git, commit, ref)
    folder = git.git_dir() / "releasegate" / "rules" / tree
    if not (folder / POLICIES).is_dir():
        _extract(git, tree, folder, ref)
    return RepoLayout(layout.root, rules_root=folder, rules_ref=ref)


def _policies_tree(git: Git, commit: str, ref: str) -> str:
    try:
        return git.text(["rev-parse", "--verify", "-q", f"{commit}:{POLICIES}"])
    except CommandError as e:
        raise ConfigError(f"{POLICIES}/ does not exist at {ref} ({commit[:12]})",
                          "the base commit must hold the policies that judge this change; "
                          "merge policies/ into the base branch first") from e


def _entries(git: Git, tree: str) -> list[tuple[str, str, str]]:
    """(mode, blob id, path) of every entry under the tree, recursively."""
    return [(e.mode, e.oid, e.path) for e in git.ls_tree(tree)]


def _extract(git: Git, tree: str, folder: Path, ref: str) -> None:
    entries = _entries(git, tree)
    for mode, _oid, path in entries:
        if mode not in _REGULAR:
            what = "a symbolic link" if mode == "120000" else "a submodule" if mode == "160000" else f"mode {mode}"
            raise ConfigError(f"{POLICIES}/{path} at {ref} is {what}; releasegate reads only regular files as rules",
                              f"replace {POLICIES}/{path} with the file itself on the base branch")
        if ".." in PurePosixPath(path).parts or PurePosixPath(path).is_absolute():
            raise ConfigError(f"{POLICIES}/{path} at {ref}: unusable path", "rename the file")
    blobs = git.cat_blobs(oid for _mode, oid, _path in entries)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{tree[:12]}.", dir=folder.parent))
    try:
        for _mode, oid, path in entries:
            target = staging / POLICIES / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blobs[oid])
        try:
            os.replace(staging, folder)
        except OSError:
            if not (folder / POLICIES).is_dir():  # another run did not finish it either
                raise
    except OSError as e:
        raise GitError(f"cannot extract the rules of {ref} into {folder}: {e.strerror or e}",
                       "make .git/releasegate writable") from e
    finally:
        shutil.rmtree(staging, ignore_errors=True)

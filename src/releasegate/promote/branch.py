"""Commit one file onto a new branch without touching the work tree, and undo it on failure.

The commit is built with plumbing (``hash-object``, a temporary index, ``commit-tree``,
``update-ref``), so the user's checkout, index and current branch are never changed and a
failure leaves nothing behind: :class:`BranchCommit` deletes what it created.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

from releasegate.errors import CommandError, GitError
from releasegate.history.git import Git

ZERO = "0" * 40


def check_branch_name(git: Git, name: str) -> None:
    """GitError unless ``name`` is a valid, unused local branch name."""
    if not git.ok(["check-ref-format", "--branch", name]) or name.startswith("-"):
        raise GitError(f"--branch {name!r} is not a valid Git branch name",
                       "use letters, digits, '-', '_', '.' and '/', e.g. releasegate/promote-sentiment-prod")
    if git.branch_exists(name):
        raise GitError(f"branch {name!r} already exists",
                       f"pass another --branch, or delete the old one (git branch -D {name})")


@dataclass(frozen=True)
class BranchCommit:
    """A commit made by :func:`commit_file` on branch ``branch``."""

    git: Git
    branch: str
    commit: str

    def delete(self) -> None:
        """Remove the branch again (only if it still points at our commit)."""
        self.git.run(["update-ref", "-d", f"refs/heads/{self.branch}", self.commit], check=False)


def commit_file(git: Git, base: str, path: str, data: bytes, message: str, branch: str) -> BranchCommit:
    """Commit ``path`` = ``data`` on top of ``base`` as the new branch ``branch``."""
    blob = git.run(["hash-object", "-w", "--no-filters", "--stdin"], input=data).decode().strip()
    mode = _mode(git, base, path)
    fd, index = tempfile.mkstemp(prefix="releasegate-index-")
    os.close(fd)
    os.unlink(index)  # git wants to create the index file itself
    try:
        env = {"GIT_INDEX_FILE": index}
        git.run(["read-tree", base], env=env)
        git.run(["update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}"], env=env)
        tree = git.run(["write-tree"], env=env).decode().strip()
    finally:
        if os.path.exists(index):
            os.unlink(index)
    commit = git.run(["commit-tree", tree, "-p", base, "-F", "-"], input=message.encode()).decode().strip()
    try:
        git.run(["update-ref", f"refs/heads/{branch}", commit, ZERO])
    except CommandError as e:
        raise GitError(f"could not create branch {branch!r}: {e.stderr.strip()}",
                       "pass another --branch") from e
    return BranchCommit(git, branch, commit)


def _mode(git: Git, base: str, path: str) -> str:
    out = git.text(["ls-tree", base, "--", path])
    return out.split()[0] if out else "100644"


def push(git: Git, remote: str, branch: str) -> None:
    """Push ``branch`` to ``remote``; GitError with git's reason when it is rejected."""
    try:
        git.run(["push", "--porcelain", remote, f"refs/heads/{branch}:refs/heads/{branch}"], credentials=True)
    except CommandError as e:
        reason = " / ".join(line.strip() for line in e.stderr.strip().splitlines()[-4:]) or "no output"
        raise GitError(f"git push to {remote!r} was rejected: {reason}",
                       "check your push rights and the remote's branch rules, then re-run; "
                       "nothing was left behind (the local branch was removed)") from e


def delete_remote_branch(git: Git, remote: str, branch: str) -> None:
    git.run(["push", "--porcelain", remote, "--delete", f"refs/heads/{branch}"], check=False, credentials=True)

"""Which files a change touches, from Git (the event's base and head commits).

The checkout must contain both commits and their merge base: with the default
``fetch-depth: 1`` of actions/checkout it does not, and this module says so.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from releasegate.command import run, run_text
from releasegate.errors import CommandError, GitError
from releasegate.release import is_release_path

SHALLOW_HINT = (
    "fetch the full history: set `fetch-depth: 0` on actions/checkout "
    "(or run `git fetch --unshallow` before releasegate)"
)


@dataclass(frozen=True)
class ChangedFile:
    """One path a change touches; ``status`` is Git's letter (A, M, D, R, C, T)."""

    path: str
    status: str

    @property
    def deleted(self) -> bool:
        return self.status == "D"


@dataclass(frozen=True)
class TouchedEnvironments:
    """Environments whose releases or manifests a change touches; ``policy`` if it edits policies/."""

    names: tuple[str, ...]
    policy: bool


def changed_files(root: Path, base: str, head: str) -> list[ChangedFile]:
    """Files changed on ``head`` since its merge base with ``base`` (what GitHub shows in a PR)."""
    for sha in (base, head):
        _require_commit(root, sha)
    try:
        out = run_text(
            ["git", "diff", "--name-status", "-z", "--no-renames", f"{base}...{head}"], cwd=root
        )
    except CommandError as e:
        raise GitError(f"git diff {base[:12]}...{head[:12]} failed in {root}: {e.message}", SHALLOW_HINT) from e
    return _parse_name_status(out)


def _require_commit(root: Path, sha: str) -> None:
    proc = run(["git", "cat-file", "-e", f"{sha}^{{commit}}"], cwd=root, check=False)
    if proc.returncode == 0:
        return
    shallow = run_text(["git", "rev-parse", "--is-shallow-repository"], cwd=root).strip() == "true"
    where = "this shallow clone" if shallow else "this checkout"
    raise GitError(f"{root}: commit {sha} of the event is not in {where}", SHALLOW_HINT)


def _parse_name_status(out: str) -> list[ChangedFile]:
    fields = [f for f in out.split("\0") if f]
    return [ChangedFile(path=fields[i + 1], status=fields[i][:1]) for i in range(0, len(fields) - 1, 2)]


def release_env(path: str) -> str | None:
    """The environment of ``environments/<env>/releases/<model>.yaml`` (or ``.../manifests/...``)."""
    parts = PurePosixPath(path).parts
    if len(parts) >= 4 and parts[0] == "environments" and parts[2] in ("releases", "manifests"):
        return parts[1]
    return None


def validation_paths(paths: Iterable[str]) -> list[str]:
    """The release and policy files among ``paths`` (pass only files that exist after the change)."""
    return sorted(p for p in paths if is_release_path(p) or p.startswith("policies/"))


def touched_environments(paths: Sequence[str]) -> TouchedEnvironments:
    """Environments a change touches; editing ``policies/`` changes the gate itself."""
    names = sorted({env for p in paths if (env := release_env(p)) is not None})
    policy = any(PurePosixPath(p).parts[:1] == ("policies",) for p in paths)
    return TouchedEnvironments(tuple(names), policy)

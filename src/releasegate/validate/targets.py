"""Which release files a run checks: given paths, all of them, or those changed since a ref."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from releasegate.command import run_text
from releasegate.errors import CommandError, GitError, InputError
from releasegate.layout import RepoLayout
from releasegate.release import is_release_path, iter_release_paths, split_release_path


@dataclass(frozen=True)
class Selection:
    """``targets`` are checked; ``context`` files are only compared against."""

    targets: list[Path]
    context: list[Path]
    whole_repo: bool
    policy_files: tuple[str, ...] = ()  # changed files under policies/ (a change to the rules)


def select_targets(layout: RepoLayout, paths: Sequence[str | Path], *, all_files: bool,
                   base: str | None) -> Selection:
    if sum(bool(x) for x in (paths, all_files, base)) > 1:
        raise InputError("give release file paths, --all or --base, not several of them",
                         "e.g. releasegate validate --base origin/main")
    if all_files or not (paths or base):
        return Selection(list(iter_release_paths(layout)), [], whole_repo=True)
    sources = changed_since(layout, base) if base else [checked_path(layout, p) for p in paths]
    policy_files = tuple(sorted({s for s in sources if s.startswith("policies/")}))
    if policy_files:
        # A changed schema or policy can break any release: check them all.
        return Selection(list(iter_release_paths(layout)), [], whole_repo=False, policy_files=policy_files)
    targets = [layout.root / s for s in sorted(set(sources)) if is_release_path(s)]
    return Selection(targets, _same_models(layout, targets), whole_repo=False)


def checked_path(layout: RepoLayout, given: str | Path) -> str:
    """A user-given path as a repository-relative release or policy path; InputError otherwise."""
    text = str(given)
    if ".." in Path(text).parts:
        raise InputError(f"{text}: path contains '..'", "give the path of the file inside the repository")
    path = Path(text)
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.exists() and not path.is_symlink():
        raise InputError(f"{text}: no such file", "check the path (it is relative to the current directory)")
    resolved = path.resolve()
    root = layout.root.resolve()
    if root not in resolved.parents:
        raise InputError(f"{text}: resolves to {resolved}, outside the repository {root}",
                         "release files and their symlinks must stay inside the repository")
    if resolved.is_dir():
        raise InputError(f"{text}: is a directory, expected a release file",
                         "give files (environments/<env>/releases/<model>.yaml) or use --all")
    source = path.absolute().relative_to(root).as_posix() if root in path.absolute().parents \
        else resolved.relative_to(root).as_posix()
    if source.startswith("policies/"):
        return source
    split_release_path(source)  # raises with the expected layout
    return source


def changed_since(layout: RepoLayout, base: str) -> list[str]:
    """Release and policy files added or modified since the merge base with ``base`` (work tree included)."""
    merge_base = _git(layout, ["merge-base", base, "HEAD"], f"cannot compare with {base!r}").strip()
    changed = _git(layout, ["diff", "--name-only", "-z", "--no-renames", "--diff-filter=d", merge_base, "--",
                            "environments", "policies"], "cannot list changed files")
    untracked = _git(layout, ["ls-files", "-z", "--others", "--exclude-standard", "--",
                              "environments", "policies"], "cannot list untracked files")
    names = [n for n in (changed + untracked).split("\0") if n]
    return [n for n in names if n.startswith("policies/") or is_release_path(n)]


def _git(layout: RepoLayout, args: list[str], what: str) -> str:
    try:
        return run_text(["git", *args], cwd=layout.root)
    except CommandError as e:
        stderr = e.stderr.strip()
        if "not a git repository" in stderr:
            raise GitError(f"{layout.root}: not a Git repository", "--base needs a Git checkout") from e
        if "shallow" in stderr or "no merge base" in stderr.lower() or e.returncode == 1:
            raise GitError(f"{what}: no common history with the base (shallow clone?)",
                           "fetch full history: actions/checkout with fetch-depth: 0, "
                           "or git fetch --unshallow") from e
        raise GitError(f"{what}: {stderr.splitlines()[-1] if stderr else 'git failed'}",
                       f"check that {args[1] if len(args) > 1 else 'the ref'} exists; fetch it first "
                       "(git fetch origin main), or in Actions use fetch-depth: 0") from e


def _same_models(layout: RepoLayout, targets: list[Path]) -> list[Path]:
    models = {split_release_path(layout.relative(t))[1] for t in targets}
    context: list[Path] = []
    for env in layout.environment_names():
        context.extend(p for m in sorted(models) if (p := layout.release_file(env, m)).is_file())
    return context

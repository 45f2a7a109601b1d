"""Where things live in a releasegate GitOps repository.

    policies/policy-pack.yaml              rules that need time, history, reviews
    policies/schemas/release.schema.json   the schema every release file meets
    policies/schemas/environments/<env>.schema.json   per-environment tightening
    environments/<env>/releases/<model>.yaml          release files (human-edited)
    environments/<env>/manifests/                     rendered (machine-written)
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from releasegate.errors import InputError

RELEASE_SUFFIX = ".yaml"


def release_source(env: str, model: str) -> str:
    """The repository-relative path of a release file: ``environments/<env>/releases/<model>.yaml``."""
    return f"environments/{env}/releases/{model}{RELEASE_SUFFIX}"


@lru_cache(maxsize=65536)
def parse_release_source(source: str) -> tuple[str, str] | None:
    """``environments/<env>/releases/<model>.yaml`` -> ``(env, model)``; None for any other path.

    The one parser of release paths (history reads it for every path of every commit: cached).
    """
    parts = source.split("/")
    if len(parts) != 4 or parts[0] != "environments" or parts[2] != "releases":
        return None
    env, name = parts[1], parts[3]
    if not env or not name.endswith(RELEASE_SUFFIX) or len(name) <= len(RELEASE_SUFFIX):
        return None
    return env, name[: -len(RELEASE_SUFFIX)]


@dataclass(frozen=True)
class RepoLayout:
    """Paths of one GitOps repository, all derived from its root.

    ``rules_root`` is where ``policies/`` is read from when it is not the work tree: a
    pull request is judged by the rules of its base commit (:mod:`releasegate.base_rules`),
    and ``rules_ref`` names that commit in messages.
    """

    root: Path
    rules_root: Path | None = None
    rules_ref: str | None = None

    @property
    def policies_dir(self) -> Path:
        return (self.rules_root or self.root) / "policies"

    @property
    def policy_pack(self) -> Path:
        return self.policies_dir / "policy-pack.yaml"

    @property
    def schemas_dir(self) -> Path:
        return self.policies_dir / "schemas"

    @property
    def release_schema(self) -> Path:
        return self.schemas_dir / "release.schema.json"

    def environment_schema(self, env: str) -> Path:
        return self.schemas_dir / "environments" / f"{env}.schema.json"

    @property
    def environments_dir(self) -> Path:
        return self.root / "environments"

    def releases_dir(self, env: str) -> Path:
        return self.environments_dir / env / "releases"

    def manifests_dir(self, env: str) -> Path:
        return self.environments_dir / env / "manifests"

    def release_file(self, env: str, model: str) -> Path:
        return self.releases_dir(env) / f"{model}{RELEASE_SUFFIX}"

    def relative(self, path: Path) -> str:
        """``path`` relative to the root, with forward slashes (as Git and GitHub show it).

        A rules file read from the base commit is named as in the repository, with ``@<ref>``.
        """
        if self.rules_root is not None and path.is_absolute() and path.is_relative_to(self.rules_root):
            return f"{path.relative_to(self.rules_root).as_posix()}@{self.rules_ref}"
        if path.is_absolute() and self.root.is_absolute():
            try:  # the common case, without touching the file system
                return path.relative_to(self.root).as_posix()
            except ValueError:
                pass
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def environment_names(self) -> list[str]:
        """Environments that have a directory, sorted by name."""
        if not self.environments_dir.is_dir():
            return []
        return sorted(p.name for p in self.environments_dir.iterdir() if p.is_dir())


def link_on_path(root: Path, rel: str) -> str | None:
    """The first component of ``root/rel`` (below ``root``) that is a symbolic link, as a relative path; else None.

    Files under ``environments/`` and ``deploy/`` come from pull requests: a committed link
    would make releasegate read, print or delete files outside the repository.
    """
    current = root
    parts = Path(rel).parts
    for i, part in enumerate(parts):
        current = current / part
        if current.is_symlink():
            return Path(*parts[: i + 1]).as_posix()
    return None


def refuse_links(root: Path, rels: Iterable[str]) -> None:
    """Raise :class:`InputError` naming the first link found on any of ``rels`` (checked in order)."""
    for rel in rels:
        link = link_on_path(root, rel)
        if link is not None:
            raise InputError(
                f"{link} is a symbolic link; releasegate never reads, writes or deletes through links "
                "under environments/ and deploy/",
                f"replace {link} with a real file or folder (git rm {link}, then commit the content)",
            )


def find_root(start: Path | str | None = None) -> RepoLayout:
    """Find the repository root: ``start`` or its nearest parent with ``policies/`` and ``environments/``."""
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "policies").is_dir() and (candidate / "environments").is_dir():
            return RepoLayout(candidate)
    if start is not None:
        raise InputError(
            f"{start}: not a releasegate repository (no policies/ and environments/ directories)",
            "pass --root pointing at the top of your GitOps repository",
        )
    raise InputError(
        f"{here}: no releasegate repository here or in any parent directory "
        "(looked for policies/ and environments/)",
        "run releasegate inside your GitOps repository or pass --root",
    )

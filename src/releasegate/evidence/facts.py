"""What a merge decided, read from Git objects: the commit, the release files it changed, the
policy of its base, and the rendered manifests it landed. Nothing is read from the work tree."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from releasegate.errors import GitError, InputError
from releasegate.history.commit_log import ENV_PREFIX, Commit, read_log
from releasegate.history.git import Git
from releasegate.layout import parse_release_source
from releasegate.release import parse_release

POLICIES = "policies"


@dataclass(frozen=True)
class Digest:
    """A file in the repository at a commit: its path, sha256 and Git blob id."""

    name: str
    sha256: str
    blob: str

    def descriptor(self) -> dict[str, object]:
        """As an in-toto ResourceDescriptor."""
        return {"name": self.name, "digest": {"sha256": self.sha256, "gitBlob": self.blob}}


@dataclass(frozen=True)
class Merge:
    """A commit on the first-parent history that changed release files, and its base."""

    commit: Commit
    parent: str
    authors: tuple[str, ...]  # who wrote the change: authors of the merged commits (or of the squash)

    @property
    def oid(self) -> str:
        return self.commit.oid

    @property
    def rollback(self) -> bool:
        return (self.commit.trailer("Action") or "").lower() == "rollback" or self.commit.reverts is not None


@dataclass(frozen=True)
class ReleaseChange:
    """One release file as a merge left it."""

    env: str
    model: str
    file: Digest
    version: str | None
    artifact_uri: str | None
    artifact_sha256: str | None
    signature_uri: str | None = None  # spec.model.artifact.signature
    signature_sha256: str | None = None


def read_merge(git: Git, ref: str) -> Merge:
    """The first-parent commit ``ref`` with what changed under environments/; :class:`GitError` for a root commit."""
    oid = git.rev_parse(ref)
    parents = git.text(["rev-list", "--parents", "-n", "1", oid]).split()[1:]
    if not parents:
        raise GitError(f"{ref} ({oid[:12]}) has no parent: there is no base whose rules judged it",
                       "record decisions of commits that merged a change into the branch")
    parent = parents[0]
    log = read_log(git, oid, (ENV_PREFIX,), stop=parent)
    commit = next((c for c in log if c.oid == oid), None)
    if commit is None:
        raise InputError(f"{ref} ({oid[:12]}) changed no file under environments/: no release decision to record",
                         "give the merge commit of a release pull request")
    out = git.text(["log", "--no-merges", "--format=%an <%ae>", f"{parent}..{oid}"])
    authors = tuple(dict.fromkeys(line for line in out.splitlines() if line)) or (f"{commit.author} <{commit.email}>",)
    return Merge(commit, parent, authors)


def release_changes(git: Git, merge: Merge) -> list[ReleaseChange]:
    """Release files the merge added, changed or renamed (a removed file retires a model: no record)."""
    found = []
    for change in merge.commit.changes:
        key = parse_release_source(change.path)
        if key is None or change.blob is None:
            continue
        data = git.cat_blobs([change.blob])[change.blob]
        found.append(_release(key, change.path, change.blob, data))
    return found


def _release(key: tuple[str, str], path: str, blob: str, data: bytes) -> ReleaseChange:
    file = Digest(path, hashlib.sha256(data).hexdigest(), blob)
    try:
        release = parse_release(data, path)
    except InputError:
        return ReleaseChange(key[0], key[1], file, None, None, None)
    artifact = _mapping(release.data, "spec", "model", "artifact")
    signature = _mapping(artifact, "signature")
    return ReleaseChange(key[0], key[1], file, release.version, _text(artifact.get("uri")), release.sha256,
                         _text(signature.get("uri")), _text(signature.get("sha256")))


def _mapping(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        value = data.get(key)
        data = value if isinstance(value, dict) else {}
    return data


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def files_at(git: Git, ref: str, paths: list[str]) -> list[Digest]:
    """The files among ``paths`` that exist at ``ref``, with their digests."""
    entries = _tree(git, ref, paths)
    blobs = git.cat_blobs(oid for _, oid in entries)
    return [Digest(path, hashlib.sha256(blobs[oid]).hexdigest(), oid) for path, oid in entries]


def policy_digest(git: Git, ref: str) -> tuple[str, str]:
    """``(tree id, sha256)`` of ``policies/`` at ``ref``. The sha256 is that of the sorted lines
    ``<sha256 of file>  policies/<path>`` (``sha256sum`` format), so anyone can recompute it."""
    tree = git.text(["rev-parse", "--verify", "-q", f"{ref}:{POLICIES}"], check=False)
    if not tree:
        raise GitError(f"{POLICIES}/ does not exist at {ref[:12]}", "the base of a release decision holds its policies")
    lines = "".join(f"{d.sha256}  {d.name}\n" for d in sorted(files_at(git, ref, [POLICIES]), key=lambda d: d.name))
    return tree, hashlib.sha256(lines.encode()).hexdigest()


def _tree(git: Git, ref: str, paths: list[str]) -> list[tuple[str, str]]:
    """(path, blob id) of the regular files under ``paths`` at ``ref``."""
    return [(e.path, e.oid) for e in git.ls_tree(ref, paths, check=False)
            if e.kind == "blob" and e.mode in ("100644", "100755")]

"""Where records live: ``evidence/<env>/<model>/<version>-<commit12>.intoto.jsonl``.

On a branch of their own (default ``releasegate/evidence``), written with Git plumbing (a
private index, ``commit-tree``, ``update-ref``): nothing is checked out, the branch the work tree
is on never moves, and a record already on the branch is never replaced. Or in a folder (the
work tree), for repositories that commit records themselves. Each file is JSON Lines: one DSSE
envelope per line.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from releasegate.errors import GitError, InputError
from releasegate.history.git import Git

EVIDENCE = "evidence"
SUFFIX = ".intoto.jsonl"
MAX_RECORD_BYTES = 1024 * 1024
_ZERO = "0" * 40


@dataclass(frozen=True)
class RecordName:
    """What a record's path says: environment, model, version and the commit (12 hex)."""

    env: str
    model: str
    version: str
    commit: str


def record_path(env: str, model: str, version: str | None, commit: str) -> str:
    return f"{EVIDENCE}/{env}/{model}/{version or 'unversioned'}-{commit[:12]}{SUFFIX}"


def parse_record_path(path: str) -> RecordName | None:
    parts = PurePosixPath(path).parts
    if len(parts) != 4 or parts[0] != EVIDENCE or not parts[3].endswith(SUFFIX):
        return None
    version, _, commit = parts[3][: -len(SUFFIX)].rpartition("-")
    if not version or len(commit) != 12:
        return None
    return RecordName(parts[1], parts[2], version, commit)


def encode(envelopes: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in envelopes).encode()


def write_to_folder(root: Path, files: Mapping[str, bytes]) -> tuple[list[str], list[str]]:
    """Write the records under ``root``; ``(written, already there)``. Existing files are kept."""
    written, kept = [], []
    for path, data in sorted(files.items()):
        target = root / path
        if target.exists() or target.is_symlink():
            kept.append(path)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(path)
    return written, kept


def write_to_branch(git: Git, branch: str, files: Mapping[str, bytes], message: str) -> tuple[str | None, list[str], list[str]]:
    """Commit the records onto ``branch`` (created when absent); ``(commit or None, written, already there)``."""
    ref = f"refs/heads/{branch}"
    if not git.ok(["check-ref-format", ref]):
        raise InputError(f"--branch {branch!r} is not a valid branch name", "use a name such as releasegate/evidence")
    if f"branch {ref}" in git.text(["worktree", "list", "--porcelain"]).splitlines():
        raise InputError(f"--branch {branch} is checked out in a worktree; records are committed without a checkout, "
                         "and moving a checked-out branch would leave that work tree behind",
                         "switch that worktree to another branch (or remove it) and run it again")
    parent = git.text(["rev-parse", "--verify", "-q", ref], check=False) or None
    existing = set(read_paths(git, parent)) if parent else set()
    new = {p: d for p, d in files.items() if p not in existing}
    kept = sorted(set(files) - set(new))
    if not new:
        return None, [], kept
    with tempfile.TemporaryDirectory(prefix="releasegate-evidence-") as folder:
        env = {"GIT_INDEX_FILE": str(Path(folder) / "index"), **_identity(git)}
        if parent:
            git.run(["read-tree", parent], env=env)
        for path, data in sorted(new.items()):
            oid = git.run(["hash-object", "-w", "--stdin"], input=data).decode().strip()
            git.run(["update-index", "--add", "--cacheinfo", f"100644,{oid},{path}"], env=env)
        tree = git.run(["write-tree"], env=env).decode().strip()
        args = ["commit-tree", tree, "-m", message] + (["-p", parent] if parent else [])
        commit = git.run(args, env=env).decode().strip()
    git.run(["update-ref", "-m", "releasegate evidence record", ref, commit, parent or _ZERO])
    return commit, sorted(new), kept


def _identity(git: Git) -> dict[str, str]:
    """A committer identity for CI runners that have none configured (the environment's wins)."""
    if os.environ.get("GIT_COMMITTER_NAME") or git.text(["config", "user.name"], check=False):
        return {}
    who = {"NAME": "releasegate", "EMAIL": "releasegate@users.noreply.github.com"}
    return {f"GIT_{role}_{key}": value for role in ("AUTHOR", "COMMITTER") for key, value in who.items()}


def read_paths(git: Git, ref: str) -> list[str]:
    return [path for path, _, _ in _entries(git, ref)]


def read_from_ref(git: Git, ref: str) -> tuple[dict[str, bytes], list[str]]:
    """The record files under ``evidence/`` at ``ref``, and the paths refused (links, oversized)."""
    entries = _entries(git, ref)
    refused = [p for p, mode, _ in entries if mode not in ("100644", "100755")]
    regular = [(p, oid) for p, mode, oid in entries if mode in ("100644", "100755")]
    blobs = git.cat_blobs(oid for _, oid in regular)
    found = {}
    for path, oid in regular:
        if len(blobs.get(oid, b"")) > MAX_RECORD_BYTES:
            refused.append(path)
        else:
            found[path] = blobs.get(oid, b"")
    return found, refused


def read_from_folder(root: Path) -> tuple[dict[str, bytes], list[str]]:
    """The record files under ``root/evidence/`` (links are refused, not followed)."""
    base = root / EVIDENCE
    found: dict[str, bytes] = {}
    refused: list[str] = []
    if not base.is_dir() or base.is_symlink():
        return found, refused
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink() or (path.is_file() and path.stat().st_size > MAX_RECORD_BYTES):
            refused.append(rel)
        elif path.is_file():
            found[rel] = path.read_bytes()
    return found, refused


def _entries(git: Git, ref: str) -> list[tuple[str, str, str]]:
    if not git.ok(["rev-parse", "--verify", "-q", f"{ref}^{{commit}}"]):
        raise GitError(f"the evidence ref {ref!r} does not exist", "fetch it (git fetch origin releasegate/evidence) or "
                       "record a decision first (releasegate evidence record)")
    out = git.run(["ls-tree", "-r", "-z", "--full-tree", ref, "--", EVIDENCE])
    entries = []
    for record in out.decode("utf-8", "surrogateescape").split("\0"):
        if record:
            meta, path = record.split("\t", 1)
            mode, _kind, oid = meta.split()
            entries.append((path, mode, oid))
    return entries

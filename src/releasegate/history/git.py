"""Thin, batched access to the Git repository behind a releasegate layout.

Every call goes through :func:`releasegate.command.run`; reading many blobs is one
``git cat-file --batch`` process, never one process per object.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from releasegate.command import run
from releasegate.errors import CommandError, GitError

AUTO_UNSHALLOW_ENV = "RELEASEGATE_AUTO_UNSHALLOW"
SHALLOW_HINT = (
    "fetch the full history: in GitHub Actions set `fetch-depth: 0` on actions/checkout "
    "(with: fetch-depth: 0); locally run `git fetch --unshallow`; or pass --deepen "
    f"(or set {AUTO_UNSHALLOW_ENV}=1) to let releasegate run it"
)


@dataclass(frozen=True)
class TreeEntry:
    """One line of ``git ls-tree``: mode (100644, 120000 for a link, 160000 a submodule), kind, object id, path."""

    mode: str
    kind: str
    oid: str
    path: str


@dataclass(frozen=True)
class Git:
    """A Git work tree rooted at ``root`` (the GitOps repository root)."""

    root: Path
    common_dir: Path | None = None  # filled in by open_repo (one rev-parse for all three)
    shallow: bool | None = None

    def run(self, args: Sequence[str], *, input: bytes | None = None, check: bool = True,
            env: dict[str, str] | None = None, credentials: bool = False) -> bytes:
        """Run git; only ``credentials`` (a push) lets the environment's tokens through."""
        proc = run(["git", "-C", str(self.root), *args], input=input, check=check, env={**_GIT_ENV, **(env or {})},
                   credentials=credentials)
        return proc.stdout

    def text(self, args: Sequence[str], *, check: bool = True) -> str:
        return self.run(args, check=check).decode("utf-8", "replace").strip()

    def ok(self, args: Sequence[str]) -> bool:
        """Run ``args`` and say whether git exited 0 (for questions such as ``rev-parse --verify``)."""
        proc = run(["git", "-C", str(self.root), *args], check=False, env=_GIT_ENV)
        return proc.returncode == 0

    def rev_parse(self, ref: str) -> str:
        """The full commit id of ``ref``; :class:`GitError` naming the ref when it does not exist."""
        out = run(
            ["git", "-C", str(self.root), "rev-parse", "--verify", "-q", f"{ref}^{{commit}}"],
            check=False,
            env=_GIT_ENV,
        )
        if out.returncode != 0:
            raise GitError(
                f"git ref {ref!r} does not name a commit in {self.root}",
                "pass an existing branch, tag or commit (see `git branch -a`)",
            )
        return out.stdout.decode().strip()

    def git_dir(self) -> Path:
        """The common .git directory (shared by all worktrees)."""
        if self.common_dir is not None:
            return self.common_dir
        path = Path(self.text(["rev-parse", "--git-common-dir"]))
        return path if path.is_absolute() else (self.root / path).resolve()

    def is_shallow(self) -> bool:
        if self.shallow is not None:
            return self.shallow
        return self.text(["rev-parse", "--is-shallow-repository"]) == "true"

    def remotes(self) -> list[str]:
        return self.text(["remote"]).split()

    def current_branch(self) -> str | None:
        """The checked-out branch name, or None on a detached HEAD."""
        proc = run(
            ["git", "-C", str(self.root), "symbolic-ref", "-q", "--short", "HEAD"],
            check=False,
            env=_GIT_ENV,
        )
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def dirty_paths(self) -> list[str]:
        """Tracked files with uncommitted changes (staged or not); a rename names both paths."""
        out = self.run(["status", "--porcelain", "-z", "--untracked-files=no"])
        return _parse_status_z(out.decode("utf-8", "replace"))

    def branch_exists(self, name: str) -> bool:
        return self.ok(["rev-parse", "--verify", "-q", f"refs/heads/{name}"])

    def blob_at(self, ref: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``ref``, or None when it does not exist there."""
        proc = run(
            ["git", "-C", str(self.root), "cat-file", "blob", f"{ref}:{path}"],
            check=False,
            env=_GIT_ENV,
        )
        return proc.stdout if proc.returncode == 0 else None

    def ls_tree(self, tree: str, paths: Sequence[str] = (), *, check: bool = True) -> list[TreeEntry]:
        """Every entry under ``tree`` (a tree id or a commit), recursively, optionally limited to ``paths``."""
        out = self.run(["ls-tree", "-r", "-z", "--full-tree", tree, *(["--", *paths] if paths else [])], check=check)
        entries = []
        for record in out.decode("utf-8", "surrogateescape").split("\0"):
            if record:
                meta, path = record.split("\t", 1)
                mode, kind, oid = meta.split()
                entries.append(TreeEntry(mode, kind, oid, path))
        return entries

    def cat_blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        """Contents of many blobs in one ``git cat-file --batch`` call."""
        wanted = list(dict.fromkeys(oids))
        if not wanted:
            return {}
        out = self.run(["cat-file", "--batch"], input="\n".join(wanted).encode() + b"\n")
        return _parse_batch(out)

    def objects(self, names: Iterable[str]) -> dict[str, bytes | None]:
        """The contents of many objects named like ``rev:path`` or ``oid^{commit}``, in one
        ``git cat-file --batch`` call; None for a name that names nothing (or holds a newline)."""
        wanted = list(dict.fromkeys(names))
        found: dict[str, bytes | None] = {n: None for n in wanted}
        asked = [n for n in wanted if "\n" not in n and n.strip() == n and n]
        if not asked:
            return found
        out = self.run(["cat-file", "--batch"], input="\n".join(asked).encode("utf-8", "surrogateescape") + b"\n")
        pos = 0
        for name in asked:  # answers come in the order asked: "<oid> <type> <size>\n<content>\n" or "<name> missing"
            end = out.index(b"\n", pos)
            header = out[pos:end].rsplit(b" ", 2)
            if len(header) == 3 and header[2].isdigit() and header[1] in (b"blob", b"commit", b"tree", b"tag"):
                size = int(header[2])
                found[name] = out[end + 1 : end + 1 + size]
                pos = end + 1 + size + 1
            else:
                pos = end + 1
        return found


def _parse_status_z(out: str) -> list[str]:
    """The paths of ``git status --porcelain -z`` (v1): ``XY PATH\\0``, or for a rename or copy
    ``XY PATH\\0ORIG_PATH\\0`` with the original in a field of its own. A rename's original is
    gone from the tree, so it is listed too; a copy's is listed only when its own entry says so."""
    fields = out.split("\0")
    paths: list[str] = []
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if not entry:
            continue
        status, name = entry[:2], entry[3:]
        paths.append(name)
        if "R" in status or "C" in status:
            original = fields[i] if i < len(fields) else ""
            i += 1
            if "R" in status and original:
                paths.append(original)
    return paths


def _parse_batch(out: bytes) -> dict[str, bytes]:
    blobs: dict[str, bytes] = {}
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        if len(header) < 3 or header[1] == b"missing":
            pos = end + 1
            continue
        size = int(header[2])
        blobs[header[0].decode()] = out[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
    return blobs


# Keep user configuration from changing what plumbing prints.
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}


def open_repo(root: Path) -> Git:
    """The Git repository at ``root``; :class:`GitError` when ``root`` is not inside one."""
    proc = run(["git", "-C", str(root), "rev-parse", "--git-common-dir", "--is-shallow-repository"],
               check=False, env=_GIT_ENV)
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    if proc.returncode != 0 or len(lines) != 2:
        raise GitError(
            f"{root}: not a Git repository",
            "releasegate reads the release record from Git: run it inside a clone "
            "of your GitOps repository (git clone ...), or `git init` and commit the files first",
        )
    common = Path(lines[0]) if Path(lines[0]).is_absolute() else (Path(root) / lines[0]).resolve()
    return Git(Path(root), common, lines[1] == "true")


def ensure_full_history(git: Git, deepen: bool = False) -> None:
    """Refuse to read history from a shallow clone, or deepen it when allowed.

    Deepening runs ``git fetch --unshallow <remote>`` when ``deepen`` is set or the
    environment variable ``RELEASEGATE_AUTO_UNSHALLOW`` is ``1``/``true`` and a remote exists.
    """
    if not git.is_shallow():
        return
    allowed = deepen or os.environ.get(AUTO_UNSHALLOW_ENV, "").lower() in ("1", "true", "yes")
    remotes = git.remotes()
    if allowed and remotes:
        remote = "origin" if "origin" in remotes else remotes[0]
        try:
            git.run(["fetch", "--quiet", "--unshallow", remote], credentials=True)
        except CommandError as e:
            raise GitError(f"{git.root}: could not deepen the shallow clone: {e.message}", SHALLOW_HINT) from e
        object.__setattr__(git, "shallow", False)  # the recorded answer is out of date now
        return
    why = "and it has no remote to fetch from" if allowed else "so its history is incomplete"
    raise GitError(
        f"{git.root}: this is a shallow clone {why}; releasegate will not report "
        "status, history or policy from partial history",
        SHALLOW_HINT,
    )

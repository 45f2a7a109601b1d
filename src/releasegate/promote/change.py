"""A release change to propose: one file, old and new bytes, and how to describe it.

The commit message carries machine-readable trailers (``Releasegate-Action``,
``-Model``, ``-Environment``, ``-Version``, ...) that ``status`` and ``history`` read back.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import yaml

from releasegate.history.blobs import summarise
from releasegate.rollout.state import Rollout, read_rollout

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The command that opens each kind of change, named in the pull request.
COMMANDS = {"advance": "rollout advance", "complete": "rollout complete", "abort": "rollout abort"}


@dataclass(frozen=True)
class ReleaseChange:
    """Writing ``new`` to ``path`` on a new ``branch`` forked from ``base_commit`` of ``base_branch``."""

    action: str  # "promote", "rollback", or a canary's "advance", "complete", "abort"
    model: str
    env: str
    path: str
    old: bytes | None
    new: bytes
    source: str  # where the new bytes come from, in words
    source_env: str | None
    source_commit: str
    reverts: str | None  # the promoting commit, when the rollback is its revert
    reverts_subject: str | None
    branch: str
    base_branch: str
    base_commit: str
    title: str | None = None  # the subject, where the action's default does not say enough
    notes: tuple[tuple[str, str], ...] = ()  # more Releasegate-* trailers (name without prefix, value)
    labels: tuple[str, ...] = ()  # pull request labels
    rationale: str = ""  # Markdown for the pull request: why it is opened (an alert, a canary analysis), escaped
    command: str | None = None  # the command named at the end of the pull request (default: the action's)

    @property
    def old_version(self) -> str | None:
        return summarise(self.old).version if self.old is not None else None

    @property
    def new_version(self) -> str | None:
        return summarise(self.new).version

    def subject(self) -> str:
        if self.title is not None:
            return self.title
        if self.reverts is not None:
            return f'Revert "{self.reverts_subject}"'
        if self.action == "rollback":
            return f"Roll back {self.model} in {self.env} to {self.new_version}"
        origin = f" from {self.source_env}" if self.source_env else ""
        return f"Promote {self.model} {self.new_version} to {self.env}{origin}"

    def trailers(self) -> list[tuple[str, str]]:
        rows = [("Action", self.action), ("Model", self.model), ("Environment", self.env),
                ("Version", str(self.new_version))]
        if self.old_version is not None:
            rows.append(("Previous-Version", self.old_version))
        if self.source_env is not None:
            rows.append(("Source-Environment", self.source_env))
        rows.append(("Source-Commit", self.source_commit))
        rows += list(self.notes)
        return [(f"Releasegate-{k}", v) for k, v in rows]

    def message(self) -> str:
        body = [self.subject(), ""]
        if self.reverts is not None:
            body += [f"This reverts commit {self.reverts}.", ""]
        body += [f"{self.path}: {self.old_version or '(new)'} -> {self.new_version}", f"Content: {self.source}.", ""]
        body += [f"{k}: {v}" for k, v in self.trailers()]
        return "\n".join(body) + "\n"

    def diff(self) -> str:
        old = (self.old or b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = self.new.decode("utf-8", "replace").splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"a/{self.path}", f"b/{self.path}"))

    def pr_body(self, html_url: str | None = None) -> str:
        old, new = summarise(self.old) if self.old is not None else None, summarise(self.new)
        link = (lambda ref, p: f"[{p}]({html_url}/blob/{ref}/{p})") if html_url else (lambda ref, p: f"`{p}`")
        commit = f"[{self.source_commit[:10]}]({html_url}/commit/{self.source_commit})" if html_url \
            else f"`{self.source_commit[:10]}`"
        lines = [f"**{self.action.capitalize()}** `{self.model}` in **{self.env}**: "
                 f"{old.version if old else '(new)'} → **{new.version}**", "",
                 f"| | {self.env} now | this pull request |", "|---|---|---|",
                 f"| version | {old.version if old else '-'} | {new.version} |",
                 f"| digest | `{(old.digest or '-')[:16] if old else '-'}` | `{(new.digest or '-')[:16]}` |",
                 *self._rollout_row(), "",
                 f"File: {link(self.branch, self.path)}", f"Content: {self.source} (at {commit}).", ""]
        if self.reverts is not None:
            lines += [f"Reverts {self.reverts} ({self.reverts_subject}).", ""]
        if self.rationale:
            lines += [self.rationale.rstrip("\n"), ""]
        command = self.command or COMMANDS.get(self.action, self.action)
        lines += ["<details><summary>Diff</summary>", "", "```diff", self.diff().rstrip("\n"), "```", "",
                  "</details>", "", f"Opened by `releasegate {command}`."]
        return "\n".join(lines) + "\n"

    def _rollout_row(self) -> list[str]:
        """``| rollout | canary step 1/3 (10 %) | canary step 2/3 (50 %) |`` when a canary is involved."""
        old, new = _rollout(self.old), _rollout(self.new)
        if old.strategy != "canary" and new.strategy != "canary":
            return []
        return [f"| rollout | {old.describe() if self.old is not None else '-'} | {new.describe()} |"]


def _rollout(data: bytes | None) -> Rollout:
    try:
        return read_rollout(yaml.load(data or b"", Loader=_Loader))
    except yaml.YAMLError:
        return read_rollout(None)

"""The values validation works with: violations, the rule interface, the context rules read.

Kept apart from :mod:`releasegate.validate.engine` so that the rules and the engine both
import it and neither imports the other's module at call time.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from releasegate.layout import RepoLayout
from releasegate.policy import PolicyPack
from releasegate.release import Release

if TYPE_CHECKING:
    from releasegate.validate.history_facts import HistoryFacts
    from releasegate.validate.policy_change import PolicyChange

JsonPath = tuple[Any, ...]


@dataclass(frozen=True)
class Violation:
    """One broken rule, at one place in one file."""

    file: str
    line: int
    column: int
    path: str
    rule: str
    message: str
    hint: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "path": self.path,
                "rule": self.rule, "message": self.message, "hint": self.hint}


def json_path(path: JsonPath) -> str:
    """``("spec", "model", 0)`` -> ``$.spec.model[0]``."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def violation_at(release: Release, path: JsonPath, rule: str, message: str, hint: str = "",
                 *, at_key: bool = False) -> Violation:
    """A violation positioned at ``path`` of ``release`` (its key when ``at_key``)."""
    doc = release.document
    line, column = doc.key_position(path) if at_key else doc.position(path)
    return Violation(release.source, line, column, json_path(path), rule, message, hint)


@dataclass(frozen=True)
class ValidationContext:
    """Everything a rule may look at (read-only). ``targets`` are the releases under check."""

    layout: RepoLayout
    policy: PolicyPack
    releases: tuple[Release, ...]
    targets: tuple[Release, ...]
    now: datetime
    base: str | None = None
    changed: bool = False  # targets are a change (paths or --base), not the whole repo
    history: HistoryFacts | None = None  # for a change in a Git repository

    @cached_property
    def _by_model(self) -> Mapping[str, tuple[Release, ...]]:
        index: dict[str, list[Release]] = {}
        for release in self.releases:
            index.setdefault(release.file_model, []).append(release)
        return {model: tuple(found) for model, found in index.items()}

    def others(self, model: str) -> tuple[Release, ...]:
        """Every loaded release of ``model``, in any environment."""
        return self._by_model.get(model, ())

    def is_rollback(self, release: Release) -> bool:
        """Whether the target ``release`` is a rollback (the policy's fast path), from history."""
        return self.history is not None and self.history.is_rollback(release)


class Rule(Protocol):
    id: str

    def check(self, ctx: ValidationContext) -> Iterable[Violation]: ...


@dataclass(frozen=True)
class ValidationResult:
    checked: tuple[str, ...]
    violations: tuple[Violation, ...]
    policy_change: PolicyChange | None = None  # the change touches policies/ (judged by the base's)
    rules_ref: str | None = None  # the commit whose policies/ judged this run (None: the work tree)

    @property
    def ok(self) -> bool:
        return not self.violations

"""The validation engine: load releases, run every rule, collect every violation.

Rules are small objects with an ``id`` and a ``check(ctx)`` method (see
:mod:`releasegate.rules`). Rules that need Git history or GitHub plug in through the
same seam: pass them in ``rules`` or add them to :func:`releasegate.rules.default_rules`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from releasegate.errors import InputError
from releasegate.layout import RepoLayout
from releasegate.policy import PolicyPack, load_policy_pack
from releasegate.release import Release, load_release
from releasegate.targets import Selection, select_targets
from releasegate.yamlio import YamlError

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


@dataclass
class ValidationContext:
    """Everything a rule may look at. ``targets`` are the releases under check."""

    layout: RepoLayout
    policy: PolicyPack
    releases: list[Release]
    targets: list[Release]
    now: datetime
    base: str | None = None
    changed: bool = False  # targets are a change (paths or --base), not the whole repo
    is_rollback: Callable[[Release], bool] = field(default=lambda release: False)

    _by_model: dict[str, list[Release]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        for release in self.releases:
            self._by_model.setdefault(release.file_model, []).append(release)

    def others(self, model: str) -> list[Release]:
        """Every loaded release of ``model``, in any environment."""
        return self._by_model.get(model, [])


class Rule(Protocol):
    id: str

    def check(self, ctx: ValidationContext) -> Iterable[Violation]: ...


@dataclass(frozen=True)
class ValidationResult:
    checked: tuple[str, ...]
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


def run_validation(
    layout: RepoLayout,
    paths: Sequence[str | Path] = (),
    *,
    all_files: bool = False,
    base: str | None = None,
    now: datetime | None = None,
    rules: Sequence[Rule] | None = None,
) -> ValidationResult:
    """Validate the selected release files; raises InputError/ConfigError for unusable input."""
    from releasegate.rules import default_rules

    policy = load_policy_pack(layout)
    selection = select_targets(layout, paths, all_files=all_files, base=base)
    targets, context_paths, load_violations = _load(layout, selection)
    releases = _merge(targets, context_paths, layout)
    ctx = ValidationContext(layout, policy, releases, targets, _aware_now(now), base,
                            changed=not selection.whole_repo)
    violations = list(load_violations)
    for rule in rules if rules is not None else default_rules(ctx):
        violations.extend(rule.check(ctx))
    violations.sort(key=lambda v: (v.file, v.line, v.column, v.rule))
    return ValidationResult(tuple(layout.relative(p) for p in selection.targets), tuple(violations))


def _aware_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise InputError(f"--now {now.isoformat()} has no time zone", "add Z or an offset, e.g. 2026-11-01T12:00Z")
    return now


def _load(layout: RepoLayout, selection: Selection) -> tuple[list[Release], list[Path], list[Violation]]:
    targets: list[Release] = []
    violations: list[Violation] = []
    for path in selection.targets:
        try:
            targets.append(load_release(layout, path))
        except YamlError as e:
            violations.append(Violation(e.source, e.line, e.column, "$", "yaml", e.problem, e.hint or ""))
    return targets, selection.context, violations


def _merge(targets: list[Release], context_paths: list[Path], layout: RepoLayout) -> list[Release]:
    """All releases the rules may compare against: targets plus readable context files."""
    releases = list(targets)
    seen = {r.source for r in targets}
    for path in context_paths:
        source = layout.relative(path)
        if source in seen:
            continue
        try:
            releases.append(load_release(layout, path))
        except InputError:
            continue  # an unreadable file outside the change is reported when it is checked itself
    return releases

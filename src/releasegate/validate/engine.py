"""The validation engine: load releases, run every rule, collect every violation.

Rules are small objects with an ``id`` and a ``check(ctx)`` method (see
:mod:`releasegate.validate.rules`). Rules that need Git history or GitHub plug in through the
same seam: pass them in ``rules`` or add them to :func:`releasegate.validate.rules.default_rules`.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from releasegate.base_rules import rules_from
from releasegate.errors import InputError
from releasegate.layout import RepoLayout
from releasegate.policy import load_policy_pack
from releasegate.release import Release, load_release
from releasegate.validate.context import Rule, ValidationContext, ValidationResult, Violation
from releasegate.validate.history_facts import open_history_facts
from releasegate.validate.policy_change import describe_policy_change
from releasegate.validate.rules import default_rules
from releasegate.validate.targets import Selection, select_targets
from releasegate.yamlio import YamlError

log = logging.getLogger(__name__)


def run_validation(
    layout: RepoLayout,
    paths: Sequence[str | Path] = (),
    *,
    all_files: bool = False,
    base: str | None = None,
    now: datetime | None = None,
    rules: Sequence[Rule] | None = None,
    rules_ref: str | None = None,
    policy_files: Sequence[str] = (),
) -> ValidationResult:
    """Validate the selected release files; raises InputError/ConfigError for unusable input.

    The rules (``policies/``) come from ``rules_ref``, else from ``base``, else from the
    work tree: a change is judged by the rules of its base, never by its own.
    ``policy_files`` adds changed ``policies/`` paths the selection cannot see (removed files).
    """
    selection = select_targets(layout, paths, all_files=all_files, base=base)
    judge_by = rules_ref or base
    rules_layout = rules_from(layout, judge_by) if judge_by else layout
    policy = load_policy_pack(rules_layout)
    targets, context_paths, load_violations = _load(layout, selection)
    releases = _merge(targets, context_paths, layout)
    changed = not selection.whole_repo
    history = open_history_facts(layout, policy, targets, base or rules_ref, changed)
    ctx = ValidationContext(rules_layout, policy, tuple(releases), tuple(targets), _aware_now(now), base, changed, history)
    violations = list(load_violations)
    active = rules if rules is not None else default_rules(ctx)
    for rule in active:
        violations.extend(rule.check(ctx))
    log.debug("%d release files checked (%d more as context) by %d rules from %s: %d violations",
              len(targets), len(releases) - len(targets), len(active), judge_by or "the work tree", len(violations))
    violations.sort(key=lambda v: (v.file, v.line, v.column, v.rule))
    changed_rules = sorted(set(selection.policy_files) | set(policy_files))
    change = describe_policy_change(rules_layout, layout, changed_rules) if changed_rules and judge_by else None
    return ValidationResult(tuple(layout.relative(p) for p in selection.targets), tuple(violations), change, judge_by)


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
        except InputError as e:
            log.debug("context file %s left out: %s", source, e)
            continue  # an unreadable file outside the change is reported when it is checked itself
    return releases

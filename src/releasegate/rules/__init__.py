"""The validation rules. Each is an object with an ``id`` and ``check(ctx)``.

Rule ids are stable: they appear in reports, annotations and docs/policies.md.
"""
from __future__ import annotations

from releasegate.rules.consistency import EnvironmentKnownRule, NameMatchesFileRule, VersionImmutableRule
from releasegate.rules.freeze import FreezeWindowRule
from releasegate.rules.history import history_rules
from releasegate.rules.schema import SchemaRule
from releasegate.validate import Rule, ValidationContext


def default_rules(ctx: ValidationContext) -> list[Rule]:
    """The rules every validation runs. History and GitHub rules extend this list."""
    return [
        SchemaRule(ctx.layout),
        NameMatchesFileRule(),
        EnvironmentKnownRule(),
        VersionImmutableRule(),
        FreezeWindowRule(),
        *history_rules(ctx),  # only for a change in a Git repository; wires ctx.is_rollback
    ]

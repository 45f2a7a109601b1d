"""The validation rules. Each is an object with an ``id`` and ``check(ctx)``.

Rule ids are stable: they appear in reports, annotations and docs/policies.md.
"""
from __future__ import annotations

from releasegate.validate.context import Rule, ValidationContext
from releasegate.validate.rules.canary import CanaryStepsRule
from releasegate.validate.rules.consistency import EnvironmentKnownRule, NameMatchesFileRule, VersionImmutableRule
from releasegate.validate.rules.freeze import FreezeWindowRule
from releasegate.validate.rules.history import history_rules
from releasegate.validate.rules.runtime import ExternalRuntimeRule
from releasegate.validate.rules.schema import SchemaRule
from releasegate.validate.rules.signature import ModelSignatureRule


def default_rules(ctx: ValidationContext) -> list[Rule]:
    """The rules every validation runs. History and GitHub rules extend this list."""
    return [
        SchemaRule(ctx.layout),
        NameMatchesFileRule(),
        EnvironmentKnownRule(),
        VersionImmutableRule(),
        FreezeWindowRule(),
        ExternalRuntimeRule(),
        CanaryStepsRule(),
        ModelSignatureRule(),
        *history_rules(ctx),  # only for a change in a Git repository
    ]

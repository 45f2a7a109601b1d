"""``external-runtime``: a release picks an external runtime the base policy declares, with allowed parameters."""
from __future__ import annotations

from collections.abc import Iterable

from releasegate import runtimes
from releasegate.errors import InputError
from releasegate.validate.context import ValidationContext, Violation, violation_at

EXTERNAL = ("spec", "runtime", "external")


class ExternalRuntimeRule:
    """Commands never come from a release: ``external.name`` must be a runtime of the policy pack."""

    id = "external-runtime"

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release in ctx.targets:
            runtime = release.data.get("spec", {}).get("runtime") if isinstance(release.data.get("spec"), dict) else None
            chosen = runtime.get("external") if isinstance(runtime, dict) else None
            if not isinstance(chosen, dict) or not isinstance(chosen.get("name"), str):
                continue  # the schema reports a missing or malformed block
            declared = ctx.policy.runtimes.get(chosen["name"])
            if declared is None:
                known = ", ".join(sorted(ctx.policy.runtimes)) or "none are declared"
                yield violation_at(release, (*EXTERNAL, "name"), self.id,
                                   f"no runtime {chosen['name']!r} in the policy pack",
                                   f"use one of the runtimes of policies/policy-pack.yaml ({known}); a new one is "
                                   "added to the policy pack in a pull request of its own")
                continue
            try:
                runtimes.parameter_values(declared, chosen.get("parameters") or {}, release.source)
            except InputError as e:
                yield violation_at(release, (*EXTERNAL, "parameters"), self.id, e.message, e.hint or "")

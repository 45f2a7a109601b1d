"""``freeze-window``: no changes to an environment while one of its freeze windows is open."""
from __future__ import annotations

from collections.abc import Iterable

from releasegate.validate.context import ValidationContext, Violation, violation_at


class FreezeWindowRule:
    """Applies to changed releases only: an unchanged file is not a release happening now."""

    id = "freeze-window"

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        if not ctx.changed:
            return
        for release in ctx.targets:
            env = ctx.policy.environment(release.env)
            if env is None:
                continue
            for window in env.freeze_windows:
                if not window.contains(ctx.now):
                    continue
                if ctx.policy.rollback.ignore_freeze and ctx.is_rollback(release):
                    continue
                reason = f" ({window.reason})" if window.reason else ""
                yield violation_at(
                    release, (), self.id,
                    f"{release.env} is frozen by '{window.name}'{reason}: {window.describe()}",
                    "wait until the window closes; rollbacks to a previously-live version "
                    "are exempt when the policy's rollback.ignoreFreeze is true")

"""Rules across fields and files: names, environments, immutable versions."""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence

from releasegate.digests import is_sha256
from releasegate.release import Release
from releasegate.validate.context import ValidationContext, Violation, violation_at

NAME = ("metadata", "name")
DIGEST = ("spec", "model", "artifact", "sha256")


class NameMatchesFileRule:
    """``name-mismatch``: metadata.name equals the file name, so one file means one model."""

    id = "name-mismatch"

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release in ctx.targets:
            if release.name is not None and release.name != release.file_model:
                yield violation_at(
                    release, NAME, self.id,
                    f"metadata.name is '{release.name}' but the file is {release.file_model}.yaml",
                    f"rename the file to {release.name}.yaml or set metadata.name: {release.file_model}")


class EnvironmentKnownRule:
    """``unknown-environment``: the release's directory is an environment of the policy pack."""

    id = "unknown-environment"

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        known = ctx.policy.environment_names
        for release in ctx.targets:
            if release.env not in known:
                close = difflib.get_close_matches(release.env, known, n=1)
                hint = f"did you mean environments/{close[0]}/?" if close else \
                    f"use one of {', '.join(known)}, or add '{release.env}' to policies/policy-pack.yaml"
                yield violation_at(release, (), self.id,
                                   f"environment '{release.env}' is not in the policy pack", hint)


class VersionImmutableRule:
    """``version-immutable``: one digest per model and version across all environments."""

    id = "version-immutable"

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release in ctx.targets:
            yield from self._conflicts(release, ctx.others(release.file_model))

    def _conflicts(self, release: Release, others: Sequence[Release]) -> Iterator[Violation]:
        if release.version is None or not is_sha256(release.sha256):
            return
        for other in others:
            if other.source == release.source or other.version != release.version:
                continue
            if is_sha256(other.sha256) and other.sha256 != release.sha256:
                yield violation_at(
                    release, DIGEST, self.id,
                    f"{release.file_model} {release.version} has digest {str(release.sha256)[:12]}… here "
                    f"but {str(other.sha256)[:12]}… in {other.source}",
                    "versions are immutable: publish the new artifact under a new version number")


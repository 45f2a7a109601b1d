"""Rules across fields and files: names, environments, immutable versions."""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence

from releasegate.digests import is_sha256
from releasegate.release import Release
from releasegate.validate.context import ValidationContext, Violation, violation_at

NAME = ("metadata", "name")


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
    """``version-immutable``: one digest per model and version across all environments.

    Every version a file deploys counts: the model, and a canary's ``rollout.stable``.
    """

    id = "version-immutable"

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release in ctx.targets:
            yield from self._conflicts(release, ctx.others(release.file_model))

    def _conflicts(self, release: Release, others: Sequence[Release]) -> Iterator[Violation]:
        for pin in release.pins():
            if pin.version is None or not is_sha256(pin.sha256):
                continue
            for other in others:
                for theirs in other.pins():
                    if (other.source, theirs.at) == (release.source, pin.at) or theirs.version != pin.version:
                        continue
                    if is_sha256(theirs.sha256) and theirs.sha256 != pin.sha256:
                        where = other.source if other.source != release.source else f"{'.'.join(theirs.at)} of this file"
                        yield violation_at(
                            release, pin.digest_path, self.id,
                            f"{release.file_model} {pin.version} has digest {pin.sha256[:12]}… here "
                            f"but {theirs.sha256[:12]}… in {where}",
                            "versions are immutable: publish the new artifact under a new version number")
                        break

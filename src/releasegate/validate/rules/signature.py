"""``model-signature``: a release's model is signed by a signer its environment trusts.

The environment's ``signers`` come from the policy pack of the base. A release names its
bundle in ``spec.model.artifact.signature`` (``uri``, ``sha256``). Validate reads the bundle and
the model only where they are already on this machine (inside the repository, or in
``$RELEASEGATE_ARTIFACT_CACHE`` under their sha256) and never downloads: a bundle it cannot
reach is verified later, by the load test and by ``releasegate serve``, before the model loads.
A bundle it can reach must verify, sign the sha256 the release pins and, when the model is at
hand too, match the model's bytes.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from releasegate.digests import is_sha256
from releasegate.errors import ArtifactError, SignatureError, SignatureInputError
from releasegate.loadtest.artifacts import reachable
from releasegate.policy import EnvironmentPolicy
from releasegate.release import Release
from releasegate.signing.trust import describe
from releasegate.validate.context import ValidationContext, Violation, violation_at

if TYPE_CHECKING:
    from releasegate.signing.model import TrustedSigner

log = logging.getLogger(__name__)
ARTIFACT = ("spec", "model", "artifact")
SIGNATURE = (*ARTIFACT, "signature")


class ModelSignatureRule:
    """The signature of each changed release's model verifies against its environment's signers."""

    id = "model-signature"

    def __init__(self) -> None:
        self._signers: dict[str, tuple[TrustedSigner, ...]] = {}
        self.verified: list[tuple[str, str]] = []  # (release file, signer) of each signature that verified

    def check(self, ctx: ValidationContext) -> Iterable[Violation]:
        for release in ctx.targets:
            env = ctx.policy.environment(release.env)
            artifact = _artifact(release)
            if env is None or artifact is None:
                continue  # environment-known and the schema report these
            signature = artifact.get("signature")
            if signature is None:
                if env.require_signature:
                    yield self._missing(release, env)
                continue
            if env.signers and isinstance(signature, dict):
                yield from self._verify(ctx, release, env, artifact, signature)

    def _missing(self, release: Release, env: EnvironmentPolicy) -> Violation:
        return violation_at(
            release, ARTIFACT, self.id,
            f"no signature: environment {env.name} requires the model to be signed by one of: {describe(env.signers)}",
            "sign the model (model_signing sign key|certificate MODEL --signature MODEL.sig), commit or upload the "
            "bundle, and add signature: {uri: ..., sha256: ...} under spec.model.artifact", at_key=True)

    def _verify(self, ctx: ValidationContext, release: Release, env: EnvironmentPolicy, artifact: dict[str, Any],
                signature: dict[str, Any]) -> Iterable[Violation]:
        from releasegate.signing.bundle import read_bundle
        from releasegate.signing.model import verify_model

        uri, digest = signature.get("uri"), signature.get("sha256")
        if not isinstance(uri, str) or not is_sha256(digest):
            return  # the schema reports it
        bundle_path = reachable(uri, digest, ctx.layout.root)
        if bundle_path is None:
            log.debug("%s: signature %s is not on this machine; the load test and serve verify it", release.source, uri)
            return
        signers = self._trusted(env)
        pinned = release.sha256 if is_sha256(release.sha256) else None
        model_uri = artifact.get("uri")
        model = reachable(model_uri, pinned, ctx.layout.root) if isinstance(model_uri, str) else None
        try:
            bundle = read_bundle(bundle_path, uri, digest)
            verified = verify_model(bundle, signers, now=ctx.now, pinned=pinned, scope=env.name, artifact=model,
                                    artifact_source=str(model_uri))
        except (SignatureError, SignatureInputError, ArtifactError) as e:
            yield violation_at(release, SIGNATURE, self.id, e.message, e.hint or "")
            return
        self.verified.append((release.source, verified.signer))

    def _trusted(self, env: EnvironmentPolicy) -> tuple[TrustedSigner, ...]:
        """The environment's signers with their keys read, once per run (a broken key is exit 2, not a violation)."""
        from releasegate.signing.model import load_signers

        if env.name not in self._signers:
            self._signers[env.name] = load_signers(env.signers)
        return self._signers[env.name]


def _artifact(release: Release) -> dict[str, Any] | None:
    spec = release.data.get("spec")
    model = spec.get("model") if isinstance(spec, dict) else None
    artifact = model.get("artifact") if isinstance(model, dict) else None
    return artifact if isinstance(artifact, dict) else None

"""Verify a model's signature bundle against the trusted signers of an environment.

Three questions, each with its own answer when it fails:

1. **Who signed it?** The bundle must verify with one of the signers (a public key whose
   hint matches; a certificate that chains to the signer's CA and names its identity; a
   Sigstore identity and issuer under the trust root of the signer's trust configuration).
   Certificates must also be valid *now* (``now``, give or take :data:`CLOCK_SKEW`):
   model-signing checks the chain at the moment the certificate was issued, so an expired
   certificate would pass there.
2. **Is it for this model?** A file signed whole records its sha256: it must equal the sha256
   the release pins. No artifact is needed for that, so ``validate`` can answer it for models
   it cannot reach.
3. **Is the file the signed one?** With the file at hand, its bytes must match what was
   signed (a folder or shards: every file and shard).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from releasegate.digests import sha256_file
from releasegate.errors import SignatureError
from releasegate.signing import backend
from releasegate.signing.bundle import Bundle, single_file_sha256
from releasegate.signing.certificates import check_certificate
from releasegate.signing.trust import CERTIFICATE, KEY, SIGSTORE, SignerSpec, describe

CLOCK_SKEW = timedelta(minutes=5)
KIND_WORDS = {KEY: "public key", CERTIFICATE: "certificate", SIGSTORE: "Sigstore certificate"}


@dataclass(frozen=True)
class TrustedSigner:
    """A signer with its key material read (and checked) once."""

    spec: SignerSpec
    material: bytes  # the PEM key, the CA bundle or the Sigstore trust configuration
    key_hint: str | None = None  # keys: what model-signing writes into the bundle


@dataclass(frozen=True)
class Verified:
    """A signature that verified: by whom, and whether the file itself was compared."""

    signer: str
    covers: str  # the sha256 it signs, or "N files" / "N shards"
    file_checked: bool


def load_signers(specs: tuple[SignerSpec, ...]) -> tuple[TrustedSigner, ...]:
    """Read each signer's key material; a missing file or an unusable key is a configuration error (exit 2)."""
    backend.require()
    loaded = []
    for spec in specs:
        if spec.kind == KEY:
            pem = spec.material(spec.public_key, "publicKey")
            loaded.append(TrustedSigner(spec, pem, backend.key_hint(pem, f"{spec.where}: publicKey")))
        elif spec.kind == CERTIFICATE:
            loaded.append(TrustedSigner(spec, spec.material(spec.ca_bundle, "caBundle")))
        else:
            config = spec.read(spec.trust_config or "", "sigstore.trustConfig")
            backend.check_trust_config(config, f"{spec.where}: sigstore.trustConfig")
            loaded.append(TrustedSigner(spec, config))
    return tuple(loaded)


def verify_model(bundle: Bundle, signers: tuple[TrustedSigner, ...], *, now: datetime, pinned: str | None,
                 scope: str, artifact: Path | None = None, artifact_source: str = "",
                 artifact_checked: bool = False) -> Verified:
    """Verify ``bundle`` (questions 1-3 above) or raise :class:`SignatureError`.

    ``pinned`` is the sha256 the release (or ``serve --sha256``) names; ``artifact`` the model file
    when at hand, ``artifact_checked`` when its sha256 was already found equal to ``pinned``.
    ``scope`` names whose signers these are in messages ("prod").
    """
    manifest, signer = _who(bundle, signers, now, scope)
    signed = single_file_sha256(manifest.resources, manifest.method)
    if signed is not None:
        return _covers_file(bundle, signer, signed, pinned, artifact, artifact_source, artifact_checked)
    covers = f"{len(manifest.resources)} {manifest.method or 'resources'}"
    if artifact is None:
        return Verified(signer.spec.label, covers, False)
    found = backend.differences(manifest, artifact)
    if found:
        raise SignatureError(f"{artifact_source or artifact}: does not match its signature {bundle.source}: "
                             + "; ".join(found[:5]) + (f" (and {len(found) - 5} more)" if len(found) > 5 else ""),
                             "the model changed after it was signed: sign it again, or restore the signed files",
                             code="signature-mismatch")
    return Verified(signer.spec.label, covers, True)


def _covers_file(bundle: Bundle, signer: TrustedSigner, signed: str, pinned: str | None, artifact: Path | None,
                 artifact_source: str, artifact_checked: bool) -> Verified:
    if pinned is not None and signed != pinned:
        raise SignatureError(f"{bundle.source}: the signature is for another file: it signs sha256 {signed}, "
                             f"the release pins {pinned}",
                             "name the bundle that was made for this artifact, or sign this artifact",
                             code="signature-mismatch")
    if artifact is not None and not artifact_checked:
        actual = sha256_file(artifact)
        if actual != signed:
            raise SignatureError(f"{artifact_source or artifact}: does not match its signature {bundle.source}: "
                                 f"signed sha256 {signed}, the file has {actual}",
                                 "the file changed after it was signed (or is another file): fetch the signed "
                                 "artifact again", code="signature-mismatch")
    return Verified(signer.spec.label, signed, artifact is not None)


def _who(bundle: Bundle, signers: tuple[TrustedSigner, ...], now: datetime,
         scope: str) -> tuple[backend.Manifest, TrustedSigner]:
    """The manifest and the signer it verified with; else why no signer of ``scope`` signed it."""
    same = [s for s in signers if s.spec.kind == bundle.kind]
    if not same:
        raise SignatureError(f"{bundle.source}: signed with a {KIND_WORDS[bundle.kind]}, but {scope} trusts only: "
                             f"{describe(tuple(s.spec for s in signers))}",
                             f"have one of {scope}'s signers sign the model", code="untrusted-signer")
    if bundle.kind == KEY and bundle.key_hint:
        same = [s for s in same if s.key_hint == bundle.key_hint]
        if not same:
            raise SignatureError(f"{bundle.source}: signed by key sha256:{bundle.key_hint[:16]}, which is not a trusted "
                                 f"signer of {scope} (trusted: {describe(tuple(s.spec for s in signers))})",
                                 f"have one of {scope}'s signers sign the model, or add the key to the policy pack "
                                 "in a pull request of its own", code="untrusted-signer")
    failures: list[SignatureError] = []
    for signer in same:
        try:
            return _verify_with(bundle, signer, now), signer
        except SignatureError as e:
            failures.append(e)
    if len(failures) == 1:
        raise failures[0]
    specific = [e for e in failures if e.code != "signature-invalid"]
    if len(specific) == 1:
        raise specific[0]
    raise SignatureError(f"{bundle.source}: no trusted signer of {scope} verifies it: "
                         + "; ".join(e.message.removeprefix(f"{bundle.source}: ") for e in failures),
                         f"have one of {scope}'s signers sign the model", code="untrusted-signer")


def _verify_with(bundle: Bundle, signer: TrustedSigner, now: datetime) -> backend.Manifest:
    spec = signer.spec
    if spec.kind == KEY:
        return backend.verify_key(bundle, signer.material)
    if spec.kind == SIGSTORE:
        return backend.verify_sigstore(bundle, spec.identity or "", spec.issuer or "", signer.material)
    try:
        manifest = backend.verify_certificate(bundle, signer.material)
    except SignatureError as e:
        raise SignatureError(f"{bundle.source}: the signing certificate does not chain to the CA of {spec.label} "
                             f"or the signature is invalid ({e.message.removeprefix(f'{bundle.source}: ')})",
                             "sign with a certificate issued by that CA", code="untrusted-signer") from e
    check_certificate(bundle, spec.identity or "", now, CLOCK_SKEW, spec.label)
    return manifest


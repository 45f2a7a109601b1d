"""A model signature bundle, read with bounds before any cryptography sees it.

OpenSSF model-signing writes a Sigstore bundle (JSON, media type
``application/vnd.dev.sigstore.bundle.v0.3+json``) whose DSSE envelope carries an in-toto
statement listing each file of the model with its digest. This module only reads and checks
the shape: size, JSON, which kind of signer the verification material names (a public key,
an X.509 chain, or Sigstore with transparency-log entries), and the (still unverified)
statement, so that a report can say which file a signature is for. Verification is
:mod:`releasegate.signing.model`'s.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from releasegate.errors import SignatureError, SignatureInputError
from releasegate.signing.trust import CERTIFICATE, KEY, SIGSTORE

MAX_BUNDLE_BYTES = 4 * 1024 * 1024
_HINT = "sign the model again (model_signing sign key|certificate|sigstore MODEL --signature BUNDLE) and commit the bundle"


@dataclass(frozen=True)
class Resource:
    """One signed part of the model (a file, or a shard), with its digest."""

    name: str
    algorithm: str
    digest: str


@dataclass(frozen=True)
class Bundle:
    """A parsed bundle. ``statement`` is not verified yet: use it for messages only."""

    source: str  # how reports name the bundle
    path: Path
    kind: str  # KEY, CERTIFICATE or SIGSTORE
    key_hint: str | None  # sha256 of the signer's PEM public key (key bundles)
    certificates: tuple[bytes, ...] = field(repr=False)  # DER, the signing certificate first
    resources: tuple[Resource, ...] = ()
    method: str = ""  # how the model was cut into resources: files, shards

    @property
    def subject(self) -> str:
        """What the bundle says it signs, for messages."""
        return single_file_sha256(self.resources, self.method) or f"{len(self.resources)} {self.method or 'resources'}"


def single_file_sha256(resources: tuple[Resource, ...], method: str) -> str | None:
    """The sha256 recorded for a model that is one file signed whole (else None: folders, shards, other hashes)."""
    if method == "files" and len(resources) == 1:
        only = resources[0]
        if only.name == "." and only.algorithm == "sha256":
            return only.digest
    return None


def read_bundle(path: Path, source: str, expected_sha256: str | None = None) -> Bundle:
    """Read the bundle at ``path``; ``expected_sha256`` is what the release pins for it."""
    data = _read_bounded(path, source)
    if expected_sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected_sha256:
            raise SignatureError(
                f"{source}: the signature bundle has sha256 {actual}, the release pins {expected_sha256}",
                "the bundle is not the one the release names: fix spec.model.artifact.signature.sha256 or the file",
                code="bundle-digest")
    document = _json(data, source)
    material = _mapping(document.get("verificationMaterial"), source, "verificationMaterial")
    envelope = _mapping(document.get("dsseEnvelope"), source, "dsseEnvelope")
    kind, hint, certs = _material(material, source)
    statement = _statement(envelope, source)
    resources, method = _manifest(statement)
    return Bundle(source, path, kind, hint, certs, resources, method)


def _read_bounded(path: Path, source: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BUNDLE_BYTES + 1)
    except OSError as e:
        raise SignatureInputError(f"{source}: cannot read the signature bundle ({e.strerror or e})",
                                  "check the path in spec.model.artifact.signature.uri", code="bundle-unreadable") from e
    if len(data) > MAX_BUNDLE_BYTES:
        raise SignatureInputError(f"{source}: the signature bundle is larger than {MAX_BUNDLE_BYTES:,} bytes; "
                                  "a model-signing bundle is a few kilobytes", "name the bundle, not the model",
                                  code="bundle-oversized")
    return data


def _json(data: bytes, source: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        where = f" (line {e.lineno}, column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        raise SignatureInputError(f"{source}: not a signature bundle: not JSON{where}: truncated or damaged?",
                                  _HINT, code="bundle-unreadable") from e
    if not isinstance(document, dict) or not str(document.get("mediaType", "")).startswith(
            "application/vnd.dev.sigstore.bundle"):
        raise SignatureInputError(f"{source}: not a Sigstore bundle (no mediaType application/vnd.dev.sigstore.bundle...)",
                                  _HINT, code="bundle-unreadable")
    return document


def _mapping(value: Any, source: str, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SignatureInputError(f"{source}: the bundle has no {name}; model-signing bundles carry a DSSE envelope",
                                  _HINT, code="bundle-unreadable")
    return value


def _material(material: dict[str, Any], source: str) -> tuple[str, str | None, tuple[bytes, ...]]:
    if material.get("tlogEntries"):
        cert = material.get("certificate") or {}
        chain = (material.get("x509CertificateChain") or {}).get("certificates") or []
        raw = [cert.get("rawBytes")] if cert else [c.get("rawBytes") for c in chain if isinstance(c, dict)]
        return SIGSTORE, None, _ders(raw, source)
    if "publicKey" in material:
        hint = (material.get("publicKey") or {}).get("hint")
        return KEY, hint if isinstance(hint, str) and hint else None, ()
    chain = (material.get("x509CertificateChain") or {}).get("certificates")
    if isinstance(chain, list) and chain:
        return CERTIFICATE, None, _ders([c.get("rawBytes") if isinstance(c, dict) else None for c in chain], source)
    if material.get("certificate"):
        raise SignatureInputError(f"{source}: a Sigstore bundle without transparency-log entries",
                                  "sign with Sigstore again; the bundle must include its Rekor entry", code="bundle-unreadable")
    raise SignatureInputError(f"{source}: the bundle names no public key, certificate chain or Sigstore certificate",
                              _HINT, code="bundle-unreadable")


def _ders(values: list[Any], source: str) -> tuple[bytes, ...]:
    try:
        return tuple(base64.b64decode(v, validate=True) for v in values if isinstance(v, str))
    except (binascii.Error, ValueError) as e:
        raise SignatureInputError(f"{source}: a certificate in the bundle is not base64", _HINT,
                                  code="bundle-unreadable") from e


def _statement(envelope: dict[str, Any], source: str) -> dict[str, Any]:
    try:
        statement = json.loads(base64.b64decode(str(envelope.get("payload", "")), validate=True))
    except (binascii.Error, ValueError) as e:
        raise SignatureInputError(f"{source}: the DSSE payload is not base64-encoded JSON: damaged bundle", _HINT,
                                  code="bundle-unreadable") from e
    if not isinstance(statement, dict) or not envelope.get("signatures"):
        raise SignatureInputError(f"{source}: the DSSE envelope has no statement or no signature", _HINT,
                                  code="bundle-unreadable")
    return statement


def _manifest(statement: dict[str, Any]) -> tuple[tuple[Resource, ...], str]:
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict):
        return (), ""
    resources = tuple(
        Resource(str(r.get("name")), str(r.get("algorithm")), str(r.get("digest")))
        for r in predicate.get("resources") or [] if isinstance(r, dict))
    serialization = predicate.get("serialization")
    return resources, str(serialization.get("method", "")) if isinstance(serialization, dict) else ""

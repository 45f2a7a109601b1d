"""DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1) over ``cryptography``.

Evidence records are in-toto statements signed in DSSE envelopes. The protocol is small:
the signature covers ``PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``
(lengths in ASCII decimal), and the envelope is ``{"payload": base64(body), "payloadType": type,
"signatures": [{"keyid": ..., "sig": base64(signature)}]}``. Keys: Ed25519, and ECDSA on P-256
(SHA-256) or P-384 (SHA-384) with DER signatures, as securesystemslib writes them; the test suite
checks that securesystemslib verifies what this module signs. A key id is the sha256 of the
public key's DER SubjectPublicKeyInfo, in hex.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from releasegate.errors import SignatureError, SignatureInputError

IN_TOTO = "application/vnd.in-toto+json"
_CURVES = {"secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384}
_KEY_HINT = "use an Ed25519 key (openssl genpkey -algorithm ed25519) or ECDSA on P-256 or P-384"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding of ``payload``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class PublicKey:
    """A key that may verify envelopes; ``name`` says in reports whose it is."""

    keyid: str
    name: str
    key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

    def verifies(self, signature: bytes, message: bytes) -> bool:
        try:
            if isinstance(self.key, ed25519.Ed25519PublicKey):
                self.key.verify(signature, message)
            else:
                self.key.verify(signature, message, ec.ECDSA(_CURVES[self.key.curve.name]()))
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class PrivateKey:
    """A key that signs envelopes."""

    keyid: str
    key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey

    def sign(self, message: bytes) -> bytes:
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(message)
        return self.key.sign(message, ec.ECDSA(_CURVES[self.key.curve.name]()))


def keyid_of(key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def load_public_key(pem: bytes, where: str, name: str = "") -> PublicKey:
    """A verifying key from PEM; :class:`SignatureInputError` for anything else or another key type."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as e:
        raise SignatureInputError(f"{where}: not a PEM public key", _KEY_HINT, code="unsupported-key") from e
    return PublicKey(keyid_of(_supported(key, where)), name or where, _supported(key, where))


def load_private_key(pem: bytes, where: str) -> PrivateKey:
    """A signing key from PEM (unencrypted PKCS#8 or traditional)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise SignatureInputError(f"{where}: not an unencrypted PEM private key",
                                  _KEY_HINT + "; store it unencrypted in the CI secret", code="unsupported-key") from e
    if not isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey)):
        raise SignatureInputError(f"{where}: unsupported key type ({type(key).__name__})", _KEY_HINT, code="unsupported-key")
    _supported(key.public_key(), where)
    return PrivateKey(keyid_of(key.public_key()), key)


def _supported(key: Any, where: str) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _CURVES:
        return key
    kind = f"elliptic curve {key.curve.name}" if isinstance(key, ec.EllipticCurvePublicKey) else type(key).__name__
    raise SignatureInputError(f"{where}: unsupported key type ({kind})", _KEY_HINT, code="unsupported-key")


def sign_envelope(payload: bytes, key: PrivateKey, payload_type: str = IN_TOTO) -> dict[str, Any]:
    """A DSSE envelope of ``payload`` with one signature by ``key``."""
    signature = key.sign(pae(payload_type, payload))
    return {"payload": base64.b64encode(payload).decode(), "payloadType": payload_type,
            "signatures": [{"keyid": key.keyid, "sig": base64.b64encode(signature).decode()}]}


def open_envelope(envelope: Any, keys: Sequence[PublicKey], source: str,
                  payload_type: str = IN_TOTO) -> tuple[bytes, PublicKey]:
    """The payload of ``envelope`` and the trusted key that signed it; else :class:`SignatureError`.

    A record whose signatures all come from keys that are not in ``keys`` is ``untrusted-signer``;
    one whose trusted key does not verify (the payload or the signature changed) is ``signature-invalid``.
    """
    payload, signatures = _parts(envelope, source, payload_type)
    message = pae(payload_type, payload)
    by_id = {k.keyid: k for k in keys}
    strangers = []
    for keyid, signature in signatures:
        candidates = [by_id[keyid]] if keyid in by_id else ([] if keyid else list(keys))
        if keyid and keyid not in by_id:
            strangers.append(keyid)
        for key in candidates:
            if key.verifies(signature, message):
                return payload, key
    if strangers and len(strangers) == len(signatures):
        raise SignatureError(f"{source}: signed by an untrusted key (keyid {', '.join(k[:16] for k in strangers)})",
                             "the record must be signed by a key of evidence.signers in the policy pack",
                             code="untrusted-signer")
    raise SignatureError(f"{source}: the signature does not verify: the record was changed after it was signed",
                         "restore the record from the evidence branch's history, or record the decision again",
                         code="signature-invalid")


def _parts(envelope: Any, source: str, payload_type: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    if not isinstance(envelope, dict) or not isinstance(envelope.get("signatures"), list) or not envelope["signatures"]:
        raise SignatureInputError(f"{source}: not a DSSE envelope (payload, payloadType, signatures)",
                                  "record the decision again", code="bundle-unreadable")
    if envelope.get("payloadType") != payload_type:
        raise SignatureInputError(f"{source}: payloadType {str(envelope.get('payloadType'))[:80]!r}, not {payload_type}",
                                  "record the decision again", code="bundle-unreadable")
    try:
        payload = base64.b64decode(str(envelope.get("payload", "")), validate=True)
        signatures = [(str(s.get("keyid") or ""), base64.b64decode(str(s.get("sig", "")), validate=True))
                      for s in envelope["signatures"] if isinstance(s, dict)]
    except (binascii.Error, ValueError) as e:
        raise SignatureInputError(f"{source}: the envelope's payload or a signature is not base64",
                                  "record the decision again", code="bundle-unreadable") from e
    return payload, signatures

"""The one module that talks to OpenSSF model-signing (``pip install 'releasegate[sign]'``).

model-signing's public API (``model_signing.verifying.Config().verify(model, bundle)``) verifies a
bundle and hashes the model in one call. releasegate needs the two steps apart: the verified
manifest first (who signed, which digests), so that ``validate`` can bind a signature to the
release's sha256 without the multi-gigabyte artifact, and so that each failure gets its own
message. So this module uses the verifier classes behind that API (``model_signing._signing``),
pinned to model-signing 1.1.x in ``pyproject.toml``; ``tests/unit/signing`` fails if they move.

Everything it raises is a :class:`SignatureError` (the signature does not verify) or a
:class:`SignatureInputError` (the library is missing, or key material is unusable).
"""
from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from releasegate.errors import SignatureError, SignatureInputError
from releasegate.signing.bundle import Bundle, Resource

log = logging.getLogger(__name__)
INSTALL_HINT = "install the signing extra: pip install 'releasegate[sign]' (OpenSSF model-signing)"


@dataclass(frozen=True)
class Manifest:
    """What a verified bundle signs: each file (or shard) of the model with its digest."""

    resources: tuple[Resource, ...]
    method: str
    native: Any = field(default=None, repr=False, compare=False)  # model_signing's Manifest, to hash a model alike


def require() -> None:
    """Raise a clear error unless model-signing (and pyOpenSSL, which it needs undeclared) imports."""
    _modules()


def _modules() -> Any:
    try:
        import OpenSSL  # noqa: F401  (model-signing's certificate verifier needs it, without declaring it)
        from model_signing._signing import sign_certificate, sign_ec_key, sign_sigstore, sign_sigstore_pb
    except ImportError as e:
        raise SignatureInputError(f"verifying model signatures needs OpenSSF model-signing and pyOpenSSL ({e})",
                                  INSTALL_HINT, code="sign-extra-missing") from e
    return sign_certificate, sign_ec_key, sign_sigstore, sign_sigstore_pb


def verify_key(bundle: Bundle, public_key_pem: bytes) -> Manifest:
    """Verify a key bundle with one elliptic-curve public key."""
    _, sign_ec_key, _, sign_sigstore_pb = _modules()
    with _material(public_key_pem) as key_path, _library_errors(bundle):
        verifier = sign_ec_key.Verifier(key_path)
        signature = sign_sigstore_pb.Signature.read(bundle.path)
        with contextlib.redirect_stdout(io.StringIO()) as printed:  # it prints a warning for old bundles
            manifest = verifier.verify(signature)
        if printed.getvalue().strip():
            log.warning("%s: %s", bundle.source, printed.getvalue().strip())
        return _manifest(manifest)


def verify_certificate(bundle: Bundle, ca_pem: bytes) -> Manifest:
    """Verify a certificate bundle: its chain must lead to a CA of ``ca_pem``."""
    sign_certificate, _, _, sign_sigstore_pb = _modules()
    with _material(ca_pem) as ca_path, _library_errors(bundle):
        verifier = sign_certificate.Verifier([ca_path])
        return _manifest(verifier.verify(sign_sigstore_pb.Signature.read(bundle.path)))


def verify_sigstore(bundle: Bundle, identity: str, issuer: str, trust_config: bytes) -> Manifest:
    """Verify a Sigstore bundle offline against the trusted root of ``trust_config``."""
    _, _, sign_sigstore, _ = _modules()
    with _material(trust_config) as config_path, _library_errors(bundle):
        verifier = sign_sigstore.Verifier(identity=identity, oidc_issuer=issuer, trust_config=config_path)
        return _manifest(verifier.verify(sign_sigstore.Signature.read(bundle.path)))


def check_trust_config(data: bytes, where: str) -> None:
    """Raise :class:`SignatureInputError` unless ``data`` is a Sigstore ClientTrustConfig (with its trusted root)."""
    _modules()
    from sigstore.models import ClientTrustConfig

    try:
        ClientTrustConfig.from_json(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, TypeError, KeyError) as e:
        raise SignatureInputError(f"{where}: not a Sigstore ClientTrustConfig ({_why(e)[:200]})",
                                  "give the trust configuration JSON (mediaType application/vnd.dev.sigstore."
                                  "clienttrustconfig.v0.1+json) with the trusted root of your Sigstore instance",
                                  code="unsupported-key") from e


def differences(manifest: Manifest, model: Path) -> list[str]:
    """How the model at ``model`` differs from the signed ``manifest`` (empty: it matches)."""
    _modules()
    from model_signing import hashing

    args = manifest.native.serialization_type
    if args.get("method") == "shards":
        config = hashing.Config().use_shard_serialization(
            hashing_algorithm=args["hash_type"], shard_size=args["shard_size"],
            allow_symlinks=args["allow_symlinks"], ignore_paths=args.get("ignore_paths", ()))
    else:
        config = hashing.Config().use_file_serialization(
            hashing_algorithm=args["hash_type"], allow_symlinks=args["allow_symlinks"],
            ignore_paths=args.get("ignore_paths", ()))
    try:
        actual = {r.name: r.digest for r in _manifest(config.hash(model)).resources}
    except (OSError, ValueError) as e:
        raise SignatureError(f"{model}: cannot be hashed the way the signature describes ({_why(e)})",
                             "the model's files changed shape since signing (links, missing files): sign it again",
                             code="signature-mismatch") from e
    signed = {r.name: r.digest for r in manifest.resources}
    found = [f"{name}: not signed" for name in sorted(set(actual) - set(signed))]
    found += [f"{name}: signed but missing" for name in sorted(set(signed) - set(actual))]
    found += [f"{name}: digest {actual[name]}, signed {signed[name]}" for name in sorted(set(signed) & set(actual))
              if actual[name] != signed[name]]
    return found


def key_hint(public_key_pem: bytes, where: str) -> str:
    """The hint model-signing writes into key bundles: sha256 of the key's PEM (SubjectPublicKeyInfo)."""
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_public_key(public_key_pem)
    except ValueError as e:
        raise SignatureInputError(f"{where}: not a PEM public key ({e})",
                                  "give the signer's public key in PEM (-----BEGIN PUBLIC KEY-----)", code="unsupported-key") from e
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
        kind = f"elliptic curve {key.curve.name}" if isinstance(key, ec.EllipticCurvePublicKey) else type(key).__name__
        raise SignatureInputError(f"{where}: unsupported key type ({kind}); model-signing verifies ECDSA keys on "
                                  "P-256, P-384 or P-521", "sign with an EC key: openssl ecparam -name prime256v1 -genkey",
                                  code="unsupported-key")
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


@contextlib.contextmanager
def _material(data: bytes) -> Iterator[Path]:
    """The verifier classes read files: hand them ``data`` in a private temporary one."""
    with tempfile.TemporaryDirectory(prefix="releasegate-sig-") as folder:
        path = Path(folder) / "material"
        path.write_bytes(data)
        yield path


@contextlib.contextmanager
def _library_errors(bundle: Bundle) -> Iterator[None]:
    """model-signing fails with ValueError, cryptography's InvalidSignature, pyOpenSSL's store errors,
    sigstore's VerificationError or a KeyError/TypeError on a damaged bundle: one SignatureError each."""
    from cryptography.exceptions import InvalidSignature
    from OpenSSL import crypto

    errors: tuple[type[BaseException], ...] = (ValueError, TypeError, KeyError, IndexError, InvalidSignature,
                                               crypto.Error, crypto.X509StoreContextError)
    try:
        from sigstore.errors import Error as SigstoreError

        errors = (*errors, SigstoreError)
    except ImportError:  # pragma: no cover - model-signing depends on sigstore
        pass
    try:
        yield
    except errors as e:
        raise SignatureError(f"{bundle.source}: the signature does not verify: {_why(e)}",
                             "the bundle was changed after signing, or another key signed it: sign the model again",
                             code="signature-invalid") from e


def _why(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if type(error).__name__ == "InvalidSignature":
        return "the DSSE signature is not valid for this key (the bundle was altered)"
    return " ".join(text.split())[:300]


def _manifest(native: Any) -> Manifest:
    resources = tuple(Resource(str(d.identifier), str(d.digest.algorithm), str(d.digest.digest_hex))
                      for d in native.resource_descriptors())
    return Manifest(resources, str(native.serialization_type.get("method", "")), native)


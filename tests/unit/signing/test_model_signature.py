"""Model signatures verified with OpenSSF model-signing: keys and certificates, offline.

Every key, CA and certificate is made here (tests/support/signing.py); bundles are written by
model-signing's own signer, so these tests also pin the library's bundle format.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from releasegate.errors import ConfigError, SignatureError, SignatureInputError
from releasegate.signing.bundle import MAX_BUNDLE_BYTES, read_bundle
from releasegate.signing.model import CLOCK_SKEW, load_signers, verify_model
from releasegate.signing.trust import CERTIFICATE, KEY, SignerSpec
from tests.support import signing as s

pytest.importorskip("model_signing")


def key_signer(tmp_path: Path, pem: str, name: str | None = None) -> SignerSpec:
    return SignerSpec(KEY, "policies/policy-pack.yaml: environments[0].signers[0]", tmp_path, name, public_key=pem)


def cert_signer(policies: Path, identity: str, ca: Path) -> SignerSpec:
    return SignerSpec(CERTIFICATE, "policies/policy-pack.yaml: environments[0].signers[0]", policies,
                      identity=identity, ca_bundle=ca.relative_to(policies).as_posix())


@pytest.fixture
def model(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "model.pt2"
    return path, s.write_model(path)


@pytest.fixture
def signer(tmp_path: Path) -> s.KeyPair:
    return s.ec_key(tmp_path / "keys")


def verify(bundle: Path, specs: tuple[SignerSpec, ...], pinned: str | None, **kw: object):  # type: ignore[no-untyped-def]
    return verify_model(read_bundle(bundle, bundle.name), load_signers(specs), now=s.NOW, pinned=pinned,
                        scope="prod", **kw)  # type: ignore[arg-type]


# --- keys ------------------------------------------------------------------------------------------

def test_a_key_signature_verifies_and_binds_to_the_pinned_digest(tmp_path: Path, model: tuple[Path, str],
                                                                 signer: s.KeyPair) -> None:
    path, digest = model
    bundle = s.sign_with_key(path, signer, tmp_path / "model.sig")
    result = verify(bundle, (key_signer(tmp_path, signer.public_pem, "release key"),), digest)
    assert (result.signer, result.covers, result.file_checked) == ("release key", digest, False)
    checked = verify(bundle, (key_signer(tmp_path, signer.public_pem),), digest, artifact=path)
    assert checked.file_checked


def test_one_flipped_byte_in_the_model_fails(tmp_path: Path, model: tuple[Path, str], signer: s.KeyPair) -> None:
    path, digest = model
    bundle = s.sign_with_key(path, signer, tmp_path / "model.sig")
    s.flip_byte(path)
    with pytest.raises(SignatureError) as caught:
        verify(bundle, (key_signer(tmp_path, signer.public_pem),), digest, artifact=path, artifact_source="models/m.pt2")
    assert caught.value.code == "signature-mismatch"
    assert caught.value.message.startswith("models/m.pt2: does not match its signature model.sig: signed sha256 " + digest)


def test_one_flipped_byte_in_the_bundle_fails(tmp_path: Path, model: tuple[Path, str], signer: s.KeyPair) -> None:
    path, digest = model
    bundle = s.sign_with_key(path, signer, tmp_path / "model.sig")
    document = json.loads(bundle.read_text())
    sig = bytearray(document["dsseEnvelope"]["signatures"][0]["sig"].encode())
    sig[20] = ord("A") if sig[20] != ord("A") else ord("B")
    document["dsseEnvelope"]["signatures"][0]["sig"] = sig.decode()
    bundle.write_text(json.dumps(document))
    with pytest.raises(SignatureError) as caught:
        verify(bundle, (key_signer(tmp_path, signer.public_pem),), digest)
    assert caught.value.code == "signature-invalid" and "model.sig: the signature does not verify" in caught.value.message


def test_a_wrong_signer_is_named_by_its_key(tmp_path: Path, model: tuple[Path, str], signer: s.KeyPair) -> None:
    path, digest = model
    other = s.ec_key(tmp_path / "other", "other")
    bundle = s.sign_with_key(path, other, tmp_path / "model.sig")
    with pytest.raises(SignatureError) as caught:
        verify(bundle, (key_signer(tmp_path, signer.public_pem, "release key"),), digest)
    assert caught.value.code == "untrusted-signer"
    assert "which is not a trusted signer of prod (trusted: release key)" in caught.value.message


def test_a_signature_for_another_file(tmp_path: Path, model: tuple[Path, str], signer: s.KeyPair) -> None:
    path, _ = model
    other = tmp_path / "other.pt2"
    other_digest = s.write_model(other, b"another model")
    bundle = s.sign_with_key(other, signer, tmp_path / "other.sig")
    with pytest.raises(SignatureError) as caught:
        verify(bundle, (key_signer(tmp_path, signer.public_pem),), s.sha256(path))
    assert caught.value.code == "signature-mismatch"
    assert f"the signature is for another file: it signs sha256 {other_digest}" in caught.value.message


def test_an_unknown_key_type_is_a_configuration_error(tmp_path: Path) -> None:
    ed = s.ed25519_public(tmp_path)
    with pytest.raises(SignatureInputError) as caught:
        load_signers((key_signer(tmp_path, ed.read_text()),))
    assert caught.value.exit_code == 2 and "unsupported key type (Ed25519PublicKey)" in caught.value.message
    secp256k1 = s.ec_key(tmp_path / "k1", "k1", s.ec.SECP256K1())
    with pytest.raises(SignatureInputError, match="elliptic curve secp256k1"):
        load_signers((key_signer(tmp_path, secp256k1.public_pem),))


def test_a_key_file_outside_policies_is_refused(tmp_path: Path, signer: s.KeyPair) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    spec = SignerSpec(KEY, "policies/policy-pack.yaml: environments[0].signers[0]", policies, public_key="../keys/signer.pub")
    with pytest.raises(ConfigError, match="must be a path inside policies/"):
        load_signers((spec,))
    (policies / "link.pub").symlink_to(signer.public)
    with pytest.raises(ConfigError, match="leads out of policies/"):
        load_signers((SignerSpec(KEY, "w", policies, public_key="link.pub"),))


# --- bad bundles -----------------------------------------------------------------------------------

def test_a_truncated_bundle_is_unreadable_input(tmp_path: Path, model: tuple[Path, str], signer: s.KeyPair) -> None:
    bundle = s.sign_with_key(model[0], signer, tmp_path / "model.sig")
    bundle.write_bytes(bundle.read_bytes()[:200])
    with pytest.raises(SignatureInputError) as caught:
        read_bundle(bundle, "models/model.sig")
    assert caught.value.exit_code == 2 and caught.value.code == "bundle-unreadable"
    assert caught.value.message.startswith("models/model.sig: not a signature bundle: not JSON (line 1, column")


def test_an_oversized_bundle_is_refused_before_parsing(tmp_path: Path) -> None:
    bundle = tmp_path / "huge.sig"
    bundle.write_bytes(b" " * (MAX_BUNDLE_BYTES + 1))
    with pytest.raises(SignatureInputError) as caught:
        read_bundle(bundle, "huge.sig")
    assert caught.value.code == "bundle-oversized"


def test_a_bundle_with_the_wrong_pinned_digest(tmp_path: Path, model: tuple[Path, str], signer: s.KeyPair) -> None:
    bundle = s.sign_with_key(model[0], signer, tmp_path / "model.sig")
    with pytest.raises(SignatureError) as caught:
        read_bundle(bundle, "model.sig", "0" * 64)
    assert caught.value.code == "bundle-digest" and caught.value.exit_code == 1


@pytest.mark.parametrize("text", ["[]", '{"mediaType": "application/json"}',
                                  '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}',
                                  '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", '
                                  '"verificationMaterial": {"publicKey": {}}, "dsseEnvelope": {"payload": "!!"}}'])
def test_things_that_are_no_bundle(tmp_path: Path, text: str) -> None:
    bundle = tmp_path / "x.sig"
    bundle.write_text(text)
    with pytest.raises(SignatureInputError, match=r"^x\.sig: "):
        read_bundle(bundle, "x.sig")


# --- certificates ----------------------------------------------------------------------------------

@pytest.fixture
def ca(tmp_path: Path) -> s.CertificateAuthority:
    return s.make_ca(tmp_path / "policies" / "keys")


def test_a_certificate_signature_verifies(tmp_path: Path, model: tuple[Path, str], ca: s.CertificateAuthority) -> None:
    key, cert = s.leaf_certificate(ca, tmp_path / "leaf", "ml-release@example.com")
    bundle = s.sign_with_certificate(model[0], key, cert, tmp_path / "model.sig", (ca.cert,))
    result = verify(bundle, (cert_signer(tmp_path / "policies", "ml-release@example.com", ca.cert),), model[1])
    assert result.covers == model[1]


def test_a_certificate_of_another_identity(tmp_path: Path, model: tuple[Path, str], ca: s.CertificateAuthority) -> None:
    key, cert = s.leaf_certificate(ca, tmp_path / "leaf", "intern@example.com")
    bundle = s.sign_with_certificate(model[0], key, cert, tmp_path / "model.sig", (ca.cert,))
    with pytest.raises(SignatureError) as caught:
        verify(bundle, (cert_signer(tmp_path / "policies", "ml-release@example.com", ca.cert),), model[1])
    assert caught.value.code == "certificate-identity"
    assert "the signing certificate is for intern@example.com, not ml-release@example.com" in caught.value.message


def test_a_certificate_from_another_ca(tmp_path: Path, model: tuple[Path, str], ca: s.CertificateAuthority) -> None:
    rogue = s.make_ca(tmp_path / "rogue", "Rogue CA")
    key, cert = s.leaf_certificate(rogue, tmp_path / "leaf", "ml-release@example.com")
    bundle = s.sign_with_certificate(model[0], key, cert, tmp_path / "model.sig", (rogue.cert,))
    with pytest.raises(SignatureError) as caught:
        verify(bundle, (cert_signer(tmp_path / "policies", "ml-release@example.com", ca.cert),), model[1])
    assert caught.value.code == "untrusted-signer" and "does not chain to the CA" in caught.value.message


def test_an_expired_certificate_fails_although_model_signing_accepts_it(
        tmp_path: Path, model: tuple[Path, str], ca: s.CertificateAuthority) -> None:
    key, cert = s.leaf_certificate(ca, tmp_path / "leaf", "ml-release@example.com",
                                   not_before=s.NOW - dt.timedelta(days=400), not_after=s.NOW - dt.timedelta(days=35))
    bundle = s.sign_with_certificate(model[0], key, cert, tmp_path / "model.sig", (ca.cert,))
    import model_signing

    model_signing.verifying.Config().use_certificate_verifier(certificate_chain=[ca.cert]).verify(model[0], bundle)
    with pytest.raises(SignatureError) as caught:
        verify(bundle, (cert_signer(tmp_path / "policies", "ml-release@example.com", ca.cert),), model[1])
    assert caught.value.code == "certificate-expired"
    assert "model.sig: the signing certificate expired at 2026-10-14T12:00:00Z (now 2026-11-18T12:00:00Z)" in caught.value.message


def test_clock_skew_within_the_allowance_passes_beyond_it_is_named(
        tmp_path: Path, model: tuple[Path, str], ca: s.CertificateAuthority) -> None:
    near = s.leaf_certificate(ca, tmp_path / "near", "ml-release@example.com", not_before=s.NOW + CLOCK_SKEW / 2)
    bundle = s.sign_with_certificate(model[0], *near, tmp_path / "near.sig", (ca.cert,))
    signer = (cert_signer(tmp_path / "policies", "ml-release@example.com", ca.cert),)
    assert verify(bundle, signer, model[1]).covers == model[1]
    far = s.leaf_certificate(ca, tmp_path / "far", "ml-release@example.com", not_before=s.NOW + dt.timedelta(hours=2))
    bundle = s.sign_with_certificate(model[0], *far, tmp_path / "far.sig", (ca.cert,))
    with pytest.raises(SignatureError) as caught:
        verify(bundle, signer, model[1])
    assert caught.value.code == "certificate-not-yet-valid"
    assert "far.sig: the signing certificate is not valid yet: valid from 2026-11-18T14:00:00Z" in caught.value.message
    assert "2 h 0 min earlier" in caught.value.message and "clock" in (caught.value.hint or "")


def test_a_key_bundle_against_certificate_signers_says_what_is_trusted(
        tmp_path: Path, model: tuple[Path, str], signer: s.KeyPair, ca: s.CertificateAuthority) -> None:
    bundle = s.sign_with_key(model[0], signer, tmp_path / "model.sig")
    with pytest.raises(SignatureError) as caught:
        verify(bundle, (cert_signer(tmp_path / "policies", "ml-release@example.com", ca.cert),), model[1])
    assert caught.value.code == "untrusted-signer"
    assert "signed with a public key, but prod trusts only: certificate ml-release@example.com" in caught.value.message


# --- folders -------------------------------------------------------------------------------------

def test_a_signed_folder_needs_the_files_to_be_compared(tmp_path: Path, signer: s.KeyPair) -> None:
    folder = tmp_path / "model"
    s.write_model(folder / "weights.safetensors")
    s.write_model(folder / "config.json", b"{}")
    bundle = s.sign_with_key(folder, signer, tmp_path / "model.sig")
    specs = (key_signer(tmp_path, signer.public_pem),)
    assert verify(bundle, specs, None).file_checked is False
    assert verify(bundle, specs, None, artifact=folder).covers == "2 files"
    s.flip_byte(folder / "weights.safetensors")
    with pytest.raises(SignatureError, match="weights.safetensors: digest"):
        verify(bundle, specs, None, artifact=folder)


# --- Sigstore: a real public-good bundle, verified offline against a trust configuration file ----

SIGSTORE_FIXTURE = Path(__file__).resolve().parents[2] / "support" / "sigstore"
IBM = "https://sigstore.verify.ibm.com/oauth2"


def sigstore_signer(identity: str = "stefanb@us.ibm.com", config: str = "trust-config.json") -> SignerSpec:
    from releasegate.signing.trust import SIGSTORE

    return SignerSpec(SIGSTORE, "policies/policy-pack.yaml: environments[0].signers[0]", SIGSTORE_FIXTURE,
                      identity=identity, issuer=IBM, trust_config=config)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_sigstore_bundle_verifies_offline_by_identity_and_file(offline: None, tmp_path: Path) -> None:
    import shutil

    bundle = SIGSTORE_FIXTURE / "model.sig"
    signer = (sigstore_signer(),)
    assert verify(bundle, signer, None).covers == "2 files"
    model = shutil.copytree(SIGSTORE_FIXTURE / "model", tmp_path / "model")
    assert verify(bundle, signer, None, artifact=model).file_checked
    s.flip_byte(model / "signme-1", 0)
    with pytest.raises(SignatureError, match="signme-1: digest"):
        verify(bundle, signer, None, artifact=model)


def test_a_sigstore_bundle_by_another_identity(offline: None) -> None:
    with pytest.raises(SignatureError) as caught:
        verify(SIGSTORE_FIXTURE / "model.sig", (sigstore_signer("ml-release@example.com"),), None)
    assert caught.value.code == "signature-invalid"
    assert "SANs do not match ml-release@example.com" in caught.value.message


def test_a_sigstore_bundle_against_key_signers(tmp_path: Path, signer: s.KeyPair) -> None:
    with pytest.raises(SignatureError, match="signed with a Sigstore certificate, but prod trusts only: key"):
        verify(SIGSTORE_FIXTURE / "model.sig", (key_signer(tmp_path, signer.public_pem),), None)


def test_a_broken_trust_configuration_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "trust.json").write_text('{"mediaType": "nonsense"}')
    spec = SignerSpec(sigstore_signer().kind, "policies/policy-pack.yaml: environments[0].signers[0]", tmp_path,
                      identity="a", issuer=IBM, trust_config="trust.json")
    with pytest.raises(SignatureInputError) as caught:
        load_signers((spec,))
    assert caught.value.exit_code == 2 and "sigstore.trustConfig: not a Sigstore ClientTrustConfig" in caught.value.message

"""DSSE over cryptography: the PAE of the spec, each key type, and securesystemslib agreeing."""
from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from releasegate.errors import SignatureError, SignatureInputError
from releasegate.signing.dsse import load_private_key, load_public_key, open_envelope, pae, sign_envelope

KEYS = {
    "ed25519": lambda: ed25519.Ed25519PrivateKey.generate(),
    "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
}


def pems(key):  # type: ignore[no-untyped-def]
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def test_pae_is_the_specified_encoding() -> None:
    """The example of the DSSE protocol document."""
    assert pae("http://example.com/HelloWorld", b"hello world") == \
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_each_key_type_signs_and_verifies_and_securesystemslib_agrees(kind: str) -> None:
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    private_pem, public_pem = pems(KEYS[kind]())
    envelope = sign_envelope(b'{"a": 1}', load_private_key(private_pem, "k"))
    payload, key = open_envelope(envelope, [load_public_key(public_pem, "pub", "the key")], "r")
    assert payload == b'{"a": 1}' and key.name == "the key"
    sslib = SSlibKey.from_crypto(serialization.load_pem_public_key(public_pem), keyid=envelope["signatures"][0]["keyid"])  # type: ignore[arg-type]
    assert list(Envelope.from_dict(envelope).verify([sslib], 1)) == [sslib.keyid]


def test_a_changed_payload_and_a_stranger_s_signature() -> None:
    private_pem, public_pem = pems(KEYS["ed25519"]())
    trusted = [load_public_key(public_pem, "pub")]
    envelope = sign_envelope(b"payload", load_private_key(private_pem, "k"))
    changed = {**envelope, "payload": base64.b64encode(b"Payload").decode()}
    with pytest.raises(SignatureError) as caught:
        open_envelope(changed, trusted, "evidence/x:1")
    assert caught.value.code == "signature-invalid"
    stranger = sign_envelope(b"payload", load_private_key(pems(KEYS["ed25519"]())[0], "k"))
    with pytest.raises(SignatureError) as caught:
        open_envelope(stranger, trusted, "evidence/x:1")
    assert caught.value.code == "untrusted-signer" and "signed by an untrusted key (keyid" in caught.value.message


@pytest.mark.parametrize("envelope", [[], {"signatures": []}, {"payloadType": "text/plain", "payload": "", "signatures": [{}]},
                                      {"payloadType": "application/vnd.in-toto+json", "payload": "!", "signatures": [{"sig": "x"}]}])
def test_things_that_are_no_envelope(envelope: object) -> None:
    with pytest.raises(SignatureInputError, match=r"^r:1: "):
        open_envelope(envelope, [], "r:1")


def test_unknown_key_types_are_refused_by_name() -> None:
    rsa_pem = pems(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with pytest.raises(SignatureInputError, match=r"unsupported key type \(RSAPrivateKey\)"):
        load_private_key(rsa_pem[0], "--key-file k.pem")
    with pytest.raises(SignatureInputError, match=r"unsupported key type \(RSAPublicKey\)"):
        load_public_key(rsa_pem[1], "policies/keys/e.pub")
    with pytest.raises(SignatureInputError, match="not a PEM public key"):
        load_public_key(b"garbage", "policies/keys/e.pub")

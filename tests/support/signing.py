"""Keys, a small CA and model-signing bundles made in the test (cryptography; never the network)."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path

    @property
    def public_pem(self) -> str:
        return self.public.read_text()


def ec_key(folder: Path, name: str = "signer", curve: ec.EllipticCurve | None = None) -> KeyPair:
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(curve or ec.SECP256R1())
    private, public = folder / f"{name}.key", folder / f"{name}.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return KeyPair(private, public)


def ed25519_public(folder: Path, name: str = "ed") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pub"
    path.write_bytes(ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


@dataclass(frozen=True)
class CertificateAuthority:
    cert: Path
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def make_ca(folder: Path, name: str = "Test Release CA") -> CertificateAuthority:
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=3650)).not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    path = folder / f"{name.replace(' ', '-').lower()}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CertificateAuthority(path, key, cert)


def leaf_certificate(ca: CertificateAuthority, folder: Path, identity: str, *, not_before: dt.datetime | None = None,
                     not_after: dt.datetime | None = None, name: str = "leaf") -> tuple[Path, Path]:
    """A code-signing certificate for the e-mail ``identity``: (private key, certificate) files."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or NOW - dt.timedelta(days=30)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity)]))
            .issuer_name(ca.certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(not_after or NOW + dt.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(identity)]), critical=False)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .sign(ca.key, hashes.SHA256()))
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def sign_with_key(model: Path, key: KeyPair, bundle: Path) -> Path:
    import model_signing

    model_signing.signing.Config().use_elliptic_key_signer(private_key=key.private).sign(model, bundle)
    return bundle


def sign_with_certificate(model: Path, key: Path, cert: Path, bundle: Path, chain: tuple[Path, ...]) -> Path:
    """Sign with a certificate; ``chain`` must not be empty (model-signing cannot sign without one)."""
    import model_signing

    model_signing.signing.Config().use_certificate_signer(private_key=key, signing_certificate=cert,
                                                          certificate_chain=list(chain)).sign(model, bundle)
    return bundle


def write_model(path: Path, content: bytes = b"torch-export weights " * 64) -> str:
    """A stand-in model file; returns its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return hashlib.sha256(content).hexdigest()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def flip_byte(path: Path, offset: int = 7) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))

"""The checks model-signing leaves to us for certificate signatures: identity and validity now.

model-signing verifies the chain *as of the moment the signing certificate was issued*, so a
certificate that has since expired still verifies there, and it never looks at whose
certificate it is. Here the signing certificate must name the signer's identity (a subject
alternative name: e-mail, URI or DNS name, or else the subject's common name), and it and the
intermediates in the bundle must be valid at ``now``, give or take the allowed clock skew.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import NameOID

from releasegate.errors import SignatureError, SignatureInputError
from releasegate.signing.bundle import Bundle


def check_certificate(bundle: Bundle, identity: str, now: datetime, skew: timedelta, signer: str) -> None:
    """Raise :class:`SignatureError` unless the bundle's certificates name ``identity`` and are valid at ``now``."""
    try:
        chain = [x509.load_der_x509_certificate(der) for der in bundle.certificates]
    except ValueError as e:
        raise SignatureInputError(f"{bundle.source}: a certificate in the bundle is not DER ({e})",
                                  "sign the model again", code="bundle-unreadable") from e
    if not chain:
        raise SignatureInputError(f"{bundle.source}: the bundle has no signing certificate", "sign the model again",
                                  code="bundle-unreadable")
    names = identities(chain[0])
    if identity not in names:
        raise SignatureError(f"{bundle.source}: the signing certificate is for {', '.join(names) or '(no identity)'}, "
                             f"not {identity} ({signer})",
                             "have the trusted identity sign the model, or fix certificateIdentity in the policy pack "
                             "in a pull request of its own", code="certificate-identity")
    for position, cert in enumerate(chain):
        _valid_at(cert, now, skew, bundle.source, "the signing certificate" if position == 0 else
                  f"certificate {position + 1} of the bundle's chain")


def identities(cert: x509.Certificate) -> list[str]:
    """The e-mail addresses, URIs and DNS names a certificate is for (else its common name)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*san.get_values_for_type(x509.RFC822Name), *san.get_values_for_type(x509.UniformResourceIdentifier),
                 *san.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = []
    if names:
        return names
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def _valid_at(cert: x509.Certificate, now: datetime, skew: timedelta, source: str, what: str) -> None:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if now + skew < start:
        ahead = start - now
        raise SignatureError(
            f"{source}: {what} is not valid yet: valid from {_iso(start)}, and this machine's clock says {_iso(now)} "
            f"({_span(ahead)} earlier, more than the {_span(skew)} of clock skew allowed)",
            "check this machine's clock (and the signer's: the certificate was issued by a clock that runs ahead); "
            "sign again once the clocks agree", code="certificate-not-yet-valid")
    if now - skew > end:
        raise SignatureError(f"{source}: {what} expired at {_iso(end)} (now {_iso(now)})",
                             "sign the model again with a valid certificate", code="certificate-expired")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds // 86400} d {seconds % 86400 // 3600} h"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 60} min {seconds % 60} s"

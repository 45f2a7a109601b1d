"""``model-signature``: validate verifies the bundles it can reach against the base's signers."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from releasegate.errors import ConfigError, SignatureInputError
from releasegate.layout import RepoLayout
from releasegate.validate import run_validation
from releasegate.validate.context import Violation
from tests.support import signing as s

pytest.importorskip("model_signing")

PROD = "environments/prod/releases/sentiment.yaml"
OLD_URI = "s3://models/sentiment/1.4.0/model.pt2"
OLD_SHA = "e30f36948b55a0018d7a78c18e3340ade33a76a461e2ebf0013f6bbe3dd37b65"


def add_signers(repo: Path, signers_yaml: str, env: str = "prod") -> None:
    pack = repo / "policies/policy-pack.yaml"
    text = pack.read_text()
    anchor = f"  - name: {env}\n"
    pack.write_text(text.replace(anchor, anchor + signers_yaml))


def release_with(repo: Path, uri: str, digest: str, signature: str | None) -> Path:
    path = repo / PROD
    text = path.read_text().replace(OLD_URI, uri).replace(OLD_SHA, digest).replace("version: 1.4.0", "version: 1.9.0")
    if signature is not None:
        text = text.replace("\n    lineage:", f"\n      signature:\n{signature}    lineage:", 1)
    path.write_text(text)
    return path


def validate(repo: Path, now: dt.datetime = s.NOW) -> list[Violation]:
    return [v for v in run_validation(RepoLayout(repo), [repo / PROD], now=now).violations]


@pytest.fixture
def signed(example_repo: Path) -> tuple[Path, s.KeyPair, str]:
    """prod trusts policies/keys/release.pub; the release names models/sentiment.pt2 and its bundle."""
    key = s.ec_key(example_repo / "policies/keys", "release")
    key.private.rename(example_repo.parent / "release.key")
    key = s.KeyPair(example_repo.parent / "release.key", key.public)
    add_signers(example_repo, "    signers:\n      - {name: release key, publicKey: keys/release.pub}\n")
    digest = s.write_model(example_repo / "models/sentiment.pt2")
    bundle = s.sign_with_key(example_repo / "models/sentiment.pt2", key, example_repo / "models/sentiment.sig")
    release_with(example_repo, "models/sentiment.pt2", digest,
                 f"        uri: models/sentiment.sig\n        sha256: \"{s.sha256(bundle)}\"\n")
    return example_repo, key, digest


def test_a_signed_release_passes(signed: tuple[Path, s.KeyPair, str]) -> None:
    assert validate(signed[0]) == []


def test_a_flipped_byte_in_the_model_is_located_at_the_signature(signed: tuple[Path, s.KeyPair, str]) -> None:
    repo, _, digest = signed
    s.flip_byte(repo / "models/sentiment.pt2")
    [v] = validate(repo)
    assert (v.rule, v.file, v.line, v.path) == ("model-signature", PROD, 17, "$.spec.model.artifact.signature")
    assert v.message.startswith(f"models/sentiment.pt2: does not match its signature models/sentiment.sig: signed sha256 {digest}")


def test_a_wrong_signer(signed: tuple[Path, s.KeyPair, str]) -> None:
    repo, _, digest = signed
    other = s.ec_key(repo.parent / "other", "other")
    bundle = s.sign_with_key(repo / "models/sentiment.pt2", other, repo / "models/sentiment.sig")
    text = (repo / PROD).read_text()
    (repo / PROD).write_text(text.replace(text.split("sha256: \"")[2][:64], s.sha256(bundle)))
    [v] = validate(repo)
    assert v.rule == "model-signature" and "not a trusted signer of prod (trusted: release key)" in v.message


def test_a_bundle_that_is_not_the_pinned_one(signed: tuple[Path, s.KeyPair, str]) -> None:
    repo, key, _ = signed
    (repo / "models/sentiment.sig").write_text((repo / "models/sentiment.sig").read_text() + " ")
    [v] = validate(repo)
    assert "models/sentiment.sig: the signature bundle has sha256" in v.message and "the release pins" in v.message


def test_a_missing_signature_where_the_environment_requires_one(example_repo: Path) -> None:
    s.ec_key(example_repo / "policies/keys", "release")
    add_signers(example_repo, "    signers:\n      - {publicKey: keys/release.pub}\n")
    [v] = validate(example_repo)
    assert (v.rule, v.line, v.path) == ("model-signature", 11, "$.spec.model.artifact")
    assert v.message == "no signature: environment prod requires the model to be signed by one of: key policies/keys/release.pub"


def test_require_signature_false_lets_unsigned_releases_through(example_repo: Path) -> None:
    s.ec_key(example_repo / "policies/keys", "release")
    add_signers(example_repo, "    requireSignature: false\n    signers:\n      - {publicKey: keys/release.pub}\n")
    assert validate(example_repo) == []


def test_an_unreachable_bundle_is_left_to_the_load_test(signed: tuple[Path, s.KeyPair, str]) -> None:
    repo = signed[0]
    shutil.rmtree(repo / "models")
    assert validate(repo) == []


def test_a_remote_bundle_in_the_artifact_cache_is_verified(signed: tuple[Path, s.KeyPair, str], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the model at hand, the signature is still bound to the pinned sha256."""
    repo, key, digest = signed
    cache = tmp_path / "cache"
    cache.mkdir()
    other = s.write_model(tmp_path / "other.pt2", b"another model")
    bundle = s.sign_with_key(tmp_path / "other.pt2", key, tmp_path / "other.sig")
    shutil.copy(bundle, cache / s.sha256(bundle))
    release_with(repo, "s3://models/sentiment/1.4.0/model.pt2", digest, None)
    text = (repo / PROD).read_text().replace("uri: models/sentiment.sig", "uri: s3://models/sentiment/1.4.0/model.sig")
    (repo / PROD).write_text(text.replace(text.split("sha256: \"")[2][:64], s.sha256(bundle)))
    monkeypatch.setenv("RELEASEGATE_ARTIFACT_CACHE", str(cache))
    [v] = validate(repo)
    assert v.message.startswith(f"s3://models/sentiment/1.4.0/model.sig: the signature is for another file: it signs "
                                f"sha256 {other}, the release pins {digest}")


def test_an_expired_certificate_and_clock_skew_use_validate_now(example_repo: Path) -> None:
    ca = s.make_ca(example_repo / "policies/keys", "Release CA")
    add_signers(example_repo, "    signers:\n      - {certificateIdentity: ml@example.com, caBundle: keys/release-ca.pem}\n")
    key, cert = s.leaf_certificate(ca, example_repo.parent / "leaf", "ml@example.com",
                                   not_before=s.NOW - dt.timedelta(days=10), not_after=s.NOW + dt.timedelta(days=10))
    digest = s.write_model(example_repo / "models/m.pt2")
    bundle = s.sign_with_certificate(example_repo / "models/m.pt2", key, cert, example_repo / "models/m.sig", (ca.cert,))
    release_with(example_repo, "models/m.pt2", digest, f"        uri: models/m.sig\n        sha256: \"{s.sha256(bundle)}\"\n")
    assert validate(example_repo) == []
    [late] = validate(example_repo, s.NOW + dt.timedelta(days=14))
    assert "models/m.sig: the signing certificate expired at 2026-11-28T12:00:00Z" in late.message
    [early] = validate(example_repo, s.NOW - dt.timedelta(days=14))
    assert "is not valid yet" in early.message and "clock" in early.hint


def test_an_unsupported_key_in_the_policy_stops_validation(signed: tuple[Path, s.KeyPair, str]) -> None:
    repo = signed[0]
    s.ed25519_public(repo / "policies/keys", "release")
    with pytest.raises(SignatureInputError, match=r"environments\[2\]\.signers\[0\]: publicKey: unsupported key type"):
        validate(repo)


def test_a_broken_signers_entry_is_a_policy_error(example_repo: Path) -> None:
    add_signers(example_repo, "    signers:\n      - {publicKey: keys/a.pub, caBundle: keys/ca.pem}\n")
    with pytest.raises(ConfigError, match=r"invalid policy pack:\n  policies/policy-pack.yaml:\d+:\d+: \$\.environments\[2\]\.signers\[0\]"):
        validate(example_repo)

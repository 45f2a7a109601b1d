"""Artifacts: local paths, file:// URIs, staged remote URIs, the fetcher hook, digests."""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from releasegate.loadtest.artifacts import SignatureTrust, fetch
from releasegate.loadtest.errors import LoadTestError
from releasegate.policy import ArtifactPolicy

DATA = b"model bytes"
SHA = hashlib.sha256(DATA).hexdigest()


def _release(uri: str, sha: str | None = SHA) -> dict:  # type: ignore[type-arg]
    artifact = {"uri": uri, "format": "torchscript"}
    if sha:
        artifact["sha256"] = sha
    return {"spec": {"model": {"artifact": artifact}}}


@pytest.mark.parametrize("uri", ["models/m.pt", "file://models/m.pt"])
def test_relative_paths_are_from_the_repository_root(tmp_path: Path, uri: str) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.pt").write_bytes(DATA)
    art = fetch(_release(uri), "r.yaml", tmp_path, tmp_path / "work")
    assert art.path == tmp_path / "models" / "m.pt" and art.sha256 == SHA and art.format == "torchscript"


def test_absolute_file_uri_inside_an_artifact_root(tmp_path: Path) -> None:
    (tmp_path / "m.pt").write_bytes(DATA)
    roots = ArtifactPolicy(roots=(str(tmp_path),))
    assert fetch(_release(f"file://{tmp_path}/m.pt"), "r", Path("/nonexistent"), tmp_path, roots).path == tmp_path / "m.pt"


def test_remote_uri_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / SHA).write_bytes(DATA)
    monkeypatch.setenv("RELEASEGATE_ARTIFACT_CACHE", str(tmp_path))
    assert fetch(_release("s3://bucket/m.pt"), "r", tmp_path, tmp_path).path == tmp_path / SHA


def test_remote_uri_through_the_fetcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fetcher = tmp_path / "fetch.sh"
    fetcher.write_text(f"#!/bin/sh\nprintf '{DATA.decode()}' > \"$2\"\necho \"$1\" > {tmp_path}/asked\n")
    fetcher.chmod(fetcher.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("RELEASEGATE_ARTIFACT_FETCHER", str(fetcher))
    art = fetch(_release("https://models.example/m.pt"), "r", tmp_path, tmp_path / "work")
    assert art.path == tmp_path / "work" / "artifacts" / SHA
    assert (tmp_path / "asked").read_text().strip() == "https://models.example/m.pt"


@pytest.mark.parametrize(("release", "code", "fragment"), [
    (_release("models/none.pt"), "artifact-unreachable", "is not a file"),
    (_release("gs://b/m.pt"), "artifact-unreachable", "RELEASEGATE_ARTIFACT_CACHE is not set"),
    (_release("models/m.pt", sha=None), "no-digest", "only loads verified artifacts"),
    (_release("models/m.pt", sha="f" * 64), "digest-mismatch", "sha256 mismatch"),
])
def test_failures_have_codes(tmp_path: Path, release: dict, code: str, fragment: str,  # type: ignore[type-arg]
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELEASEGATE_ARTIFACT_CACHE", raising=False)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.pt").write_bytes(DATA)
    with pytest.raises(LoadTestError) as e:
        fetch(release, "r.yaml", tmp_path, tmp_path / "work")
    assert e.value.code == code and fragment in str(e.value)
    assert os.listdir(tmp_path) == ["models"]  # nothing half-written


# --- Attacks: a pull request names the artifact, so it must not reach outside the allowed roots.

def test_artifact_outside_the_repository_is_refused_without_reading_it(tmp_path: Path) -> None:
    repo, secret = tmp_path / "repo", tmp_path / "secret.txt"
    repo.mkdir()
    secret.write_bytes(b"runner secret")
    for uri in (f"file://{secret}", str(secret), "../secret.txt", "file://../secret.txt"):
        with pytest.raises(LoadTestError) as e:
            fetch(_release(uri), "r.yaml", repo, tmp_path / "work")
        assert e.value.code == "artifact-outside-roots", uri
        assert hashlib.sha256(b"runner secret").hexdigest() not in str(e.value)  # no digest oracle


def test_a_link_in_the_repository_pointing_outside_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    (tmp_path / "outside.pt").write_bytes(DATA)
    os.symlink(tmp_path / "outside.pt", repo / "models" / "m.pt")
    with pytest.raises(LoadTestError) as e:
        fetch(_release("models/m.pt"), "r.yaml", repo, tmp_path / "work")
    assert e.value.code == "artifact-outside-roots"


@pytest.mark.parametrize("sha", ["../x", "../../etc/passwd", "A" * 64, "g" * 64])
def test_a_digest_that_is_not_64_lowercase_hex_is_never_used_as_a_file_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sha: str) -> None:
    monkeypatch.setenv("RELEASEGATE_ARTIFACT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(LoadTestError) as e:
        fetch(_release("s3://bucket/m.pt", sha=sha), "r.yaml", tmp_path, tmp_path / "work")
    assert e.value.code == "no-digest" and "64 lowercase hex" in str(e.value)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "x").exists()


def test_a_cached_download_with_the_wrong_digest_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / SHA).write_bytes(b"tampered")
    monkeypatch.setenv("RELEASEGATE_ARTIFACT_CACHE", str(cache))
    with pytest.raises(LoadTestError) as e:
        fetch(_release("s3://bucket/m.pt"), "r.yaml", tmp_path, tmp_path / "work")
    assert e.value.code == "digest-mismatch" and "the cached copy was removed" in str(e.value)
    assert not (cache / SHA).exists()  # the next run fetches again instead of failing forever


def test_a_scheme_the_policy_does_not_allow_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LoadTestError, match="scheme ftp:// is not allowed"):
        fetch(_release("ftp://host/m.pt"), "r.yaml", tmp_path, tmp_path / "work")


def test_an_oversized_artifact_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.pt").write_bytes(DATA)
    with pytest.raises(LoadTestError, match="more than artifacts.maxBytes"):
        fetch(_release("m.pt"), "r.yaml", tmp_path, tmp_path / "work", ArtifactPolicy(max_bytes=4))


def test_the_fetcher_gets_no_tokens_only_the_variables_the_policy_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fetcher = tmp_path / "fetch.sh"
    fetcher.write_text(f"#!/bin/sh\nenv > {tmp_path}/env\nprintf '{DATA.decode()}' > \"$2\"\n")
    fetcher.chmod(fetcher.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("RELEASEGATE_ARTIFACT_FETCHER", str(fetcher))
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws_secret")
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/models")
    policy = ArtifactPolicy(fetcher_env=("AWS_ROLE_ARN",))
    fetch(_release("s3://bucket/m.pt"), "r", tmp_path, tmp_path / "work", policy)
    seen = (tmp_path / "env").read_text()
    assert "ghs_secret" not in seen and "aws_secret" not in seen
    assert "AWS_ROLE_ARN=arn:aws:iam::1:role/models" in seen and "PATH=" in seen


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "10.1.2.3", "[::1]", "localhost"])
def test_the_built_in_fetcher_refuses_the_runners_own_network(tmp_path: Path, host: str) -> None:
    policy = ArtifactPolicy(schemes=("http", "https"))
    with pytest.raises(LoadTestError, match="a private, loopback or link-local address"):
        fetch(_release(f"http://{host}/m.pt"), "r", tmp_path, tmp_path / "work", policy)
    assert not (tmp_path / "work" / "artifacts" / SHA).exists()


def test_the_built_in_fetcher_downloads_from_an_allowed_host_within_the_size_limit(tmp_path: Path) -> None:
    import http.server
    import threading

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "m.pt").write_bytes(DATA)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kw: object) -> None:
            super().__init__(*args, directory=str(tmp_path / "www"), **kw)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_port}/m.pt"
        allowed = ArtifactPolicy(schemes=("http",), allow_hosts=("127.0.0.1",))
        art = fetch(_release(uri), "r", tmp_path, tmp_path / "work", allowed)
        assert art.path.read_bytes() == DATA
        art.path.unlink()
        with pytest.raises(LoadTestError, match="larger than artifacts.maxBytes"):
            fetch(_release(uri), "r", tmp_path, tmp_path / "work",
                  ArtifactPolicy(schemes=("http",), allow_hosts=("127.0.0.1",), max_bytes=3))
        assert list((tmp_path / "work" / "artifacts").iterdir()) == []  # no partial file left
    finally:
        server.shutdown()
        server.server_close()


# --- signatures (OpenSSF model-signing), checked after the digest and before anything loads ---------

def _signed(tmp_path: Path) -> tuple[dict, SignatureTrust, Path]:  # type: ignore[type-arg]
    from releasegate.signing.trust import KEY, SignerSpec
    from tests.support import signing as s

    pytest.importorskip("model_signing")
    key = s.ec_key(tmp_path / "keys", "release")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.pt").write_bytes(DATA)
    bundle = s.sign_with_key(tmp_path / "models" / "m.pt", key, tmp_path / "models" / "m.sig")
    release = _release("models/m.pt")
    release["spec"]["model"]["artifact"]["signature"] = {"uri": "models/m.sig", "sha256": s.sha256(bundle)}
    trust = SignatureTrust("prod", (SignerSpec(KEY, "policy", tmp_path, "release key", public_key=key.public_pem),), True)
    return release, trust, bundle


def test_a_signed_artifact_names_its_signer(tmp_path: Path) -> None:
    release, trust, _ = _signed(tmp_path)
    assert fetch(release, "r.yaml", tmp_path, tmp_path / "work", None, trust).signed_by == "release key"


def test_a_signature_from_the_cache_is_checked_against_its_own_digest(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    release, trust, bundle = _signed(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    bundle_sha = release["spec"]["model"]["artifact"]["signature"]["sha256"]
    (cache / bundle_sha).write_bytes(bundle.read_bytes())
    release["spec"]["model"]["artifact"]["signature"]["uri"] = "s3://bucket/m.sig"
    monkeypatch.setenv("RELEASEGATE_ARTIFACT_CACHE", str(cache))
    assert fetch(release, "r.yaml", tmp_path, tmp_path / "work", None, trust).signed_by == "release key"


def test_an_unsigned_artifact_where_signatures_are_required(tmp_path: Path) -> None:
    release, trust, _ = _signed(tmp_path)
    del release["spec"]["model"]["artifact"]["signature"]
    with pytest.raises(LoadTestError) as caught:
        fetch(release, "r.yaml", tmp_path, tmp_path / "work", None, trust)
    assert caught.value.code == "signature-missing" and "prod only loads models signed" in caught.value.message


def test_a_wrong_signer_stops_the_load(tmp_path: Path) -> None:
    import dataclasses

    from tests.support import signing as s

    release, trust, _ = _signed(tmp_path)
    other = s.ec_key(tmp_path / "other", "other")
    trust = dataclasses.replace(trust, signers=(dataclasses.replace(trust.signers[0], public_key=other.public_pem),))
    with pytest.raises(LoadTestError) as caught:
        fetch(release, "r.yaml", tmp_path, tmp_path / "work", None, trust)
    assert caught.value.code == "untrusted-signer" and caught.value.message.startswith("models/m.sig: signed by key")


def test_a_truncated_bundle_stops_the_load(tmp_path: Path) -> None:
    import hashlib as h

    release, trust, bundle = _signed(tmp_path)
    bundle.write_bytes(bundle.read_bytes()[:100])
    release["spec"]["model"]["artifact"]["signature"]["sha256"] = h.sha256(bundle.read_bytes()).hexdigest()
    with pytest.raises(LoadTestError) as caught:
        fetch(release, "r.yaml", tmp_path, tmp_path / "work", None, trust)
    assert caught.value.code == "bundle-unreadable" and "models/m.sig: not a signature bundle" in caught.value.message

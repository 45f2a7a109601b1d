"""``releasegate serve --signature``: the model's signature is verified after its sha256, before it loads."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from releasegate.cli import main
from tests.support import signing as s
from tests.unit.serve.serve_testkit import config_for, http, running

pytest.importorskip("torch")
pytest.importorskip("model_signing")
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    from safetensors.torch import save_file

    from releasegate.serve.models import build

    path = tmp_path / "tiny.safetensors"
    save_file(build("tiny-encoder").state_dict(), str(path))
    return path


@pytest.fixture
def signed(tmp_path: Path, weights: Path) -> tuple[Path, s.KeyPair]:
    key = s.ec_key(tmp_path / "keys", "release")
    return s.sign_with_key(weights, key, tmp_path / "tiny.sig"), key


def _serve(weights: Path, *extra: str) -> list[str]:
    return ["serve", str(weights), "--sha256", s.sha256(weights), "--factory", "tiny-encoder", "--port", "0",
            "--device", "cpu", *extra]


def test_a_signed_model_loads_and_serves(weights: Path, signed: tuple[Path, s.KeyPair]) -> None:
    from releasegate.cli.serve import trusted_signers

    bundle, key = signed
    signers = trusted_signers(bundle, (key.public,), None, None, (None, None, None))
    with running(config_for(weights, factory="tiny-encoder", signature=bundle, signers=signers)) as server:
        status, _, body = http(server.info.port, "GET", "/v2/models/model")  # type: ignore[union-attr]
    assert status == 200 and json.loads(body)["name"] == "model"


def test_a_wrong_signer_refuses_to_load(tmp_path: Path, weights: Path, signed: tuple[Path, s.KeyPair],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    other = s.ec_key(tmp_path / "other", "other")
    code = main(_serve(weights, "--signature", str(signed[0]), "--trusted-key", str(other.public)))
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"error: {signed[0]}: signed by key sha256:" in err and f"not a trusted signer of this server (trusted: {other.public})" in err


def test_a_model_changed_after_signing_refuses_to_load(tmp_path: Path, weights: Path, signed: tuple[Path, s.KeyPair],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    bundle, key = signed
    s.flip_byte(weights, 200)
    code = main(_serve(weights, "--signature", str(bundle), "--trusted-key", str(key.public)))
    err = capsys.readouterr().err
    assert code == 1 and f"{bundle}: the signature is for another file: it signs sha256" in err


@pytest.mark.parametrize(("damage", "fragment"), [
    (lambda b: b.write_bytes(b.read_bytes()[:300]), "not a signature bundle: not JSON"),
    (lambda b: b.write_bytes(b"{" + b" " * (5 * 1024 * 1024)), "larger than 4,194,304 bytes"),
])
def test_a_truncated_or_oversized_bundle_is_bad_input(weights: Path, signed: tuple[Path, s.KeyPair], damage, fragment: str,  # type: ignore[no-untyped-def]
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bundle, key = signed
    damage(bundle)
    code = main(_serve(weights, "--signature", str(bundle), "--trusted-key", str(key.public)))
    err = capsys.readouterr().err
    assert code == 2 and f"error: {bundle}: " in err and fragment in err and "Traceback" not in err


def test_an_unknown_key_type_is_bad_input(tmp_path: Path, weights: Path, signed: tuple[Path, s.KeyPair],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    ed = s.ed25519_public(tmp_path)
    code = main(_serve(weights, "--signature", str(signed[0]), "--trusted-key", str(ed)))
    err = capsys.readouterr().err
    assert code == 2 and f"--trusted-key {ed}: publicKey: unsupported key type (Ed25519PublicKey)" in err


@pytest.mark.parametrize("flags", [("--trusted-key", "KEY"), ("--signature", "SIG"),
                                   ("--signature", "SIG", "--certificate-identity", "a@example.com")])
def test_signature_flags_go_together(weights: Path, signed: tuple[Path, s.KeyPair], flags: tuple[str, ...],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    values = {"KEY": str(signed[1].public), "SIG": str(signed[0])}
    code = main(_serve(weights, *(values.get(f, f) for f in flags)))
    assert code == 2 and "error: " in capsys.readouterr().err

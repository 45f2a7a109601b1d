"""``environments[].signers`` in the policy pack: parsed, checked, and a change to them described."""
from __future__ import annotations

from pathlib import Path

import pytest

from releasegate.errors import ConfigError
from releasegate.layout import RepoLayout
from releasegate.policy import load_policy_pack
from releasegate.signing.trust import CERTIFICATE, KEY, SIGSTORE
from releasegate.validate.policy_change import pack_weakenings

SIGNERS = """    signers:
      - {name: release key, publicKey: keys/release.pub}
      - {certificateIdentity: ml@example.com, caBundle: keys/ca.pem}
      - sigstore: {identity: https://github.com/o/r/.github/workflows/t.yml@refs/heads/main,
                   issuer: https://token.actions.githubusercontent.com, trustConfig: keys/trust.json}
"""


def _pack(repo: Path, extra: str, env: str = "prod"):  # type: ignore[no-untyped-def]
    pack = repo / "policies/policy-pack.yaml"
    anchor = f"  - name: {env}\n"
    pack.write_text(pack.read_text().replace(anchor, anchor + extra))
    return load_policy_pack(RepoLayout(repo))


def test_signers_are_parsed_by_kind_and_require_a_signature(example_repo: Path) -> None:
    prod = _pack(example_repo, SIGNERS).environment("prod")
    assert prod is not None and prod.require_signature
    assert [s.kind for s in prod.signers] == [KEY, CERTIFICATE, SIGSTORE]
    assert prod.signers[0].label == "release key"
    assert prod.signers[1].label == "certificate ml@example.com (CA policies/keys/ca.pem)"
    assert prod.signers[0].where == "policies/policy-pack.yaml: environments[2].signers[0]"


def test_require_signature_without_signers_is_a_policy_error(example_repo: Path) -> None:
    with pytest.raises(ConfigError, match="environment 'prod' requires a signature but names no signers"):
        _pack(example_repo, "    requireSignature: true\n")


@pytest.mark.parametrize("entry", ["{publicKey: k.pub, sigstore: {identity: a, issuer: b, trustConfig: c}}",
                                   "{certificateIdentity: a@example.com}", "{caBundle: ca.pem}", "{}",
                                   "{sigstore: {identity: a, issuer: b}}"])
def test_a_signer_is_exactly_one_kind(example_repo: Path, entry: str) -> None:
    with pytest.raises(ConfigError, match=r"\$\.environments\[2\]\.signers\[0\]"):
        _pack(example_repo, f"    signers:\n      - {entry}\n")


def test_a_new_signer_and_a_dropped_requirement_are_weakenings(tmp_path: Path, example_repo: Path) -> None:
    import shutil

    base = _pack(example_repo, SIGNERS)
    head_repo = tmp_path / "head"
    shutil.copytree(example_repo, head_repo)
    pack = head_repo / "policies/policy-pack.yaml"
    text = pack.read_text().replace("{name: release key, publicKey: keys/release.pub}", "{publicKey: keys/other.pub}")
    pack.write_text(text.replace("    signers:\n", "    requireSignature: false\n    signers:\n"))
    assert pack_weakenings(base, load_policy_pack(RepoLayout(head_repo))) == [
        "prod: requireSignature turned off (models need no signature)",
        "prod: signers: trusts a new signer, key policies/keys/other.pub"]


def test_evidence_policy_and_its_weakenings(tmp_path: Path, example_repo: Path) -> None:
    import shutil

    pack = example_repo / "policies/policy-pack.yaml"
    pack.write_text(pack.read_text() + "evidence:\n  signers:\n    - {name: bot, publicKey: keys/evidence.pub}\n"
                    "  requiredFor: [prod]\n  since: \"2026-01-01T00:00:00Z\"\n")
    base = load_policy_pack(RepoLayout(example_repo))
    assert (base.evidence.signers[0].label, base.evidence.required_for, base.evidence.branch) == \
        ("bot", ("prod",), "releasegate/evidence")
    head_repo = tmp_path / "head"
    shutil.copytree(example_repo, head_repo)
    head_pack = head_repo / "policies/policy-pack.yaml"
    head_pack.write_text(head_pack.read_text().replace("requiredFor: [prod]", "requiredFor: []")
                         .replace("- {name: bot, publicKey: keys/evidence.pub}", "- {publicKey: keys/other.pub}")
                         .replace("2026-01-01", "2026-06-01"))
    assert pack_weakenings(base, load_policy_pack(RepoLayout(head_repo))) == [
        "evidence: trusts a new evidence signer, key policies/keys/other.pub",
        "evidence: requiredFor no longer includes prod (its decisions need no record)",
        "evidence: since moved from 2026-01-01T00:00:00+00:00 to 2026-06-01T00:00:00+00:00"]

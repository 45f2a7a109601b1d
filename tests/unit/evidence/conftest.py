"""A release history with merge commits and a policy pack that names an evidence key."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.conftest import PROJECT
from tests.gitrepo import Repo, init_repo, path, release

EVIDENCE = """evidence:
  signers:
    - {name: evidence bot, publicKey: keys/evidence.pub}
  requiredFor: [prod]
  since: "2026-01-01T00:00:00Z"
"""
PROD = path("prod", "sentiment")


@dataclass(frozen=True)
class Story:
    repo: Repo
    key: Path  # the evidence bot's private key (outside the repository)
    prod_merge: str  # PR #3: sentiment 1.1.0 to prod

    @property
    def root(self) -> Path:
        return self.repo.root


def write_key(folder: Path, name: str) -> tuple[Path, bytes]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = folder / f"{name}.key"
    folder.mkdir(parents=True, exist_ok=True)
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return private, key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def build(root: Path) -> Story:
    private, public = write_key(root.parent / "secrets", "evidence")
    repo = init_repo(root, {
        path("dev", "sentiment"): release("sentiment", "1.0.0"),
        path("staging", "sentiment"): release("sentiment", "1.0.0"),
        PROD: release("sentiment", "1.0.0", env="prod"),  # idle: no canary runs before PR #3 starts one
        "policies/keys/evidence.pub": public.decode(),
        "policies/policy-pack.yaml": (PROJECT / "policies/policy-pack.yaml").read_text() + EVIDENCE,
    }, when="2026-01-05T09:00:00Z")
    repo.merge_pr(1, "dev", "2026-01-06T10:00:00Z", {path("dev", "sentiment"): release("sentiment", "1.1.0")},
                  "Promote sentiment 1.1.0 to dev", author="Pat Dev")
    repo.merge_pr(2, "stg", "2026-01-07T10:00:00Z", {path("staging", "sentiment"): release("sentiment", "1.1.0")},
                  "Promote sentiment 1.1.0 to staging", author="Pat Dev")
    prod = repo.merge_pr(3, "prod", "2026-01-09T12:00:00Z",
                         {PROD: release("sentiment", "1.1.0", env="prod", stable="1.0.0")},
                         "Promote sentiment 1.1.0 to prod", author="Pat Dev")
    return Story(repo, private, prod)


@pytest.fixture
def story(tmp_path: Path) -> Story:
    return build(tmp_path / "gitops")

"""Trusted signers: who may sign the models of an environment (``environments[].signers``).

They come from the policy pack of the base commit, like every rule that judges a pull request::

    environments:
      - name: prod
        signers:
          - publicKey: keys/release.pub            # a file inside policies/, or the PEM itself
          - certificateIdentity: ml-release@example.com
            caBundle: keys/release-ca.pem          # the CA that issued the certificate
          - sigstore:
              identity: https://github.com/org/train/.github/workflows/train.yml@refs/heads/main
              issuer: https://token.actions.githubusercontent.com
              trustConfig: keys/sigstore-trust-config.json   # verified offline against this file

A file named here must lie inside ``policies/`` (no ``..``, no absolute path, no link out of
it): the base's ``policies/`` is extracted as regular files only (:mod:`releasegate.base_rules`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from releasegate.errors import ConfigError

KEY = "key"
CERTIFICATE = "certificate"
SIGSTORE = "sigstore"
PEM_START = "-----BEGIN "
MAX_MATERIAL_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SignerSpec:
    """One trusted signer of an environment, as the policy pack names it (files not read yet)."""

    kind: str  # KEY, CERTIFICATE or SIGSTORE
    where: str = field(compare=False)  # "policies/policy-pack.yaml: environments[2].signers[0]" (@ref from a commit)
    policies_dir: Path = field(compare=False)
    name: str | None = None
    public_key: str | None = None  # PEM, or a path inside policies/
    identity: str | None = None  # certificate or Sigstore identity
    ca_bundle: str | None = None  # PEM, or a path inside policies/
    issuer: str | None = None  # Sigstore OIDC issuer
    trust_config: str | None = None  # path inside policies/ (a Sigstore ClientTrustConfig JSON)

    @property
    def label(self) -> str:
        """How reports name this signer."""
        if self.name:
            return self.name
        if self.kind == KEY:
            return f"key {_short(self.public_key)}"
        if self.kind == CERTIFICATE:
            return f"certificate {self.identity} (CA {_short(self.ca_bundle)})"
        return f"sigstore {self.identity} ({self.issuer})"

    def material(self, value: str | None, what: str) -> bytes:
        """The bytes of a PEM field: inline, or read from its file inside ``policies/``."""
        if value is None:
            raise ConfigError(f"{self.where}: {what} is missing", f"add {what} to the signer")
        if value.lstrip().startswith(PEM_START):
            return value.encode("utf-8")
        return self.read(value, what)

    def read(self, relative: str, what: str) -> bytes:
        path = contained_file(self.policies_dir, relative, f"{self.where}: {what}")
        try:
            size = path.stat().st_size
            if size > MAX_MATERIAL_BYTES:
                raise ConfigError(f"{self.where}: {what} policies/{relative} is {size:,} bytes; keys, CA bundles and "
                                  f"trust configurations are smaller than {MAX_MATERIAL_BYTES:,}", "name the right file")
            return path.read_bytes()
        except OSError as e:
            raise ConfigError(f"{self.where}: {what} policies/{relative} cannot be read ({e.strerror or e})",
                              "commit the file under policies/ on the base branch") from e


def _short(value: str | None) -> str:
    if value is None:
        return "?"
    if value.lstrip().startswith(PEM_START):
        return "inline PEM sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]
    return f"policies/{value}"


def contained_file(policies_dir: Path, relative: str, where: str) -> Path:
    """``policies_dir/relative`` if it is a file that stays inside ``policies_dir`` (links resolved)."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not relative.strip():
        raise ConfigError(f"{where}: {relative!r} must be a path inside policies/",
                          "give the path relative to policies/ (e.g. keys/release.pub), without '..'")
    base = policies_dir.resolve()
    real = (policies_dir / relative).resolve()
    if base not in real.parents:
        raise ConfigError(f"{where}: policies/{relative} leads out of policies/", "commit the file itself under policies/")
    if not real.is_file():
        raise ConfigError(f"{where}: policies/{relative} does not exist", "commit the file under policies/ on the base branch")
    return real


def parse_signers(raw: list[dict[str, Any]], policies_dir: Path, where: str) -> tuple[SignerSpec, ...]:
    """The ``signers`` list of one environment (already checked against the policy-pack schema)."""
    return tuple(_signer(item, policies_dir, f"{where}.signers[{i}]") for i, item in enumerate(raw))


def _signer(item: dict[str, Any], policies_dir: Path, where: str) -> SignerSpec:
    name = item.get("name")
    if "publicKey" in item:
        return SignerSpec(KEY, where, policies_dir, name, public_key=item["publicKey"])
    if "certificateIdentity" in item:
        return SignerSpec(CERTIFICATE, where, policies_dir, name, identity=item["certificateIdentity"],
                          ca_bundle=item["caBundle"])
    sigstore = item["sigstore"]
    return SignerSpec(SIGSTORE, where, policies_dir, name, identity=sigstore["identity"], issuer=sigstore["issuer"],
                      trust_config=sigstore["trustConfig"])


def describe(signers: tuple[SignerSpec, ...]) -> str:
    return ", ".join(s.label for s in signers) or "(none)"

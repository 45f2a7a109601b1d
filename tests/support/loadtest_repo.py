"""Build GitOps repositories with tiny real torch models for the load-test gate's tests.

Models are TorchScript MLPs (input 64 floats) made here, in the test: a *slow* one
has more and wider layers, a *broken* one is a file that is no model at all. They are
served by ``tests/support/oip_server.py`` as an ``external`` runtime.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[2]
SERVER = Path(__file__).with_name("oip_server.py")
INPUT_DIM = 64

# A fast profile for tests: one concurrency level, 4 s interleaved, 0.1 s slots.
TEST_POLICY_PROFILES = {
    "test": {
        "extends": "smoke",
        "concurrency": [1],
        "phaseSeconds": 4,
        "slotSeconds": 0.1,
        "warmupSeconds": 0.5,
        "startupTimeoutSeconds": 60,
        "bootstrapReplicates": 400,
        "onInconclusive": "pass",
    },
    "open-test": {"extends": "test", "arrivalRateFractions": [0.5]},
    # The shipped gate, shortened: sides alternate until decided, first look after 3 s, at most 20 s.
    "gate-test": {
        "extends": "gate",
        "phaseSeconds": 3,
        "maxPhaseSeconds": 20,
        "slotSeconds": 0.1,
        "warmupSeconds": 0.5,
        "startupTimeoutSeconds": 60,
        "bootstrapReplicates": 400,
    },
    "gate-workers-test": {"extends": "gate-test", "workers": 2},
}


def make_model(path: Path, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """Save a TorchScript MLP 64 -> hidden x layers -> 2; bigger = slower."""
    import torch

    torch.manual_seed(seed)
    blocks: list[torch.nn.Module] = [torch.nn.Linear(INPUT_DIM, hidden), torch.nn.ReLU()]
    for _ in range(layers):
        blocks += [torch.nn.Linear(hidden, hidden), torch.nn.ReLU()]
    blocks.append(torch.nn.Linear(hidden, 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.script(torch.nn.Sequential(*blocks).eval()).save(str(path))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# The test OIP server as the base policy declares it: a release picks it by name and may set
# only the declared parameters (releasegate never runs a command from a release file).
_OIP_COMMAND = [sys.executable, str(SERVER), "{artifact}", "--model-name", "{model}", "--input-dim", str(INPUT_DIM),
                "{flag}", "{flagValue}"]
_OIP_PARAMETERS = {
    "flag": {"values": ["", "--never-ready", "--fail", "--crash-after", "--crash-after-seconds"], "default": ""},
    "flagValue": {"pattern": "[0-9.]*", "default": ""},
}
TEST_RUNTIMES = {
    "oip-test": {
        "command": [*_OIP_COMMAND, "--port", "{port}"],
        "readinessUrl": "http://127.0.0.1:{port}/v2/health/ready",
        "inferUrl": "http://127.0.0.1:{port}/v2/models/{model}/infer",
        "startupTimeoutSeconds": 60,
        "parameters": _OIP_PARAMETERS,
    },
    "oip-test-fixed-port": {
        "command": [*_OIP_COMMAND, "--port", "{fixedPort}"],
        "readinessUrl": "http://127.0.0.1:{fixedPort}/v2/health/ready",
        "inferUrl": "http://127.0.0.1:{fixedPort}/v2/models/{model}/infer",
        "startupTimeoutSeconds": 60,
        "parameters": {**_OIP_PARAMETERS, "fixedPort": {"pattern": "[0-9]{2,5}"}},
    },
}


def release(model_file: str, digest: str, version: str, *, extra_args: tuple[str, ...] = (),
            port: str = "{port}", slo: dict[str, float] | None = None, name: str = "toy") -> dict[str, object]:
    """A release document for ``name`` served by the test OIP server, an external runtime of the policy."""
    params: dict[str, str] = {}
    if extra_args:
        params["flag"] = extra_args[0]
        if len(extra_args) > 1:
            params["flagValue"] = extra_args[1]
    runtime = "oip-test"
    if port != "{port}":
        runtime, params["fixedPort"] = "oip-test-fixed-port", port
    external: dict[str, object] = {"name": runtime}
    if params:
        external["parameters"] = params
    doc: dict[str, object] = {
        "apiVersion": "releasegate/v1",
        "kind": "ModelRelease",
        "metadata": {"name": name, "owner": "team-test"},
        "spec": {
            "model": {"version": version,
                      "artifact": {"uri": model_file, "sha256": digest, "format": "torchscript"}},
            "runtime": {"kind": "external", "external": external},
        },
    }
    if slo:
        doc["spec"]["slo"] = slo  # type: ignore[index]
    return doc


def builtin_release(model_file: str, digest: str, version: str, name: str = "toy") -> dict[str, object]:
    """A release served by releasegate's own server (``releasegate serve``)."""
    return {
        "apiVersion": "releasegate/v1",
        "kind": "ModelRelease",
        "metadata": {"name": name, "owner": "team-test"},
        "spec": {
            "model": {"version": version,
                      "artifact": {"uri": model_file, "sha256": digest, "format": "torchscript"},
                      "signature": {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, INPUT_DIM]}]}},
            "runtime": {"kind": "builtin", "batching": {"maxBatch": 8, "maxDelayMs": 0}},
        },
    }


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def write_release(repo: Path, env: str, doc: dict[str, object], name: str = "toy") -> str:
    rel = f"environments/{env}/releases/{name}.yaml"
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text(yaml.safe_dump(doc, sort_keys=False))
    return rel


def make_repo(root: Path, policy_edit: dict[str, object] | None = None) -> Path:
    """A Git repository with this project's policies (plus the ``test`` profile), no releases."""
    import shutil

    repo = root / "repo"
    shutil.copytree(PROJECT / "policies", repo / "policies")
    pack_path = repo / "policies" / "policy-pack.yaml"
    pack = yaml.safe_load(pack_path.read_text())
    pack["loadTestProfiles"] = TEST_POLICY_PROFILES
    pack["runtimes"] = json.loads(json.dumps(TEST_RUNTIMES))  # no shared objects: YAML aliases are refused
    for env in pack["environments"]:
        if env["name"] == "staging":
            env["loadTest"]["profile"] = "test"
    if policy_edit:
        pack.update(policy_edit)
    pack_path.write_text(yaml.safe_dump(pack, sort_keys=False))
    (repo / "environments" / "staging" / "releases").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    return repo


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)

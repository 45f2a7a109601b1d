"""Release files and policy tweaks the demo writes, as text (no torch here)."""
from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from releasegate.demo.models import DemoArtifact

MODEL = "sentiment"


def dev_release(artifact: DemoArtifact, accuracy: float) -> str:
    """The release file an ML engineer writes by hand to put ``artifact`` into dev."""
    return f"""# Written by hand by the ML engineer: {artifact.note}.
apiVersion: releasegate/v1
kind: ModelRelease
metadata:
  name: {MODEL}
  owner: team-nlp
  description: Review sentiment classifier (demo).
spec:
  model:
    version: {artifact.version}
    artifact:
      uri: {artifact.path.resolve().as_uri()}
      sha256: "{artifact.sha256}"
      format: torch-export
    lineage:
      trainingCommit: "{artifact.sha256[:40]}"
      dataset: reviews-2026-10
    metrics:
      accuracy: {accuracy}
  runtime:
    kind: builtin
    resources:
      gpu: 1
      gpuType: nvidia-h100
      memory: 4Gi
      cpu: 2
    replicas: 2
    batching:
      maxBatch: 32
      maxDelayMs: 2
  rollout:
    strategy: rolling
  slo:
    p95LatencyMs: 250
    maxErrorRate: 0.01
"""


def relax_policy_for_this_machine(policy_pack: Path, has_gpu: bool) -> list[str]:
    """Adapt the template's policy pack to a laptop demo; returns what was changed, to be told."""
    yaml = YAML()
    yaml.preserve_quotes = True
    data = yaml.load(policy_pack.read_text(encoding="utf-8"))
    changes = []
    for env in data["environments"]:
        load_test = env.get("loadTest")
        if load_test is not None and load_test.get("requireGpu") and not has_gpu:
            load_test["requireGpu"] = False
            changes.append(f"{env['name']}: loadTest.requireGpu false (no GPU on this machine)")
        if load_test is not None and load_test.get("required"):
            load_test["profile"] = "smoke"
            changes.append(f"{env['name']}: loadTest.profile smoke (a short CPU profile)")
    with policy_pack.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    return changes

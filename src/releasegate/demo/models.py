"""Four small, real torch models for the demo, exported with ``torch.export``.

v1, v2 and v4 share an architecture but not weights (each answers differently); v3 is
v2 with extra arithmetic in its forward pass: it works, but slowly, which is what the
load-test gate exists to catch. v4 passes every gate: it is the canary that the
demo's alert stops. Imports torch, so only the demo loads this.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

FEATURES = 32
CLASSES = 3


@dataclass(frozen=True)
class DemoArtifact:
    version: str
    path: Path
    sha256: str
    note: str


def _classifier(seed: int, extra_rounds: int):  # type: ignore[no-untyped-def]
    import torch

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = torch.nn.Linear(FEATURES, 256)
            self.mix = torch.nn.Linear(256, 256)
            self.out = torch.nn.Linear(256, CLASSES)

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.hidden(features))
            for _ in range(extra_rounds):  # unrolled by torch.export: the slowness is baked in
                h = torch.tanh(self.mix(h)) * 0.5 + h * 0.5
            return self.out(h)

    torch.manual_seed(seed)
    return Classifier().eval()


def export_model(path: Path, seed: int, extra_rounds: int = 0) -> str:
    """Export one classifier to ``path`` (a ``.pt2`` program) and return its sha256."""
    import torch

    model = _classifier(seed, extra_rounds)
    example = (torch.zeros(2, FEATURES),)
    batch = torch.export.Dim("batch", min=1, max=4096)
    program = torch.export.export(model, example, dynamic_shapes={"features": {0: batch}})
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, str(path))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_demo_models(directory: Path) -> list[DemoArtifact]:
    """v1, v2 (new weights), v3 (v2 plus extra layers of compute) and v4 (new weights again)."""
    specs = [
        ("1.0.0", 1, 0, "first model"),
        ("1.1.0", 2, 0, "retrained: new weights, same speed"),
        ("1.2.0", 2, 160, "1.1.0 plus 160 extra layers of arithmetic per request: about twice as slow"),
        ("1.3.0", 3, 0, "retrained again: same speed, but it will misbehave on live traffic"),
    ]
    artifacts = []
    for version, seed, rounds, note in specs:
        path = directory / f"sentiment-{version}.pt2"
        artifacts.append(DemoArtifact(version, path, export_model(path, seed, rounds), note))
    return artifacts

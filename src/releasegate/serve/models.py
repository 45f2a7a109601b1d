"""releasegate's own model factories: the two reference encoders and a tiny one.

``bert-base`` (12 layers, d=768, 12 heads, sequence 128) and ``encoder-350m``
(24 layers, d=1024, 16 heads, sequence 512) match the reference models of the GPU
serving anchors; ``tiny-encoder`` is small enough for CPU tests and demos. Each
factory builds a randomly initialised (seeded) network; the server then loads the
artifact's weights into it. Registered under ``releasegate.model_factories``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

VOCAB = 30522


@dataclass(frozen=True)
class EncoderShape:
    """Size of a classification encoder: depth, width, heads, sequence length."""

    layers: int
    width: int
    heads: int
    seq: int
    vocab: int = VOCAB
    classes: int = 2


class ClassifierEncoder(nn.Module):
    """Token ids -> class logits: embedding, pre-norm transformer encoder, head on token 0."""

    def __init__(self, shape: EncoderShape) -> None:
        super().__init__()
        self.vocab = shape.vocab
        self.embed = nn.Embedding(shape.vocab, shape.width)
        block = nn.TransformerEncoderLayer(
            d_model=shape.width,
            nhead=shape.heads,
            dim_feedforward=4 * shape.width,
            dropout=0.0,
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(block, num_layers=shape.layers, enable_nested_tensor=False)
        self.classify = nn.Linear(shape.width, shape.classes)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        # Clamp so that an out-of-vocabulary id from a client is no device-side assert on a GPU.
        ids = input_ids.clamp(0, self.vocab - 1)
        hidden = self.encoder(self.embed(ids))
        return self.classify(hidden[:, 0])


SHAPES: dict[str, EncoderShape] = {
    "bert-base": EncoderShape(layers=12, width=768, heads=12, seq=128),
    "encoder-350m": EncoderShape(layers=24, width=1024, heads=16, seq=512),
    "tiny-encoder": EncoderShape(layers=2, width=32, heads=4, seq=16, vocab=1000),
}


def build(name: str, seed: int = 0) -> ClassifierEncoder:
    """A seeded, randomly initialised reference encoder in eval mode (float32, on the CPU)."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = ClassifierEncoder(SHAPES[name]).eval()
    finally:
        torch.random.set_rng_state(generator_state)
    return model


def _factory(name: str) -> Callable[[], nn.Module]:
    def factory() -> nn.Module:
        return build(name)

    factory.__name__ = name.replace("-", "_")
    factory.__doc__ = f"The {name} reference encoder (sequence {SHAPES[name].seq})."
    spec: Any = [{"name": "input_ids", "datatype": "INT64", "shape": [SHAPES[name].seq]}]
    factory.input_spec = spec  # type: ignore[attr-defined]
    factory.output_names = ["logits"]  # type: ignore[attr-defined]
    return factory


bert_base = _factory("bert-base")
encoder_350m = _factory("encoder-350m")
tiny_encoder = _factory("tiny-encoder")

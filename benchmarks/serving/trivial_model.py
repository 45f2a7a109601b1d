"""A model whose forward pass costs nearly nothing, for measuring a server's own ceiling.

It takes a bert-base-shaped request (``input_ids: INT64 [-1, 128]``) and returns its first
two ids as ``FP32 [-1, 2]`` logits: parsing, checking, queueing, batching and encoding are
what a server then spends its time on.
"""
from __future__ import annotations

from pathlib import Path

import torch

SEQ = 128


class Trivial(torch.nn.Module):
    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return input_ids[:, :2].float()


def export(path: Path) -> Path:
    """The trivial model as a torch.export program with a dynamic batch dimension."""
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.export.export(Trivial(), (torch.zeros(2, SEQ, dtype=torch.long),),
                                  dynamic_shapes={"input_ids": {0: batch}})
    torch.export.save(program, str(path))
    return path

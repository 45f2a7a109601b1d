"""The peer: LitServe with dynamic batching serving a releasegate reference model.

Usage: python litserve_peer.py MODEL PORT MAX_BATCH API_SERVERS DEVICE DTYPE
Mirrors how the GPU anchors ran LitServe (batch timeout 2 ms, one device worker,
fast_queue), with the model built by releasegate.serve.models.build (or, for MODEL
``trivial``, the near-free model of trivial_model.py that ceiling.py uses).
"""
from __future__ import annotations

import sys

import litserve as ls
import torch

from releasegate.serve.models import build

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class ClassifierAPI(ls.LitAPI):
    def setup(self, device: str) -> None:
        self.device = device
        if sys.argv[1] == "trivial":
            from trivial_model import Trivial

            self.model = Trivial()
        else:
            self.model = build(sys.argv[1]).to(device=device, dtype=DTYPES[sys.argv[6]])

    def decode_request(self, request: dict) -> list[int]:
        return request["input_ids"]

    def batch(self, inputs: list[list[int]]) -> torch.Tensor:
        return torch.tensor(inputs, device=self.device)

    @torch.inference_mode()
    def predict(self, x: torch.Tensor) -> list[int]:
        return self.model(x).argmax(-1).tolist()

    def unbatch(self, output: list[int]) -> list[int]:
        return output

    def encode_response(self, output: int) -> dict:
        return {"label": output}


if __name__ == "__main__":
    port, max_batch, api_servers, device = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    api = ClassifierAPI(max_batch_size=max_batch, batch_timeout=0.002)
    server = ls.LitServer(api, accelerator=device, workers_per_device=1, fast_queue=True)
    server.run(port=port, num_api_servers=api_servers, generate_client_file=False, log_level="warning")

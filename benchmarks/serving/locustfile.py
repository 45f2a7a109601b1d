"""Closed-loop load for the serving benchmark (locust FastHttpUser, no think time).

BENCH_PROTOCOL=v2 posts Open Inference Protocol v2 JSON to /v2/models/model/infer
(releasegate serve); BENCH_PROTOCOL=litserve posts {"input_ids": [...]} to /predict
(the LitServe peer, as in the GPU anchors). BENCH_SEQ and BENCH_VOCAB size the
random token ids; 64 payloads are generated once, before the clock starts.
"""
from __future__ import annotations

import json
import os
import random

from locust import FastHttpUser, constant, task

PROTOCOL = os.environ.get("BENCH_PROTOCOL", "v2")
SEQ = int(os.environ.get("BENCH_SEQ", "128"))
VOCAB = int(os.environ.get("BENCH_VOCAB", "30000"))
_rng = random.Random(1)


def _payload() -> bytes:
    ids = [_rng.randrange(VOCAB) for _ in range(SEQ)]
    if PROTOCOL == "litserve":
        return json.dumps({"input_ids": ids}).encode()
    doc = {"inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [1, SEQ], "data": ids}]}
    return json.dumps(doc).encode()


PAYLOADS = [_payload() for _ in range(64)]
PATH = "/predict" if PROTOCOL == "litserve" else "/v2/models/model/infer"
HEADERS = {"Content-Type": "application/json"}


class Client(FastHttpUser):
    wait_time = constant(0)

    @task
    def infer(self) -> None:
        self.client.post(PATH, data=random.choice(PAYLOADS), headers=HEADERS)

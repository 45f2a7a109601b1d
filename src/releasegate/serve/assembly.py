"""The heavy half of the server (imports torch): load the model and wire runner, batcher, metrics and app."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from releasegate.serve.app import Limits, ServeApp
from releasegate.serve.batching import Batcher, Job
from releasegate.serve.config import ServeConfig, ServerInfo
from releasegate.serve.loader import LoadRequest, load_model
from releasegate.serve.metrics import ServeMetrics
from releasegate.serve.protocol import Signature
from releasegate.serve.runner import TorchRunner

Deliver = Callable[[list[tuple[Job, Any]]], None]


@dataclass
class ModelCore:
    """The model side of a server: the warmed-up batcher, what it serves, its metrics.

    Finished batches go to ``deliver``: the HTTP app in one process, the worker links with ``--workers``.
    """

    batcher: Batcher
    sig: Signature
    metrics: ServeMetrics
    limits: Limits
    info: ServerInfo
    deliver: Deliver | None = None

    def app(self) -> ServeApp:
        """The one-process HTTP app, receiving the finished batches."""
        app = ServeApp(self.sig, self.batcher, self.metrics, self.limits)
        self.deliver = app.deliver
        return app


def build_core(cfg: ServeConfig, device: str, port: int) -> ModelCore:
    """Load the (verified) artifact, warm the runner up, and wire batcher and metrics."""
    request = LoadRequest(cfg.artifact, cfg.format, cfg.factory, device, cfg.dtype, cfg.input_spec)
    model = load_model(request)
    runner = TorchRunner(model, cfg.max_batch, cfg.compile)
    metrics = ServeMetrics(cfg.model_name, cfg.model_version, cfg.track)
    cores: list[ModelCore] = []

    def deliver(results: list[tuple[Job, Any]]) -> None:
        target = cores[0].deliver
        if target is not None:
            target(results)

    batcher = Batcher(
        runner,
        deliver,
        max_batch=runner.max_batch,
        max_delay_s=cfg.max_delay_ms / 1000.0,
        max_queue=cfg.max_queue,
        on_batch=metrics.observe_batch,
        name=cfg.model_name,
    )
    batcher.start()
    platform = f"pytorch_{model.format}"
    sig = Signature(cfg.model_name, cfg.model_version, platform, model.inputs, runner.outputs, runner.max_batch)
    info = ServerInfo(
        url=f"http://{cfg.host}:{port}",
        port=port,
        model=cfg.model_name,
        format=model.format,
        device=device,
        dtype=cfg.dtype,
        max_batch=runner.max_batch,
        inputs=model.inputs,
        outputs=runner.outputs,
        extra={"compile": runner.compile_mode, "buckets": runner.buckets, "workers": cfg.workers},
    )
    cores.append(ModelCore(batcher, sig, metrics, Limits(cfg.max_request_bytes, cfg.retry_after_s), info))
    return cores[0]


def build_app(cfg: ServeConfig, device: str, port: int) -> tuple[ServeApp, ServerInfo]:
    """The one-process server: the model core and the HTTP app that receives its batches."""
    core = build_core(cfg, device, port)
    return core.app(), core.info

"""The heavy half of the server (imports torch): load the model and wire runner, batcher, metrics and app."""
from __future__ import annotations

from typing import Any

from releasegate.serve.app import Limits, ServeApp
from releasegate.serve.batching import Batcher, Job
from releasegate.serve.config import ServeConfig, ServerInfo
from releasegate.serve.loader import LoadRequest, load_model
from releasegate.serve.metrics import ServeMetrics
from releasegate.serve.protocol import Signature
from releasegate.serve.runner import TorchRunner


def build_app(cfg: ServeConfig, device: str, port: int) -> tuple[ServeApp, ServerInfo]:
    """Load the (verified) artifact, warm the runner up, and wire batcher, metrics and app."""
    request = LoadRequest(cfg.artifact, cfg.format, cfg.factory, device, cfg.dtype, cfg.input_spec)
    model = load_model(request)
    runner = TorchRunner(model, cfg.max_batch, cfg.compile)
    metrics = ServeMetrics(cfg.model_name, cfg.model_version, cfg.track)
    apps: list[ServeApp] = []

    def deliver(results: list[tuple[Job, Any]]) -> None:
        apps[0].deliver(results)

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
    apps.append(ServeApp(sig, batcher, metrics, Limits(cfg.max_request_bytes, cfg.retry_after_s)))
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
        extra={"compile": runner.compile_mode, "buckets": runner.buckets},
    )
    return apps[0], info

"""What ``releasegate serve`` is asked to do, and what it reports once ready (values only)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from releasegate.serve.tensors import TensorSpec
from releasegate.signing.trust import SignerSpec


@dataclass(frozen=True)
class HttpLimits:
    """What one client may take from the HTTP server (docs/serve.md, "Security model")."""

    request_timeout_s: float = 30.0  # from a request's first byte to the end of its body
    max_url_bytes: int = 8 * 1024
    max_header_bytes: int = 64 * 1024  # names and values, 4 bytes more per line for ": " and CRLF
    max_headers: int = 100
    max_connections: int = 2048  # open at once; more are answered 503 and closed at once


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``releasegate serve`` takes (see docs/serve.md for each field)."""

    artifact: Path
    sha256: str
    format: str = "auto"
    factory: str | None = None
    device: str = "auto"
    dtype: str = "float32"
    max_batch: int = 64
    max_delay_ms: float = 0.0
    max_queue: int = 1024
    host: str = "127.0.0.1"
    port: int = 8000
    model_name: str = "model"
    model_version: str = "1"  # in the v2 metadata and responses, and the `version` label of every metric
    track: str = "stable"  # the `track` label of every metric: stable, or canary beside a stable version
    input_spec: tuple[TensorSpec, ...] = ()
    max_request_bytes: int = 64 * 1024 * 1024
    compile: str = "off"
    graceful_timeout_s: float = 30.0
    workers: int = 0  # HTTP worker processes feeding this (model) process; 0: HTTP in this process
    retry_after_s: int = 1
    http: HttpLimits = HttpLimits()
    access_log: bool = False  # one info line per response on the releasegate.serve.access logger
    signature: Path | None = None  # an OpenSSF model-signing bundle, verified before loading
    signers: tuple[SignerSpec, ...] = ()  # whose signature it must be


@dataclass(frozen=True)
class ServerInfo:
    """What the server reports once it is ready."""

    url: str
    port: int
    model: str
    format: str
    device: str
    dtype: str
    max_batch: int
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    extra: dict[str, Any] = field(default_factory=dict)

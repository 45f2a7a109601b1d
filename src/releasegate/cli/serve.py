"""``releasegate serve``: serve one model artifact over the Open Inference Protocol v2."""
from __future__ import annotations

import re
from pathlib import Path

import click

from releasegate.cli import set_log_level
from releasegate.errors import InputError
from releasegate.serve.artifact import FORMATS
from releasegate.signing.trust import CERTIFICATE, KEY, SIGSTORE, SignerSpec

_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+\-]{0,127}")


@click.command()
@click.argument("artifact", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sha256", "sha256", required=True, help="Expected sha256 of ARTIFACT (64 hex digits); checked before loading.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Artifact format; auto detects it from the file's bytes.")
@click.option("--factory", default=None, help="Installed model factory (entry point in releasegate.model_factories) that builds the network for safetensors/state-dict weights.")
@click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:N, or auto (cuda when a GPU is visible).")
@click.option("--dtype", type=click.Choice(["float32", "bfloat16", "float16"]), default="float32", show_default=True,
              help="Precision of the model's floating-point weights and inputs.")
@click.option("--max-batch", type=click.IntRange(1, 65536), default=64, show_default=True,
              help="Most rows (requests x their batch size) run in one forward pass.")
@click.option("--max-delay-ms", type=click.FloatRange(0, 10_000), default=0.0, show_default=True,
              help="How long an idle worker waits for a batch to fill; 0 runs whatever is queued at once.")
@click.option("--max-queue", type=click.IntRange(1, 1_000_000), default=1024, show_default=True,
              help="Requests that may wait for a batch; beyond it the server answers 503 with Retry-After.")
@click.option("--workers", type=click.IntRange(0, 256), default=0, show_default=True,
              help="HTTP worker processes in front of the model process (parsing scales with cores); "
                   "0 serves HTTP in the model process itself.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--model-name", default="model", show_default=True, help="Name of the model in the v2 URLs (/v2/models/NAME).")
@click.option("--model-version", default="1", show_default=True,
              help="Version of the model: named in the v2 metadata and responses, and the `version` label of every metric.")
@click.option("--track", type=click.Choice(["stable", "canary"]), default="stable", show_default=True,
              help="Which side of a canary this server is: the `track` label of every metric (docs/monitoring.md).")
@click.option("--input-spec", "input_specs", multiple=True, metavar="NAME:DATATYPE:DIMS",
              help="An input's v2 datatype and shape without the batch dimension (repeat per input), e.g. input_ids:INT64:128. Required for TorchScript.")
@click.option("--max-request-bytes", type=click.IntRange(1, 2**40), default=64 * 1024 * 1024, show_default=True,
              help="Largest request body accepted; larger ones get 413 before they are read.")
@click.option("--compile", "compile_mode", type=click.Choice(["off", "default", "reduce-overhead", "max-autotune"]), default="off", show_default=True,
              help="torch.compile the model and pad batches to power-of-two sizes compiled at start-up (max-autotune adds CUDA graphs).")
@click.option("--graceful-timeout", type=click.FloatRange(0, 3600), default=30.0, show_default=True,
              help="Seconds to finish in-flight requests after SIGTERM/SIGINT.")
@click.option("--request-timeout", type=click.FloatRange(0.1, 3600), default=30.0, show_default=True,
              help="Seconds a client may take to send a whole request, from its first byte to the end of its body "
                   "(else 408 and close); a client that leaves its responses unread this long is disconnected.")
@click.option("--max-url-bytes", type=click.IntRange(256, 2**20), default=8 * 1024, show_default=True,
              help="Longest request URL (path and query); longer ones get 414 and the connection closes.")
@click.option("--max-header-bytes", type=click.IntRange(1024, 2**24), default=64 * 1024, show_default=True,
              help="Most bytes of request headers (names, values, 4 per line); more gets 431 and the connection closes.")
@click.option("--max-headers", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Most header lines in one request; more get 431 and the connection closes.")
@click.option("--max-connections", type=click.IntRange(1, 1_000_000), default=2048, show_default=True,
              help="Most client connections open at once; one more is answered 503 and closed at once.")
@click.option("--access-log/--no-access-log", default=False, show_default=True, envvar="RELEASEGATE_ACCESS_LOG",
              help="Log one line per response (client, method, path, status, bytes, ms) on the logger "
                   "releasegate.serve.access, whatever --log-level says.")
@click.option("--signature", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="OpenSSF model-signing bundle of ARTIFACT; verified after the sha256 and before loading "
                   "(needs a trusted signer; pip install 'releasegate[sign]').")
@click.option("--trusted-key", "trusted_keys", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A public key (PEM, ECDSA P-256/384/521) whose signature is accepted; repeat for several.")
@click.option("--certificate-identity", default=None,
              help="Accept a certificate signature whose certificate names this identity (e-mail, URI or DNS name); "
                   "needs --ca-bundle.")
@click.option("--ca-bundle", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CA certificates (PEM) the signing certificate must chain to (with --certificate-identity).")
@click.option("--sigstore-identity", default=None, help="Accept a Sigstore signature by this identity (with --sigstore-issuer).")
@click.option("--sigstore-issuer", default=None, help="The OIDC issuer of --sigstore-identity.")
@click.option("--sigstore-trust-config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Sigstore ClientTrustConfig JSON with the trusted root; the Sigstore signature is verified offline against it.")
@click.pass_context
def serve(
    ctx: click.Context, artifact: Path, sha256: str, fmt: str, factory: str | None, device: str, dtype: str,
    max_batch: int, max_delay_ms: float, max_queue: int, workers: int, host: str, port: int, model_name: str,
    model_version: str, track: str, input_specs: tuple[str, ...], max_request_bytes: int, compile_mode: str, graceful_timeout: float,
    request_timeout: float, max_url_bytes: int, max_header_bytes: int, max_headers: int, max_connections: int,
    access_log: bool, signature: Path | None, trusted_keys: tuple[Path, ...], certificate_identity: str | None,
    ca_bundle: Path | None, sigstore_identity: str | None, sigstore_issuer: str | None,
    sigstore_trust_config: Path | None,
) -> int:
    """Serve ARTIFACT over the KServe Open Inference Protocol v2 (HTTP) with dynamic batching.

    The sha256, and with --signature the model's signature, are checked before anything is loaded. Formats: torch.export (.pt2),
    TorchScript, and safetensors or weights-only torch.save state dicts loaded into a
    network that --factory builds. Pickled Python objects are refused. Runs until
    SIGTERM/SIGINT, then finishes the requests it holds. See docs/serve.md.
    """
    from releasegate.serve.config import HttpLimits
    from releasegate.serve.server import ModelServer, ServeConfig
    from releasegate.serve.tensors import parse_input_spec

    if not _DEVICE.fullmatch(device):
        raise InputError(f"--device {device}: not a device", "use cpu, cuda, cuda:N or auto")
    if not _NAME.fullmatch(model_name):
        raise InputError(f"--model-name {model_name!r}: not usable in a URL path", "use letters, digits, _ . -")
    if not _VERSION.fullmatch(model_version):
        raise InputError(f"--model-version {model_version!r}: not a version", "use letters, digits, _ . + - (at most 128)")
    config = ServeConfig(
        artifact=artifact, sha256=sha256, format=fmt, factory=factory, device=device, dtype=dtype,
        max_batch=max_batch, max_delay_ms=max_delay_ms, max_queue=max_queue, workers=workers, host=host, port=port,
        model_name=model_name, model_version=model_version, track=track, input_spec=tuple(parse_input_spec(s) for s in input_specs),
        max_request_bytes=max_request_bytes, compile=compile_mode, graceful_timeout_s=graceful_timeout,
        http=HttpLimits(request_timeout_s=request_timeout, max_url_bytes=max_url_bytes,
                        max_header_bytes=max_header_bytes, max_headers=max_headers, max_connections=max_connections),
        access_log=access_log, signature=signature,
        signers=trusted_signers(signature, trusted_keys, certificate_identity, ca_bundle,
                                (sigstore_identity, sigstore_issuer, sigstore_trust_config)),
    )
    _check_torch()
    if access_log:
        ctx.call_on_close(set_log_level("releasegate.serve.access", "info"))
    server = ModelServer(config)
    click.echo(f"releasegate serve: verifying {artifact} (sha256) and loading it", err=True)
    info = server.prepare()
    inputs = ", ".join(f"{s.name}:{s.datatype}{[-1, *s.shape]}" for s in info.inputs)
    click.echo(
        f"releasegate serve: model {info.model!r} ({info.format}, {info.device}, {info.dtype}, "
        f"max batch {info.max_batch}; inputs {inputs}) ready on {info.url}"
        + (f" with {workers} HTTP worker processes" if workers else ""),
        err=True,
    )
    server.run()
    click.echo("releasegate serve: stopped after finishing in-flight requests", err=True)
    return 0


def trusted_signers(signature: Path | None, keys: tuple[Path, ...], identity: str | None, ca_bundle: Path | None,
                    sigstore: tuple[str | None, str | None, Path | None]) -> tuple[SignerSpec, ...]:
    """The signers the flags name; a signer without --signature (or the reverse) is a usage error."""
    signers = [SignerSpec(KEY, f"--trusted-key {k}", Path("."), str(k), public_key=_pem(k, "--trusted-key")) for k in keys]
    if (identity is None) != (ca_bundle is None):
        raise InputError("--certificate-identity and --ca-bundle go together", "give both, or neither")
    if identity is not None and ca_bundle is not None:
        signers.append(SignerSpec(CERTIFICATE, "--certificate-identity", Path("."), identity=identity,
                                  ca_bundle=_pem(ca_bundle, "--ca-bundle")))
    if any(v is not None for v in sigstore):
        name, issuer, config = sigstore
        if name is None or issuer is None or config is None:
            raise InputError("--sigstore-identity, --sigstore-issuer and --sigstore-trust-config go together",
                             "give all three (the trust configuration makes the check offline)")
        signers.append(SignerSpec(SIGSTORE, "--sigstore-trust-config", config.resolve().parent, identity=name,
                                  issuer=issuer, trust_config=config.name))
    if signers and signature is None:
        raise InputError("trusted signers were named but no --signature", "pass --signature BUNDLE, or drop the signer flags")
    return tuple(signers)


def _pem(path: Path, flag: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{flag} {path}: cannot be read ({getattr(e, 'strerror', None) or e})",
                         "give a PEM file") from e


def _check_torch() -> None:
    try:
        import httptools  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        raise InputError(
            f"releasegate serve needs torch and httptools ({e})",
            "install the serving extra: pip install 'releasegate[serve]'",
        ) from e

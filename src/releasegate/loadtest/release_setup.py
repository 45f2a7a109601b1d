"""From release files to what the gate starts: server specs and request payloads."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from releasegate import runtimes
from releasegate.errors import InputError
from releasegate.loadtest.artifacts import Artifact
from releasegate.loadtest.payloads import DYNAMIC_DIM, Payloads, from_file, from_template, generate_v2, parse_signature
from releasegate.loadtest.profiles import Profile
from releasegate.loadtest.servers import Server, ServerSpec, fetch_json
from releasegate.policy import PolicyPack
from releasegate.release import Release


def spec_of(release: Release) -> dict[str, Any]:
    spec = release.data.get("spec")
    return spec if isinstance(spec, dict) else {}


def runtime_of(release: Release) -> dict[str, Any]:
    runtime = spec_of(release).get("runtime")
    return runtime if isinstance(runtime, dict) else {}


def runtime_kind(release: Release) -> str:
    kind = str(runtime_of(release).get("kind", "builtin"))
    return "builtin" if kind == "kserve" else kind


def server_spec(label: str, release: Release, artifact: Artifact, device: str, profile: Profile, root: Path,
                policy: PolicyPack) -> ServerSpec:
    """How to start ``release``: its runtime section, the verified artifact, and for an external
    runtime the command the (base) policy declares under that name, never one from the release."""
    runtime = runtime_of(release)
    kind = runtime_kind(release)
    if kind not in ("builtin", "external"):
        raise InputError(f"{release.source}: spec.runtime.kind {kind!r} cannot be load-tested", "use builtin, kserve or external")
    batching = runtime.get("batching") or {}
    model = release.name or release.model
    external: dict[str, Any] = {}
    if kind == "external":
        chosen = runtime.get("external")
        if not isinstance(chosen, dict):
            raise InputError(f"{release.source}: spec.runtime.external is missing",
                             "name a runtime of the policy pack: external: {name: ...}")
        builtins = {"artifact": str(artifact.path), "sha256": artifact.sha256, "model": model,
                    "version": release.version or ""}
        external = runtimes.resolve(chosen, policy.runtimes, release.source, builtins)
    startup = float(external.get("startupTimeoutSeconds") or profile.startup_timeout_seconds)
    return ServerSpec(
        label=label,
        model=model,
        version=release.version,
        kind=kind,
        artifact=artifact.path,
        sha256=artifact.sha256,
        artifact_format=artifact.format,
        factory=artifact.factory,
        dtype=str(runtime.get("dtype", "float32")),
        max_batch=int(batching.get("maxBatch", 64)),
        max_delay_ms=float(batching.get("maxDelayMs", 2.0)),
        device=device,
        workers=workers_on_this_runner(runtime),
        startup_timeout=startup,
        input_specs=input_specs(release),
        external=external,
        root=root,
    )


def workers_on_this_runner(runtime: dict[str, Any]) -> int:
    """``spec.runtime.workers``, at most one per core of this runner: the pull request chooses the number,
    and more worker processes than cores measure nothing more (and could crowd the runner)."""
    asked = runtime.get("workers")
    return min(asked, os.cpu_count() or 1) if isinstance(asked, int) and not isinstance(asked, bool) and asked > 0 else 0


def input_specs(release: Release) -> tuple[str, ...]:
    """``spec.model.signature`` as the built-in server's ``--input-spec NAME:DATATYPE:DIMS`` values.

    The signature's shapes start with the batch dimension (-1), which the server leaves
    out; other -1 dimensions get the payload generator's fixed size.
    """
    sig = (spec_of(release).get("model") or {}).get("signature") or {}
    out = []
    for item in sig.get("inputs") or [] if isinstance(sig, dict) else []:
        if not isinstance(item, dict) or not isinstance(item.get("shape"), list):
            continue
        dims = [DYNAMIC_DIM if int(d) < 0 else int(d) for d in item["shape"][1:]]
        out.append(f"{item.get('name')}:{item.get('datatype')}:{','.join(map(str, dims))}")
    return tuple(out)


def unchanged(candidate: Release, baseline: Release | None) -> bool:
    """Same artifact, runtime (replica count aside) and canary stable: nothing new to measure."""
    if baseline is None:
        return False
    strip = lambda r: {k: v for k, v in runtime_of(r).items() if k != "replicas"}  # noqa: E731
    artifact = lambda r: (spec_of(r).get("model") or {}).get("artifact")  # noqa: E731
    return artifact(candidate) == artifact(baseline) and strip(candidate) == strip(baseline) \
        and candidate.stable == baseline.stable


def stable_problem(candidate: Release, baseline: Release | None) -> str | None:
    """Why the candidate's ``rollout.stable`` is not what the baseline runs (None when it is).

    The stable side of a canary takes most of the traffic; it must be the model live at the
    base (or the base's own stable while a canary continues), never a model nobody measured.
    """
    stable = candidate.stable
    if stable is None:
        return None
    live = [] if baseline is None else [m for m in (spec_of(baseline).get("model"), baseline.stable) if isinstance(m, dict)]
    keys = ("uri", "sha256", "format")
    def same(m: dict[str, Any]) -> bool:
        a, b = stable.get("artifact") or {}, m.get("artifact") or {}
        return stable.get("version") == m.get("version") and all(a.get(k) == b.get(k) for k in keys)
    if any(same(m) for m in live):
        return None
    return (f"spec.rollout.stable ({stable.get('version')}) is not the model live at the base "
            f"({', '.join(str(m.get('version')) for m in live) or 'nothing live'}); the stable side would serve "
            "most of the traffic unmeasured")


def _signature(release: Release, server: Server) -> tuple[Any, str]:
    if server.metadata_url:
        meta = fetch_json(server.metadata_url)
        if isinstance(meta, dict) and isinstance(meta.get("inputs"), list) and meta["inputs"]:
            return meta["inputs"], f"{server.metadata_url} (server metadata)"
    sig = (spec_of(release).get("model") or {}).get("signature") or {}
    inputs = sig.get("inputs") if isinstance(sig, dict) else None
    if not inputs:
        raise InputError(
            f"{release.source}: cannot tell the model's inputs (no server metadata, no spec.model.signature)",
            "add spec.model.signature.inputs or spec.loadTest.payloadFile",
        )
    return inputs, f"{release.source}: spec.model.signature"


def payloads_for(release: Release, payload_release: Release, server: Server, root: Path) -> Payloads:
    """Request bodies for ``server``; the payload file comes from the candidate (``payload_release``)."""
    parts = urlsplit(server.infer_url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    payload_file = (spec_of(payload_release).get("loadTest") or {}).get("payloadFile")
    if payload_file:
        source = f"{payload_release.source}: spec.loadTest.payloadFile {payload_file}"
        return from_file(contained(root, str(payload_file), source), path, source)
    inputs, source = _signature(release, server)
    specs = parse_signature(inputs, source)
    template = server.spec.external.get("requestTemplate")
    if server.spec.kind == "external" and template:
        return from_template(str(template), specs, path)
    generated = generate_v2(specs, server.spec.model)
    return Payloads(path, generated.content_type, generated.bodies, source)


def contained(root: Path, relative: str, source: str) -> Path:
    """``root/relative`` with links resolved, if it stays inside the repository (and out of .git)."""
    real_root = root.resolve()
    real = (root / relative).resolve()
    if Path(relative).is_absolute() or real_root not in real.parents or (real_root / ".git") in (real, *real.parents):
        raise InputError(f"{source}: must be a file inside the repository",
                         "give a path relative to the repository root, with no '..' and no link leading out of it")
    return real


def write_payloads(payloads: Payloads, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(payloads.to_json(), encoding="utf-8")
    return path


def same_inputs(a: Payloads, b: Payloads) -> bool:
    return json.dumps(a.bodies) == json.dumps(b.bodies)

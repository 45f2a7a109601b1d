"""From a release file's data to a checked, render-ready :class:`Workload`.

``releasegate validate`` checks release files against the schema; rendering must
still never crash on a file that skipped validation, so every field read here is
type-checked and every problem is reported with its file and JSON path.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from releasegate.render import k8s
from releasegate.render.problems import PathPart, Problem
from releasegate.rollout.state import rollout_problems

# Longest model name whose derived names (<name>-canary-stable is not used; <name>-canary,
# <name>-stable, <name>-predictor-... by KServe) stay within 63 characters.
MAX_MODEL_NAME = 40
RUNTIME_KINDS = ("builtin", "kserve", "external")
_MISSING = object()


@dataclass(frozen=True)
class Artifact:
    uri: str
    sha256: str | None
    format: str
    factory: str | None
    size_bytes: int | None = None  # spec.model.artifact.sizeBytes: sizes the pod's model volume


@dataclass(frozen=True)
class Stable:
    """The version a canary is compared with (``spec.rollout.stable``)."""

    version: str
    artifact: Artifact


@dataclass(frozen=True)
class Workload:
    """What one release file asks to run, with every field the renderers need."""

    source: str
    env: str
    name: str
    owner: str
    version: str
    artifact: Artifact
    kind: str
    image: str | None
    replicas: int
    gpu: int
    gpu_type: str | None
    cpu: str | None
    memory: str | None
    max_batch: int | None
    max_delay_ms: float | None
    dtype: str | None
    workers: int | None  # spec.runtime.workers: releasegate serve --workers
    kserve: dict[str, str]
    canary_percent: int | None
    stable: Stable | None
    labels: tuple[tuple[str, str], ...]
    inputs: tuple[tuple[str, str, tuple[int, ...]], ...] = ()  # spec.model.signature: name, datatype, shape
    slo_p95_ms: float | None = None  # spec.slo.p95LatencyMs
    slo_max_error_rate: float | None = None  # spec.slo.maxErrorRate


class _Reader:
    """Typed access to nested release data that records problems instead of raising."""

    def __init__(self, source: str, data: Any) -> None:
        self.source = source
        self.data = data
        self.problems: list[Problem] = []

    def problem(self, path: tuple[PathPart, ...], rule: str, message: str, hint: str) -> None:
        self.problems.append(Problem(self.source, path, rule, message, hint))

    def raw(self, path: tuple[PathPart, ...]) -> Any:
        node = self.data
        for part in path:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                return _MISSING
        return node

    def get(self, path: tuple[PathPart, ...], kind: type | tuple[type, ...], required: bool = False,
            why: str = "") -> Any:
        value = self.raw(path)
        if value is _MISSING or value is None:
            if required:
                self.problem(path, "render.required", f"missing {path[-1]}{why}",
                             f"add {'.'.join(map(str, path))} to the release file (see docs/release-file.md)")
            return None
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            value = _MISSING
        if value is _MISSING or not isinstance(value, kind):
            names = " or ".join(t.__name__ for t in (kind if isinstance(kind, tuple) else (kind,)))
            self.problem(path, "render.type", f"expected {names}, found {self.raw(path)!r}",
                         "fix the value's type (see docs/release-file.md)")
            return None
        return value

    def quantity(self, path: tuple[PathPart, ...]) -> str | None:
        value = self.raw(path)
        if value is _MISSING or value is None:
            return None
        issue = k8s.quantity_problem(value)
        if issue:
            self.problem(path, "render.quantity", issue[0], issue[1])
            return None
        return k8s.quantity(value)


def _artifact(r: _Reader, base: tuple[PathPart, ...]) -> Artifact:
    return Artifact(
        uri=r.get((*base, "uri"), str, required=True) or "",
        sha256=r.get((*base, "sha256"), str),
        format=r.get((*base, "format"), str, required=True) or "",
        factory=r.get((*base, "factory"), str),
        size_bytes=_size(r, (*base, "sizeBytes")),
    )


def _size(r: _Reader, path: tuple[PathPart, ...]) -> int | None:
    size = r.get(path, int)
    if size is not None and size < 1:
        r.problem(path, "render.type", f"sizeBytes {size} is not a positive number of bytes",
                  "write the artifact's size in bytes (stat -c %s <artifact>)")
        return None
    return size


def _name(r: _Reader) -> str:
    name = r.get(("metadata", "name"), str, required=True) or ""
    if name:
        issue = k8s.dns1035_problem(name, MAX_MODEL_NAME)
        if issue:
            r.problem(("metadata", "name"), "render.name", f"model name {name!r} {issue}",
                      f"rename the model, e.g. to {k8s.suggest_name(name)!r}: at most {MAX_MODEL_NAME} "
                      "characters of a-z, 0-9 and '-', starting with a letter, so that derived "
                      "names such as <name>-canary stay valid Kubernetes names")
    return name


def _labels(r: _Reader) -> tuple[tuple[str, str], ...]:
    labels = r.get(("metadata", "labels"), dict) or {}
    out = []
    for key in sorted(labels):
        value = labels[key]
        if not isinstance(value, str) or k8s.label_value(value) != value:
            r.problem(("metadata", "labels", key), "render.label", f"label value {value!r} is not a valid Kubernetes label value",
                      "use at most 63 characters of A-Z, a-z, 0-9, '-', '_' and '.', starting and ending alphanumeric")
            continue
        out.append((str(key), value))
    return tuple(out)


def _stable(r: _Reader) -> Stable | None:
    if r.raw(("spec", "rollout", "stable")) in (_MISSING, None):
        return None
    base: tuple[PathPart, ...] = ("spec", "rollout", "stable")
    if r.get(base, dict) is None:
        return None
    version = r.get((*base, "version"), str, required=True) or ""
    return Stable(version=version, artifact=_artifact(r, (*base, "artifact")))


def _rollout(r: _Reader) -> tuple[int | None, Stable | None]:
    """The current canary weight (None: nothing runs beside the model) and the stable side.

    The weight is ``canaryPercent``, which names the current step of ``steps`` (docs/rollout.md);
    a canary strategy with steps and no ``canaryPercent`` is idle and renders like a rolling release.
    """
    base: tuple[PathPart, ...] = ("spec", "rollout")
    strategy = r.get((*base, "strategy"), str) or "rolling"
    if strategy not in ("rolling", "canary"):
        r.problem((*base, "strategy"), "render.rollout", f"unknown rollout strategy {strategy!r}",
                  "use rolling or canary")
        return None, None
    stable = _stable(r)
    if strategy == "rolling":
        for key in ("stable", "steps", "canaryPercent"):
            if r.raw((*base, key)) is not _MISSING:
                r.problem((*base, key), "render.rollout", f"spec.rollout.{key} is only used by the canary strategy",
                          f"remove spec.rollout.{key} once the canary is complete (strategy: rolling)")
        return None, None
    steps = _steps(r)
    percent = r.get((*base, "canaryPercent"), int, required=steps is None, why=" (strategy canary without steps)")
    for problem in rollout_problems(r.data):
        r.problem(problem.path, "render.rollout", problem.message, problem.hint)
    return percent, stable if percent is not None else None


def _steps(r: _Reader) -> list[Any] | None:
    """``spec.rollout.steps`` with each step's fields type-checked (None when absent)."""
    path: tuple[PathPart, ...] = ("spec", "rollout", "steps")
    steps = r.get(path, list)
    for i in range(len(steps or [])):
        weight = r.get((*path, i, "weight"), int, required=True)
        if weight is not None and not 1 <= weight <= 100:
            r.problem((*path, i, "weight"), "render.rollout", f"step weight {weight} is outside 1..100",
                      "give each step between 1 and 100 percent of the traffic")
        r.get((*path, i, "holdMinutes"), (int, float), required=True)
    return steps


def read_workload(source: str, env: str, data: Any) -> tuple[Workload | None, list[Problem]]:
    """Check ``data`` (a parsed release file): its workload (None when ``data`` is not a
    mapping; fields with problems hold neutral defaults) and the problems found."""
    r = _Reader(source, data)
    if not isinstance(data, dict):
        r.problem((), "render.type", "a release file must be a mapping", "see docs/release-file.md")
        return None, r.problems
    name = _name(r)
    kind = r.get(("spec", "runtime", "kind"), str, required=True) or ""
    if kind and kind not in RUNTIME_KINDS:
        r.problem(("spec", "runtime", "kind"), "render.runtime", f"unknown runtime kind {kind!r}",
                  f"use one of {', '.join(RUNTIME_KINDS)}")
    res: tuple[PathPart, ...] = ("spec", "runtime", "resources")
    percent, stable = _rollout(r)
    workload = Workload(
        source=source, env=env, name=name,
        owner=r.get(("metadata", "owner"), str) or "",
        version=r.get(("spec", "model", "version"), str, required=True) or "",
        artifact=_artifact(r, ("spec", "model", "artifact")),
        kind=kind,
        image=r.get(("spec", "runtime", "image"), str),
        replicas=_replicas(r),
        gpu=r.get((*res, "gpu"), int) or 0,
        gpu_type=r.get((*res, "gpuType"), str),
        cpu=r.quantity((*res, "cpu")),
        memory=r.quantity((*res, "memory")),
        max_batch=r.get(("spec", "runtime", "batching", "maxBatch"), int),
        max_delay_ms=r.get(("spec", "runtime", "batching", "maxDelayMs"), (int, float)),
        dtype=r.get(("spec", "runtime", "dtype"), str),
        workers=r.get(("spec", "runtime", "workers"), int),
        kserve={k: v for k, v in (r.get(("spec", "runtime", "kserve"), dict) or {}).items() if isinstance(v, str)},
        canary_percent=percent,
        stable=stable,
        labels=_labels(r),
        inputs=_inputs(r),
        slo_p95_ms=_slo(r, "p95LatencyMs", 0.0, None),
        slo_max_error_rate=_slo(r, "maxErrorRate", 0.0, 1.0),
    )
    _check_gpu(r, workload)
    return workload, r.problems


def _inputs(r: _Reader) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
    items = r.get(("spec", "model", "signature", "inputs"), list) or []
    out = []
    for i in range(len(items)):
        base: tuple[PathPart, ...] = ("spec", "model", "signature", "inputs", i)
        name = r.get((*base, "name"), str, required=True)
        datatype = r.get((*base, "datatype"), str, required=True)
        shape = r.get((*base, "shape"), list, required=True)
        if name and datatype and shape is not None:
            if not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
                r.problem((*base, "shape"), "render.type", f"shape {shape!r} must be a list of integers",
                          "write the shape with the batch dimension first, e.g. [-1, 64]")
            else:
                out.append((name, datatype, tuple(shape)))
    return tuple(out)


def _slo(r: _Reader, key: str, above: float, at_most: float | None) -> float | None:
    """``spec.slo.<key>``, a number above ``above`` (and at most ``at_most``); None when absent or wrong."""
    path: tuple[PathPart, ...] = ("spec", "slo", key)
    value = r.get(path, (int, float))
    if value is None:
        return None
    if value <= above or (at_most is not None and value > at_most):
        bounds = f"above {above:g}" + (f" and at most {at_most:g}" if at_most is not None else "")
        r.problem(path, "render.slo", f"slo.{key} {value!r} must be {bounds}",
                  "fix the objective: the rendered alerts are computed from it (docs/monitoring.md)")
        return None
    return float(value)


def _replicas(r: _Reader) -> int:
    replicas = r.get(("spec", "runtime", "replicas"), int)
    if replicas is None:
        return 1
    if replicas < 0:
        r.problem(("spec", "runtime", "replicas"), "render.replicas", f"replicas {replicas} is negative",
                  "use 0 or more replicas")
    return replicas


def _check_gpu(r: _Reader, w: Workload) -> None:
    path: tuple[PathPart, ...] = ("spec", "runtime", "resources")
    if w.gpu < 0:
        r.problem((*path, "gpu"), "render.gpu", f"gpu {w.gpu} is negative", "use 0 or more GPUs")
    if w.gpu_type and w.gpu == 0:
        r.problem((*path, "gpuType"), "render.gpu", f"gpuType {w.gpu_type!r} is set but no GPU is requested",
                  "set resources.gpu to 1 or more, or remove gpuType")

"""Render in memory: from release files to the exact bytes of every output file.

Nothing here writes. :func:`render_plan` returns a :class:`Plan`: the files that
must exist with their content, the files that must not exist, the directories
whose every other file is stale, and every problem found (when there is one,
nothing may be written).
"""
from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from releasegate.errors import InputError
from releasegate.layout import RELEASE_SUFFIX, RepoLayout, parse_release_source, release_source
from releasegate.policy import load_policy_pack
from releasegate.release import Release
from releasegate.render import builtin, kserve, kustomize, parallel, wiring, yamlout
from releasegate.render.config import RenderConfig, load_config
from releasegate.render.problems import Problem
from releasegate.render.sources import positioned, read_release, release_paths
from releasegate.render.workload import Workload, read_workload

EXTERNAL_NOTE = "runtime.kind external runs outside the cluster: nothing to render"


@dataclass(frozen=True)
class RenderedModel:
    """The output of one release file."""

    source: str
    env: str
    stem: str
    content: bytes | None  # None: nothing rendered (external runtime)
    objects: tuple[tuple[str, str], ...]  # (kind, name)
    note: str | None = None
    routes: bytes | None = None  # the model's HTTPRoute, applied once its pods are ready (routes/)
    release: Release | None = field(default=None, repr=False, compare=False)
    warnings: tuple[Problem, ...] = ()  # rendered, but worth the reader's attention


@dataclass
class Plan:
    """What the output tree must look like after a render."""

    expected: dict[str, bytes | None] = field(default_factory=dict)
    owned_dirs: list[str] = field(default_factory=list)
    owned_marked_dirs: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    models: list[RenderedModel] = field(default_factory=list)
    envs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def warnings(self) -> list[Problem]:
        """What rendered but needs attention (a legacy name, a cluster prerequisite)."""
        return [w for m in self.models for w in m.warnings]


def manifest_path(env: str, stem: str) -> str:
    return f"environments/{env}/manifests/{stem}.yaml"


def route_path(env: str, stem: str) -> str:
    return f"environments/{env}/{kustomize.ROUTES}/{stem}.yaml"


def render_workload(w: Workload, cfg: RenderConfig) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The objects of one workload, or the reasons it cannot be rendered."""
    if w.kind == "builtin":
        problems = builtin.check(w, cfg)
        return ([] if problems else builtin.render(w, cfg)), problems
    if w.kind == "kserve":
        problems = kserve.check(w, cfg)
        return ([] if problems else kserve.render(w, cfg)), problems
    return [], []


def render_file(layout: RepoLayout, cfg: RenderConfig, path: Path) -> tuple[RenderedModel | None, list[Problem]]:
    """Read and render one release file (picklable result: the parsed file is dropped)."""
    release, problems = read_release(layout, path)
    if release is None:
        return None, problems
    model, problems = render_source(release, cfg)
    return (None if model is None else replace(model, release=None)), problems


def render_source(release: Release, cfg: RenderConfig) -> tuple[RenderedModel | None, list[Problem]]:
    """Render one release file to the bytes of its manifest file."""
    model, problems = _render_release(release, cfg)
    if model is not None and model.warnings:
        model = replace(model, warnings=tuple(positioned(list(model.warnings), release.document)))
    return model, positioned(problems, release.document)


def _render_release(source: Release, cfg: RenderConfig) -> tuple[RenderedModel | None, list[Problem]]:
    workload, problems = read_workload(source.source, source.env, source.data)
    if workload is None:
        return None, problems
    stem = source.file_model
    if workload.name and workload.name != stem:
        problems.append(Problem(
            source.source, ("metadata", "name"), "render.name",
            f"metadata.name {workload.name!r} does not match the file name {stem!r}",
            f"rename the file to {workload.name}{RELEASE_SUFFIX} or set metadata.name: {stem}"))
    if workload.kind == "external" and not problems:
        return RenderedModel(source.source, source.env, stem, None, (), EXTERNAL_NOTE, release=source), []
    objects, found = render_workload(workload, cfg)
    problems += found
    if problems:
        return None, problems
    workloads = [o for o in objects if o["kind"] != "HTTPRoute"]
    routes = [o for o in objects if o["kind"] == "HTTPRoute"]
    content = yamlout.dump_documents(workloads, kustomize.header(source.source))
    route_bytes = yamlout.dump_documents(routes, kustomize.header(source.source)) if routes else None
    names = tuple((o["kind"], o["metadata"]["name"]) for o in objects)
    warnings = tuple(kserve.warnings(workload, cfg)) if workload.kind == "kserve" else ()
    return RenderedModel(source.source, source.env, stem, content, names, None, route_bytes, source, warnings), []


def collisions(layout: RepoLayout, models: list[RenderedModel]) -> list[Problem]:
    """Two release files of one environment that render objects of the same kind and name
    (one problem per pair of files, naming every clashing object)."""
    owner: dict[tuple[str, str, str], str] = {}
    clashes: dict[tuple[str, str], list[str]] = {}
    for m in sorted(models, key=lambda m: m.source):
        for kind, name in m.objects:
            key = (m.env, kind, name)
            if key in owner:
                clashes.setdefault((m.source, owner[key]), []).append(f"{kind} {name!r}")
            else:
                owner[key] = m.source
    problems = []
    for (source, other), objects in sorted(clashes.items()):
        problem = Problem(source, ("metadata", "name"), "render.collision",
                          f"renders {', '.join(objects)}, which {other} renders too",
                          "rename one of the two models: a canary adds <name>-canary and <name>-stable objects")
        release, _ = read_release(layout, layout.root / source)
        problems += positioned([problem], release.document) if release else [problem]
    return problems


def _promotion(layout: RepoLayout) -> dict[str, str | None]:
    """env -> promotesFrom, from the policy pack (no order when the repository has none)."""
    if not layout.policy_pack.is_file():
        return {}
    return {e.name: e.promotes_from for e in load_policy_pack(layout).environments}


def select_envs(layout: RepoLayout, only: list[str] | None) -> list[str]:
    names = layout.environment_names()
    for env in only or ():
        if env not in names:
            close = difflib.get_close_matches(env, names, n=1)
            hint = f"did you mean {close[0]}?" if close else f"environments here: {', '.join(names) or 'none'}"
            raise InputError(f"--env {env}: no directory environments/{env}", hint)
    return [e for e in names if not only or e in only]


def _env_files(env: str, cfg: RenderConfig, files: list[str], route_files: list[str]) -> dict[str, bytes]:
    return {
        f"environments/{env}/manifests/{kustomize.KUSTOMIZATION}": kustomize.kustomization(env, cfg.namespace(env), files),
        f"environments/{env}/manifests/{kustomize.NAMESPACE}": kustomize.namespace(env, cfg.env(env)),
        f"environments/{env}/{kustomize.ROUTES}/{kustomize.KUSTOMIZATION}": kustomize.routes_kustomization(
            env, cfg.namespace(env), route_files),
        f"environments/{env}/{kustomize.KUSTOMIZATION}": kustomize.environment_kustomization(env),
    }


def _add_wiring(plan: Plan, layout: RepoLayout, cfg: RenderConfig) -> None:
    order = wiring.order_environments(layout.environment_names(), _promotion(layout))
    plan.expected.update(wiring.wiring_files(order, cfg))
    plan.expected[kserve.RUNTIME_FILE] = yamlout.dump_documents([kserve.serving_runtime(cfg)],
                                                                kustomize.header("policies/render.yaml"))
    plan.expected[f"{kserve.RUNTIME_DIR}/{kustomize.KUSTOMIZATION}"] = yamlout.dump_documents([{
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [kserve.RUNTIME_FILE.rsplit("/", 1)[1]],
    }], kustomize.header())
    plan.owned_marked_dirs += ["deploy/argocd", wiring.FLUX_DIR, kserve.RUNTIME_DIR]


def _add_models(plan: Plan, rendered: Iterable[tuple[RenderedModel | None, list[Problem]]]) -> None:
    for model, problems in rendered:
        plan.problems += problems
        if model is not None:
            plan.models.append(model)
            plan.expected[manifest_path(model.env, model.stem)] = model.content
            plan.expected[route_path(model.env, model.stem)] = model.routes


def render_plan(layout: RepoLayout, envs: list[str] | None = None, cfg: RenderConfig | None = None) -> Plan:
    """The full render of ``envs`` (default: every environment)."""
    cfg = cfg or load_config(layout)
    plan = Plan(envs=select_envs(layout, envs))
    paths = [p for env in plan.envs for p in release_paths(layout, env)]
    _add_models(plan, parallel.map_ordered(functools.partial(render_file, layout, cfg), paths))
    for env in plan.envs:
        models = [m for m in plan.models if m.env == env]
        plan.expected.update(_env_files(env, cfg, [f"{m.stem}.yaml" for m in models if m.content is not None],
                                        [f"{m.stem}.yaml" for m in models if m.routes is not None]))
        plan.owned_dirs += [f"environments/{env}/manifests", f"environments/{env}/{kustomize.ROUTES}"]
    plan.problems += collisions(layout, plan.models)
    _add_wiring(plan, layout, cfg)
    return plan


def render_changed(layout: RepoLayout, changed: Iterable[str], cfg: RenderConfig | None = None) -> Plan:
    """Re-render only the outputs of ``changed`` release files (repo-relative paths, deleted
    ones included) and the kustomization.yaml of their environments.

    Assumes the other outputs are up to date (a full ``render --check`` in CI proves it):
    the kustomization lists their manifest files as found on disk.
    """
    cfg = cfg or load_config(layout)
    by_env = _changed_by_env(layout, changed)
    plan = Plan(envs=sorted(by_env))
    for env, stems in sorted(by_env.items()):
        present = {p.name[: -len(RELEASE_SUFFIX)]: p for p in release_paths(layout, env)}
        for stem in sorted(stems):
            if stem in present:
                source, found = read_release(layout, present[stem])
                plan.problems += found
                if source is not None:
                    _add_models(plan, [render_source(source, cfg)])
            else:
                plan.expected[manifest_path(env, stem)] = None
                plan.expected[route_path(env, stem)] = None
        kept = _kept_on_disk(layout, env, set(present) - stems)
        kept_routes = _kept_on_disk(layout, env, set(present) - stems, kustomize.ROUTES)
        models = [m for m in plan.models if m.env == env]
        plan.problems += _neighbour_collisions(layout, models, set(present) - stems)
        files = sorted(kept | {f"{m.stem}.yaml" for m in models if m.content is not None})
        route_files = sorted(kept_routes | {f"{m.stem}.yaml" for m in models if m.routes is not None})
        plan.expected.update(_env_files(env, cfg, files, route_files))
    plan.problems += collisions(layout, plan.models)
    _add_wiring(plan, layout, cfg)
    return plan


def _changed_by_env(layout: RepoLayout, changed: Iterable[str]) -> dict[str, set[str]]:
    by_env: dict[str, set[str]] = {}
    for path in changed:
        parsed = parse_release_source(Path(path).as_posix())
        if parsed is not None:
            by_env.setdefault(parsed[0], set()).add(parsed[1])
    return by_env


def _kept_on_disk(layout: RepoLayout, env: str, stems: set[str], sub: str = "manifests") -> set[str]:
    folder = layout.root / "environments" / env / sub
    return {f"{s}.yaml" for s in stems if (folder / f"{s}.yaml").is_file()}


def _disk_objects(layout: RepoLayout, env: str, stem: str) -> set[tuple[str, str]]:
    """(kind, name) of the objects in an unchanged model's manifest file on disk."""
    docs: list[object] = []
    for sub in ("manifests", kustomize.ROUTES):
        try:
            path = layout.root / "environments" / env / sub / f"{stem}.yaml"
            docs += list(yaml.load_all(path.read_bytes(), Loader=yaml.CSafeLoader)) if path.is_file() else []
        except (OSError, yaml.YAMLError):
            return set()
    return {(str(d.get("kind")), str((d.get("metadata") or {}).get("name"))) for d in docs if isinstance(d, dict)}


def _neighbour_collisions(layout: RepoLayout, models: list[RenderedModel], others: set[str]) -> list[Problem]:
    """In incremental mode: objects of changed models that an unchanged model of the same
    environment renders too (only models whose name could clash are read from disk)."""
    problems = []
    for m in models:
        names = {name for _, name in m.objects}
        suspects = sorted(o for o in others if names & {o, f"{o}-canary", f"{o}-stable"})
        for other in suspects:
            clash = sorted(set(m.objects) & _disk_objects(layout, m.env, other))
            if clash:
                kind, name = clash[0]
                problem = Problem(
                    m.source, ("metadata", "name"), "render.collision",
                    f"renders {kind} {name!r}, which {release_source(m.env, other)} renders too",
                    "rename one of the two models: a canary adds <name>-canary and <name>-stable objects")
                problems += positioned([problem], m.release.document) if m.release else [problem]
    return problems

"""Rendered custom resources (the repository's and the golden files') against published contracts.

Nothing here needs the ../shared folder:
- Argo CD, Flux and Gateway API kinds: the validators that the npm @kubernetes-models/* packages
  publish (tests/support/k8s_models.py, fetched by scripts/fixtures/fetch-k8s-models.sh), unknown
  fields included;
- KServe InferenceService, which no such package covers: a schema of the fields releasegate
  renders, written from the KServe v1beta1 API (tests/support/kserve-inferenceservice-v1beta1.schema.json).
Where shared/crds is present (these machines; RELEASEGATE_SHARED_CRDS names another folder), the
converted upstream CRDs are an extra, strict check; it is skipped, never required, elsewhere.
"""
from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from render_helpers import CUSTOM_KINDS, HAND_WRITTEN_KINDS, kind_of, rendered_documents, shared_crds

from tests.support import k8s_models

KSERVE = ("serving.kserve.io/v1beta1", "InferenceService")
KSERVE_SCHEMA = Path(k8s_models.__file__).with_name("kserve-inferenceservice-v1beta1.schema.json")
CUSTOM = [d for d in rendered_documents() if kind_of(d[1]) in CUSTOM_KINDS]
PUBLISHED = [d for d in CUSTOM if kind_of(d[1]) != KSERVE]
INFERENCE_SERVICES = [d for d in CUSTOM if kind_of(d[1]) == KSERVE]
RUNTIME = ("serving.kserve.io/v1alpha1", "ClusterServingRuntime")
RUNTIMES = [d for d in rendered_documents() if kind_of(d[1]) == RUNTIME]
# Neighbours releasegate may render next: their validators come with the same fixture.
NEIGHBOURS = {
    ("argoproj.io/v1alpha1", "AppProject"),
    ("serving.knative.dev/v1", "Service"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
}


def _id(value: Any) -> str:
    return value if isinstance(value, str) else f"{value['kind']}/{value['metadata']['name']}"


def _first(kind: tuple[str, str]) -> dict[str, Any]:
    return copy.deepcopy(next(d for _, d in CUSTOM if kind_of(d) == kind))


@cache
def _published_results() -> tuple[list[k8s_models.FieldError] | None, ...]:
    return tuple(k8s_models.validate([d for _, d in PUBLISHED]))


@cache
def _kserve() -> jsonschema.Draft202012Validator:
    schema = json.loads(KSERVE_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _kserve_errors(doc: dict[str, Any]) -> list[str]:
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _kserve().iter_errors(doc))


def test_every_custom_kind_has_a_contract() -> None:
    assert PUBLISHED and INFERENCE_SERVICES
    assert set(CUSTOM_KINDS) - {KSERVE} | NEIGHBOURS <= k8s_models.known_kinds()
    assert KSERVE not in k8s_models.known_kinds()  # hence the hand-written contract


@pytest.mark.parametrize("index", range(len(PUBLISHED)), ids=[f"{p}:{_id(d)}" for p, d in PUBLISHED])
def test_custom_resource_passes_its_published_validator(index: int) -> None:
    path, doc = PUBLISHED[index]
    errors = _published_results()[index]
    assert errors is not None, f"no @kubernetes-models validator for {doc['apiVersion']}/{doc['kind']}"
    assert errors == [], f"{path}: " + "; ".join(f"{e.path}: {e.message}" for e in errors[:5])


@pytest.mark.parametrize("path,doc", INFERENCE_SERVICES, ids=_id)
def test_inference_service_matches_the_kserve_contract(path: str, doc: dict[str, Any]) -> None:
    assert _kserve_errors(doc) == [], path


@cache
def _runtime_contract() -> jsonschema.Draft202012Validator:
    schema = json.loads(Path(k8s_models.__file__).with_name(HAND_WRITTEN_KINDS[RUNTIME]).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _runtime_errors(doc: dict[str, Any]) -> list[str]:
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _runtime_contract().iter_errors(doc))


@pytest.mark.parametrize("path,doc", RUNTIMES, ids=_id)
def test_serving_runtime_matches_the_kserve_contract(path: str, doc: dict[str, Any]) -> None:
    assert RUNTIMES and RUNTIME not in k8s_models.known_kinds()
    assert _runtime_errors(doc) == [], path


def test_serving_runtime_serves_what_the_inference_services_select() -> None:
    """Every InferenceService that names releasegate's runtime asks for a format it supports."""
    runtimes = {d["metadata"]["name"]: d["spec"] for _, d in RUNTIMES}
    selecting = [(p, d["spec"]["predictor"]["model"]) for p, d in INFERENCE_SERVICES
                 if "runtime" in d["spec"]["predictor"]["model"]]
    assert selecting
    for path, model in selecting:
        spec = runtimes[model["runtime"]]
        assert model["modelFormat"]["name"] in {f["name"] for f in spec["supportedModelFormats"]}, path
        assert model.get("protocolVersion", "v2") in spec["protocolVersions"], path
        assert model["args"][0].startswith("/mnt/models/") and "--sha256" in model["args"], path


def test_serving_runtime_contract_catches_misspelt_fields() -> None:
    doc = copy.deepcopy(RUNTIMES[0][1])
    doc["spec"]["supportedModelFormats"][0]["autoselect"] = True
    doc["spec"]["containers"][0]["name"] = "server"
    doc["spec"]["containers"][0]["securityContext"]["runAsUser"] = "65532"
    errors = "\n".join(_runtime_errors(doc))
    for fragment in ("'autoselect' was unexpected", "'kserve-container' was expected", "'65532' is not of type"):
        assert fragment in errors


def test_published_validators_catch_wrong_types_and_unknown_fields() -> None:
    """Guards the guard: a misspelt field, a wrong type and a missing required field are reported."""
    route = _first(("gateway.networking.k8s.io/v1", "HTTPRoute"))
    backend = route["spec"]["rules"][0]["backendRefs"][0]
    backend["wieght"] = backend.pop("weight", 1)
    backend["port"] = str(backend.get("port", 80))
    appset = _first(("argoproj.io/v1alpha1", "ApplicationSet"))
    del appset["spec"]["template"]
    appset["metadata"]["lables"] = {}
    flux = _first(("kustomize.toolkit.fluxcd.io/v1", "Kustomization"))
    flux["spec"]["prune"] = "yes"
    results = k8s_models.validate([route, appset, flux])
    found = [{(e.path, e.message) for e in errors or []} for errors in results]
    assert ("/spec/rules/0/backendRefs/0/wieght", "unknown field (not in the schema)") in found[0]
    assert ("/spec/rules/0/backendRefs/0/port", "must be integer") in found[0]
    assert ("/metadata/lables", "unknown field (not in the schema)") in found[1]
    assert any(p == "/spec" and "template" in m for p, m in found[1])
    assert ("/spec/prune", "must be boolean") in found[2]


def test_published_validators_check_the_monitoring_objects() -> None:
    monitor = _first(("monitoring.coreos.com/v1", "PodMonitor"))
    monitor["spec"]["podMetricsEndpoints"][0]["prot"] = monitor["spec"]["podMetricsEndpoints"][0].pop("port")
    rule = _first(("monitoring.coreos.com/v1", "PrometheusRule"))
    rule["spec"]["groups"][0]["rules"][-1]["for"] = "five minutes"
    rule["spec"]["groups"][0]["rules"][0]["recrod"] = "x"
    found = [{(e.path, e.message) for e in errors or []} for errors in k8s_models.validate([monitor, rule])]
    assert ("/spec/podMetricsEndpoints/0/prot", "unknown field (not in the schema)") in found[0]
    assert ("/spec/groups/0/rules/0/recrod", "unknown field (not in the schema)") in found[1]
    assert any(p.endswith("/for") for p, _ in found[1])


def test_published_validators_leave_maps_and_free_form_fields_open() -> None:
    flux = _first(("kustomize.toolkit.fluxcd.io/v1", "Kustomization"))
    flux["metadata"]["labels"] = {"any.example/key": "value"}
    flux["spec"]["postBuild"] = {"substitute": {"ANY_NAME": "value"}}
    flux["spec"]["patches"] = [{"patch": "- op: add\n  path: /x\n  value: 1\n", "target": {"kind": "Deployment"}}]
    assert k8s_models.validate([flux]) == [[]]


def test_kserve_contract_catches_misspelt_fields_and_bad_values() -> None:
    doc = _first(KSERVE)
    predictor = doc["spec"]["predictor"]
    predictor["canaryTraficPercent"] = 10
    predictor["minReplicas"] = "1"
    predictor["model"]["protocolVersion"] = "v3"
    predictor["model"]["resources"] = {"requests": {"memory": "8 GB"}}
    doc["metadata"]["name"] = "Fraud_Score"
    errors = "\n".join(_kserve_errors(doc))
    for fragment in ("'canaryTraficPercent' was unexpected", "spec/predictor/minReplicas: '1' is not of type 'integer'",
                     "protocolVersion: 'v3' is not one of", "requests/memory: '8 GB' is not valid", "metadata/name"):
        assert fragment in errors


# --- the optional extra: converted upstream CRDs in shared/crds --------------------------------

def _shared() -> Path:
    found = shared_crds()
    if found is None:
        pytest.skip("shared/crds is absent (an optional extra check; set RELEASEGATE_SHARED_CRDS to a folder of "
                    "converted CRD schemas to run it)")
    return found


def _strict(schema: Any) -> Any:
    """A CRD schema as the API server applies it with strict field validation: unknown
    fields are errors unless x-kubernetes-preserve-unknown-fields says otherwise."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def test_custom_resources_match_the_shared_crd_schemas() -> None:
    folder = _shared()
    problems = []
    for path, doc in CUSTOM:
        name = CUSTOM_KINDS[kind_of(doc)]
        if name is None:
            continue
        schema = _strict(json.loads((folder / name).read_text()))
        schema["properties"]["metadata"] = {"type": "object"}  # the API server validates metadata itself
        for e in jsonschema.Draft7Validator(schema).iter_errors(doc):
            problems.append(f"{path}: {list(e.path)}: {e.message}")
    assert problems == []


def _fields(schema: dict[str, Any], root: dict[str, Any], at: str = "") -> dict[str, dict[str, Any]]:
    """Every property the schema names below ``at``, by path ($refs resolved against ``root``)."""
    if "$ref" in schema:
        schema = {**root["$defs"][schema["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in schema.items() if k != "$ref"}}
    out = {}
    for name, sub in schema.get("properties", {}).items():
        out[f"{at}/{name}"] = sub
        out.update(_fields(sub, root, f"{at}/{name}"))
    items = schema.get("items")
    if isinstance(items, dict):
        out.update(_fields(items, root, at + "/*"))
    return out


def test_kserve_contract_names_only_fields_of_the_upstream_crd() -> None:
    """The hand-written contract invents nothing: each field it allows under spec is in KServe's CRD."""
    ours = json.loads(KSERVE_SCHEMA.read_text())
    upstream = json.loads((_shared() / str(CUSTOM_KINDS[KSERVE])).read_text())
    theirs = _fields(upstream, upstream)
    mine = {p: s for p, s in _fields(ours, ours).items() if p.startswith("/spec")}
    assert mine and sorted(set(mine) - set(theirs)) == []


def test_shared_crds_are_optional_and_their_place_configurable(tmp_path: Path) -> None:
    assert shared_crds(str(tmp_path)) is None
    (tmp_path / str(CUSTOM_KINDS[KSERVE])).write_text("{}")
    assert shared_crds(str(tmp_path)) == tmp_path

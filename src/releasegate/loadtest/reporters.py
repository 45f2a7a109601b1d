"""Render a :class:`LoadTestResult`: text for terminals, Markdown for PR comments and step summaries,
GitHub annotations, and the files written to ``--out`` (result.json, report.md, PNG plots)."""
from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from releasegate.github.workflow import annotation
from releasegate.loadtest.result import ERROR, FAILED, INCONCLUSIVE, PASSED, SKIPPED, LoadTestResult, ReleaseResult

ICONS = {PASSED: "✅", FAILED: "❌", ERROR: "❌", INCONCLUSIVE: "⚠️", SKIPPED: "⏭️",
         "regression": "❌", "fail": "❌", "pass": "✅", "inconclusive": "⚠️", "not judged": "➖"}
MARKER = "<!-- releasegate-loadtest -->"


def _ms(x: Any) -> str:
    return "–" if x is None or not math.isfinite(float(x)) else f"{float(x):.2f}"


def _pct(interval: dict[str, Any] | None) -> str:
    if not interval or interval.get("value") is None:
        return "–"
    lo, hi = interval.get("low"), interval.get("high")
    text = f"{interval['value'] * 100:+.1f} %"
    if lo is not None and hi is not None:
        text += f" [{lo * 100:+.1f}, {hi * 100:+.1f}]"
    return text


def _short(sha: str | None) -> str:
    return f"`{sha[:12]}`" if sha else "no digest"


def _heading(r: ReleaseResult) -> str:
    return f"{r.environment} / {r.model}: {ICONS.get(r.verdict, '')} {r.verdict}"


def _sides_line(r: ReleaseResult) -> str:
    if r.candidate is None:
        return ""
    text = f"candidate {r.candidate.version} ({_short(r.candidate.sha256)})"
    text += f" vs baseline {r.baseline.version} ({_short(r.baseline.sha256)})" if r.baseline else " (new model: no baseline)"
    if r.profile:
        p = r.profile
        if p.get("sequential"):
            text += (f", profile `{p.get('name')}` (sides alternating until decided: first look after "
                     f"{p.get('phaseSeconds', 0):g} s, at most {p.get('maxPhaseSeconds', 0):g} s per load point)")
        else:
            text += f", profile `{p.get('name')}` ({p.get('phaseSeconds', 0):g} s per load point, sides interleaved)"
    return text


def _decisions(r: ReleaseResult) -> list[str]:
    """How each sequential point was decided: the stopping rule, what was measured, time to decision."""
    lines: list[str] = []
    for p in r.points:
        seq = p.get("sequential")
        if not seq:
            continue
        if not lines:
            lines += [f"Stopping rule: {seq['stoppingRule']}.", "",
                      "| load | looks | slot pairs | requests (baseline / candidate) | metric | decided | time to decision |",
                      "|---|---|---|---|---|---|---|"]
        req = seq.get("requests") or {}
        head = f"| {p['id']} | {len(seq['looks'])} | {seq['slotPairs']} | {req.get('baseline', '–')} / {req.get('candidate', '–')}"
        for i, v in enumerate(p.get("verdicts", [])):
            when = (seq.get("timeToDecision") or {}).get(v["metric"])
            took = (f"look {when['look']}: {when['measuredSeconds']:g} s measured, {when['wallSeconds']:g} s wall"
                    if when else "not decided")
            lead = head if i == 0 else "| | | |"
            lines.append(f"{lead} | {v['metric']} | {ICONS.get(v['verdict'], '')} {v['verdict']} | {took} |")
    return lines


def _verdict_table(r: ReleaseResult) -> list[str]:
    if not r.verdicts:
        return []
    rows = ["| metric | verdict | decided by | detail |", "|---|---|---|---|"]
    for v in r.verdicts:
        rows.append(f"| {v.metric} | {ICONS.get(v.verdict, '')} {v.verdict} | `{v.rule}` | {v.message} |")
    return rows


def _point_rows(r: ReleaseResult) -> list[str]:
    if not r.points:
        return []
    rows = ["| load | side | requests | errors | p50 ms | p95 ms [CI] | p99 ms | req/s | Δ p95 [CI] | Δ p99 | Δ req/s |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in r.points:
        users = f"{p['users']} user" + ("s" if p["users"] != 1 else "")
        load = users if p["mode"] == "closed" else f"{p['rateRps']} req/s open"
        for side in ("baseline", "candidate"):
            s = p.get(side)
            if not s:
                continue
            lat = s["latencyMs"]
            p95 = f"{_ms(lat['p95']['value'])} [{_ms(lat['p95']['low'])}–{_ms(lat['p95']['high'])}]"
            change = p.get("change") or {}
            deltas = ("–", "–", "–") if side == "baseline" or not change else (
                _pct(change.get("p95")), _pct(change.get("p99")), _pct(change.get("throughput")))
            rows.append(f"| {load} | {side} | {s['requests']} | {s['errors']} | {_ms(lat['p50']['value'])} | {p95} | "
                        f"{_ms(lat['p99']['value'])} | {_ms(s['throughputRps']['value'])} | {' | '.join(deltas)} |")
    return rows


def _telemetry(r: ReleaseResult) -> list[str]:
    lines = []
    sat = [p["id"] for p in r.points for s in ("candidate", "baseline") if (p.get(s) or {}).get("generator", {}).get("saturated")]
    if sat:
        lines.append(f"- ⚠️ load generator saturated at {', '.join(sorted(set(sat)))}: those points measure locust, not the model")
    gpus = [(p["id"], s, p[s]["gpu"]) for p in r.points for s in ("baseline", "candidate") if p.get(s)]
    shown = [(pid, s, g) for pid, s, g in gpus if g.get("available")]
    if shown:
        for pid, s, g in shown:
            lines.append(f"- GPU {pid} {s}: utilisation {g['utilizationPctMean']} %, memory peak {g['memoryPeakMiB']} MiB, "
                         f"power {g['powerWattsMean']} W")
    elif gpus:
        lines.append(f"- GPU telemetry unavailable: {gpus[0][2].get('reason', '')}")
    if r.slo_search:
        for side in ("baseline", "candidate"):
            found = r.slo_search.get(side)
            if found:
                lines.append(f"- throughput within the SLO, {side}: {_ms(found['throughputRps'])} req/s "
                             f"(at {found['point']})")
    return lines


def release_markdown(r: ReleaseResult, plot_prefix: str = "") -> str:
    lines = [f"### {_heading(r)}", ""]
    if r.verdict in (SKIPPED, ERROR):
        lines.append(f"{r.reason}" + (f"\n\n*How to fix:* {r.hint}" if r.hint else ""))
        return "\n".join(lines) + "\n"
    if r.hint:
        lines += [f"{r.reason}\n\n*How to fix:* {r.hint}", ""]
    lines += [_sides_line(r), "", *_verdict_table(r), "", *_point_rows(r), ""]
    decisions = _decisions(r)
    if decisions:
        lines += [*decisions, ""]
    extra = _telemetry(r) + [f"- ⚠️ {w}" for w in r.warnings]
    if extra:
        lines += [*extra, ""]
    for plot in r.plots:
        lines.append(f"![{plot}]({plot_prefix}{plot})")
    return "\n".join(lines).rstrip() + "\n"


def markdown(result: LoadTestResult, plot_prefix: str = "") -> str:
    """The Markdown section for the PR comment and the step summary."""
    tested = [r for r in result.releases if r.verdict != SKIPPED]
    head = [MARKER, "## Load test (releasegate loadtest)", "",
            f"**Verdict: {ICONS.get(result.verdict, '')} {result.verdict}**: {len(tested)} release(s) measured, "
            f"{len(result.releases) - len(tested)} skipped, against `{result.base}` on {_machine(result)} "
            f"in {result.seconds:.0f} s.", ""]
    body = [release_markdown(r, plot_prefix) for r in result.releases]
    if not result.releases:
        body = ["No changed release file needs a load test.\n"]
    return "\n".join(head) + "\n" + "\n".join(body)


def _machine(result: LoadTestResult) -> str:
    gpu = result.machine.get("gpu") or {}
    where = gpu.get("name") if gpu.get("available") else "CPU (no GPU)"
    return f"{where}, {result.machine.get('cpuCount')} cores"


def text(result: LoadTestResult) -> str:
    """A terse report for terminals."""
    lines = [f"load test: {result.verdict} ({len(result.releases)} release file(s), base {result.base}, {_machine(result)})"]
    for r in result.releases:
        lines.append(f"{r.file}: {r.verdict}: {r.reason}")
        if r.hint:
            lines.append(f"  hint: {r.hint}")
        for v in r.verdicts:
            lines.append(f"  {v.verdict:<12} {v.metric:<20} {v.rule}: {v.message}")
        for p in r.points:
            seq = p.get("sequential")
            if seq:
                lines.append(f"  {p['id']}: {len(seq['looks'])} look(s), {seq['slotPairs']} slot pairs, requests "
                             f"{seq['requests']} ({seq['stoppingRule']})")
        for w in r.warnings:
            lines.append(f"  warning: {w}")
    if result.out_dir:
        lines.append(f"report: {result.out_dir}/report.md, result: {result.out_dir}/result.json")
    return "\n".join(lines) + "\n"


def github(result: LoadTestResult) -> str:
    """Workflow commands: one ``::error``/``::warning`` per release that did not pass."""
    lines = []
    for r in result.releases:
        if r.verdict in (FAILED, ERROR) or (r.verdict == INCONCLUSIVE and r.blocking):
            lines.append(annotation("error", r.reason, file=r.file, title=f"load test {r.verdict}"))
        elif r.verdict == INCONCLUSIVE:
            lines.append(annotation("warning", r.reason, file=r.file, title="load test inconclusive"))
    lines.append(annotation("notice", result.verdict, title="load test"))
    return "\n".join(lines) + "\n"


def _atomic_write(path: Path, data: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(data, encoding="utf-8")
    tmp.replace(path)


def _plots(r: ReleaseResult, out_dir: Path) -> ReleaseResult:
    if not r.plot_data or not r.points:
        return r
    from releasegate.loadtest import plots

    stem = f"{r.environment}-{r.model}"
    title = f"{r.environment}/{r.model}: candidate {r.candidate.version if r.candidate else '?'}" + (
        f" vs baseline {r.baseline.version}" if r.baseline else "")
    made = [
        plots.latency_throughput(r.plot_data["curves"], title, out_dir / f"{stem}-latency-throughput.png"),
        plots.latency_cdf(r.plot_data["latencies"], r.plot_data["modes"], title, out_dir / f"{stem}-latency-cdf.png"),
    ]
    return replace(r, plots=tuple(p.name for p in made))


def write_outputs(result: LoadTestResult, out_dir: Path, plots: bool = True) -> LoadTestResult:
    """Write result.json, report.md and the plots to ``out_dir``; the result with plot names filled in."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if plots:
        result = replace(result, releases=tuple(_plots(r, out_dir) for r in result.releases))
    _atomic_write(out_dir / "result.json", result.to_json())
    _atomic_write(out_dir / "report.md", markdown(result))
    return result

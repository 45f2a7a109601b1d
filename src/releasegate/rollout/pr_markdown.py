"""The canary analysis in the pull request of ``rollout advance``: the numbers, the rule, the queries."""
from __future__ import annotations

from releasegate.github.markdown import code, details, escape, table
from releasegate.rollout.analysis import Analysis, Side, window_text


def _row(side: Side | None, name: str, version: str | None) -> list[str]:
    if side is None:
        return [name, code(version) if version else "the last rolled-out revision", "-", "-", "-", "-", "-"]
    p95 = side.quantile(0.95)
    return [name, code(side.version), f"{side.requests:.0f}", f"{side.errors:.0f}", f"{side.error_ratio * 100:.2f} %",
            f"{p95 * 1000:.1f} ms" if p95 is not None else "-", f"{side.samples:.0f}"]


def section(analysis: Analysis) -> str:
    """``### Canary analysis: pass`` and what it rests on (every value escaped)."""
    s, verdict, source = analysis.subject, analysis.verdict, analysis.source or "-"
    rows = [_row(analysis.canary, "canary", s.canary), _row(analysis.stable, "stable", s.stable)]
    lines = [f"### Canary analysis: {verdict.outcome}", "",
             f"{escape(verdict.summary, 2000)}", "",
             f"Window: {escape(window_text(s))}, from Prometheus {code(source, 300)}.", "",
             table(["side", "version", "requests", "5xx", "error ratio", "p95", "latency samples"], rows), ""]
    lines += [f"- {escape(finding, 1000)}" for finding in analysis.findings]
    lines += ["", "The rule: at least `minRequests` answers and latency samples on each side; the error ratios' "
              "difference against the margin by its 95 % Agresti-Caffo interval; p95 above `maxLatencyRatio` x "
              "stable's and `minLatencyIncreaseMs` higher is slower (docs/rollout.md).", ""]
    if analysis.queries:
        lines.append(details("queries", "\n".join(f"- {code(q, 500)}" for q in analysis.queries)))
    return "\n".join(lines) + "\n"

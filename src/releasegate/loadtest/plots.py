"""PNG plots of a release's load test (matplotlib, Agg backend: no display needed).

* ``<env>-<model>-latency-throughput.png``: p50 and p95 latency against throughput at
  every measured load point, candidate and baseline;
* ``<env>-<model>-latency-cdf.png``: the latency distribution (CDF, log latency axis)
  of both sides at each closed-loop point.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

COLORS = {"candidate": "#d62728", "baseline": "#1f77b4"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def latency_throughput(curves: dict[str, list[Any]], title: str, path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for side, points in curves.items():
        pts = sorted((p for p in points if math.isfinite(p.latency.get(95.0, math.nan))), key=lambda p: p.throughput)
        if not pts:
            continue
        x = [p.throughput for p in pts]
        ax.plot(x, [p.latency[95.0] for p in pts], "o-", color=COLORS[side], label=f"{side} p95")
        ax.plot(x, [p.latency[50.0] for p in pts], "s--", color=COLORS[side], alpha=0.6, label=f"{side} p50")
        for p in pts:
            ax.annotate(p.point, (p.throughput, p.latency[95.0]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("throughput (successful requests/s)")
    ax.set_ylabel("latency (ms)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, plt, path)


def latency_cdf(latencies: dict[str, dict[str, list[np.ndarray]]], modes: dict[str, str], title: str, path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    styles = ["-", "--", ":", "-."]
    for i, (point, sides) in enumerate(latencies.items()):
        for side, parts in sides.items():
            values = np.sort(np.concatenate(parts)) if parts else np.empty(0)
            if values.size == 0:
                continue
            y = np.arange(1, values.size + 1) / values.size
            ax.plot(values, y, styles[i % len(styles)], color=COLORS[side], label=f"{side} {point} ({modes.get(point, '')})")
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of requests")
    for q in (0.95, 0.99):
        ax.axhline(q, color="grey", linewidth=0.6, alpha=0.6)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return _save(fig, plt, path)


def _save(fig: Any, plt: Any, path: Path) -> Path:
    tmp = path.with_suffix(".tmp.png")
    fig.tight_layout()
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path

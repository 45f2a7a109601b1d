"""Render the manifests that Argo CD or Flux apply, from the release files.

    plan = render_plan(layout)            # in memory, nothing written
    drifts = compare(layout, plan)        # what --check reports
    apply_plan(layout, plan)              # atomic writes, stale files removed

Rendering depends only on the release files, ``policies/render.yaml`` and the
policy pack's environment order, so a restored release file renders the
manifests of its time byte for byte. See docs/render.md.
"""
from __future__ import annotations

from releasegate.render.drift import Drift, compare
from releasegate.render.plan import Plan, render_changed, render_plan
from releasegate.render.writer import WriteResult, apply_plan

__all__ = ["Drift", "Plan", "WriteResult", "apply_plan", "compare", "render_changed", "render_plan"]

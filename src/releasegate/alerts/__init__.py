"""An alert opens the rollback: ``releasegate on-alert`` and ``releasegate alert-relay``.

- :mod:`~releasegate.alerts.payload` reads Alertmanager webhook payloads (untrusted input);
- :mod:`~releasegate.alerts.triage` decides, per alert, whether it calls for a rollback or a canary's
  abort, against the release files on the branch;
- :mod:`~releasegate.alerts.on_alert` opens those pull requests (one per model and environment,
  none while one is open) through the machinery of ``rollback`` and ``rollout abort``;
- :mod:`~releasegate.alerts.pr_markdown` writes the alert into the pull request, escaped;
- :mod:`~releasegate.alerts.relay` receives Alertmanager's webhook on loopback and dispatches it to
  GitHub (``repository_dispatch``), for Alertmanagers that cannot template their webhook body.

See docs/monitoring.md.
"""
from __future__ import annotations

ACTION_LABEL = "releasegate_action"  # the rendered pages carry releasegate_action: rollback
ROLLBACK = "rollback"
EVENT_TYPE = "releasegate-alert"  # the repository_dispatch event type of alert-relay and the workflow
PR_LABEL = "releasegate-alert"  # on every pull request on-alert opens, beside rollback

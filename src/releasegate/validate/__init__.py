"""``releasegate validate``: release files against the schemas and the policy pack.

- :mod:`~releasegate.validate.engine` runs every rule over the selected files;
- :mod:`~releasegate.validate.rules` holds the rules (schema, consistency, freeze, history);
- :mod:`~releasegate.validate.targets` selects the files (paths, ``--all``, ``--base``);
- :mod:`~releasegate.validate.reporters` prints text, JSON or GitHub workflow commands;
- :mod:`~releasegate.validate.pull_request` is the pull-request check of the validate action
  (validation, approvals, sticky comment, check run) and
  :mod:`~releasegate.validate.pr_markdown` its Markdown.
"""
from __future__ import annotations

from releasegate.validate.context import Rule, ValidationContext, ValidationResult, Violation
from releasegate.validate.engine import run_validation

__all__ = ["Rule", "ValidationContext", "ValidationResult", "Violation", "run_validation"]

"""GitHub integration: webhook events, PR reporting (sticky comment, checks, labels) and approvals.

Everything here is library code: it returns values or raises
:class:`releasegate.errors.ReleasegateError`; it never prints.
"""
from __future__ import annotations

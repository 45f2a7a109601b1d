"""Errors of the load-test gate (part of the :mod:`releasegate.errors` family).

Inside :func:`releasegate.loadtest.run_loadtest` these never escape as exceptions for a
release: they become that release's ``error`` verdict with the message as reason.
"""
from __future__ import annotations

from releasegate.errors import EXIT_FAILED, ReleasegateError


class LoadTestError(ReleasegateError):
    """The load test of one release could not be completed (exit 1: the gate failed)."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, *, code: str = "error") -> None:
        super().__init__(message, hint)
        # A stable, machine-readable reason: artifact-unreachable, digest-mismatch,
        # server-not-ready, server-crashed, all-requests-failed, no-gpu, baseline-unusable, ...
        self.code = code


class ServerError(LoadTestError):
    """A model server did not start, did not become ready, or died while measured."""

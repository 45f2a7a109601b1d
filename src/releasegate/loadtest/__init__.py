"""The load-test gate: the candidate model against the version live now, on this machine.

Entry point for the CLI and the GitHub action::

    from releasegate.loadtest import LoadTestOptions, run_loadtest
    result = run_loadtest(LoadTestOptions(paths=("environments/prod/releases/m.yaml",), base="origin/main",
                                  out_dir="loadtest-out"), progress=print_to_stderr)
    result.exit_code   # 0 pass (or nothing to test), 1 gate failed
    result.to_json()   # schema releasegate/loadtest-result/v1 (docs/loadtest.md)

Importing this package is cheap; numpy, locust and matplotlib load when a gate runs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from releasegate.loadtest.result import LoadTestResult, ReleaseResult
    from releasegate.loadtest.run import LoadTestOptions, run_loadtest

__all__ = ["LoadTestOptions", "LoadTestResult", "ReleaseResult", "run_loadtest"]


def __getattr__(name: str) -> Any:
    if name in ("LoadTestOptions", "run_loadtest"):
        from releasegate.loadtest import run

        return getattr(run, name)
    if name in ("LoadTestResult", "ReleaseResult"):
        from releasegate.loadtest import result

        return getattr(result, name)
    raise AttributeError(name)

"""The load-test gate: the candidate model against the version live now, on this machine.

Entry point for the CLI and the GitHub action::

    from releasegate.loadtest import GateOptions, run_gate
    result = run_gate(GateOptions(paths=("environments/prod/releases/m.yaml",), base="origin/main",
                                  out_dir="loadtest-out"), progress=print_to_stderr)
    result.exit_code   # 0 pass (or nothing to test), 1 gate failed
    result.to_json()   # schema releasegate/loadtest-result/v1 (docs/loadtest.md)

Importing this package is cheap; numpy, locust and matplotlib load when a gate runs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from releasegate.loadtest.gate import GateOptions, run_gate
    from releasegate.loadtest.result import GateResult, ReleaseResult

__all__ = ["GateOptions", "GateResult", "ReleaseResult", "run_gate"]


def __getattr__(name: str) -> Any:
    if name in ("GateOptions", "run_gate"):
        from releasegate.loadtest import gate

        return getattr(gate, name)
    if name in ("GateResult", "ReleaseResult"):
        from releasegate.loadtest import result

        return getattr(result, name)
    raise AttributeError(name)

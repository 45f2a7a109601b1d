"""``run_loadtest``: the load-test gate from release files to a :class:`LoadTestResult`.

For each changed release whose environment requires a load test (and that is not a
rollback the policy lets through), the gate verifies the candidate's artifact, finds
the live version at the base ref (the baseline), starts both, warms them up, measures
them in interleaved phases and decides per metric. Problems of one release (artifact
unreachable, server never ready, crash, every request failing, no GPU where required,
a baseline that no longer loads) become that release's ``error`` verdict with the
reason; bad invocations (unknown profile, malformed release file, bad ``--base``)
raise :class:`~releasegate.errors.InputError` (exit 2).
"""
from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from releasegate import __version__
from releasegate.base_rules import rules_from
from releasegate.layout import find_root
from releasegate.loadtest import selection
from releasegate.loadtest.options import LoadTestOptions, Progress, RunContext
from releasegate.loadtest.procs import cleanup_on_signals
from releasegate.loadtest.profiles import declared
from releasegate.loadtest.result import LoadTestResult, ReleaseResult
from releasegate.loadtest.telemetry import GpuInfo, gpu_info
from releasegate.policy import load_policy_pack
from releasegate.release import load_release


def _quiet(_message: str) -> None:
    return None


def _device(option: str, gpu: GpuInfo) -> str:
    if option in ("cpu", "cuda"):
        return option
    return "cuda" if gpu.available else "cpu"


def _machine(gpu: GpuInfo, device: str) -> dict[str, object]:
    from releasegate.loadtest.driver import locust_processes

    return {
        "cpuCount": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "releasegate": __version__,
        "device": device,
        "gpu": {"available": gpu.available, "name": gpu.name, "uuid": gpu.uuid, "count": gpu.count, "reason": gpu.reason},
        "locustProcesses": locust_processes(),
    }


def run_loadtest(options: LoadTestOptions | None = None, progress: Progress | None = None) -> LoadTestResult:
    """Run the load-test gate; see the module docstring and docs/loadtest.md."""
    options = options or LoadTestOptions()
    progress = progress or _quiet
    started, t0 = datetime.now(timezone.utc), time.monotonic()
    layout = find_root(options.root) if options.root else find_root()
    base = options.base or "HEAD"
    selection.check_ref(layout, base)
    if options.base:  # a change is judged by the rules of its base, never by its own
        layout = rules_from(layout, options.base)
    policy = load_policy_pack(layout)
    profiles = declared(policy.raw)
    sources = selection.select(layout, options.paths, options.base)
    gpu = gpu_info()
    device = _device(options.device, gpu)
    out_dir = Path(options.out_dir).resolve() if options.out_dir else None
    with ExitStack() as stack:
        stack.enter_context(cleanup_on_signals())
        work = _work_dir(out_dir, stack)
        budget = options.budget_seconds
        deadline = t0 + budget if budget else float("inf")
        ctx = RunContext(options, layout, policy, profiles, base, gpu, device, work, out_dir, deadline, progress)
        progress(f"releasegate loadtest: {len(sources)} release file(s) against {base}; device {device}")
        results = tuple(_one(ctx, source) for source in sources)
    result = LoadTestResult(results, base, _machine(gpu, device), started.isoformat(timespec="seconds"),
                        time.monotonic() - t0, str(out_dir) if out_dir else None)
    if out_dir is not None:
        from releasegate.loadtest.reporters import write_outputs

        result = write_outputs(result, out_dir, plots=options.plots)
    return result


def _work_dir(out_dir: Path | None, stack: ExitStack) -> Path:
    if out_dir is not None:
        work = out_dir / "work"
        work.mkdir(parents=True, exist_ok=True)
        return work
    work = Path(tempfile.mkdtemp(prefix="releasegate-loadtest-"))
    stack.callback(shutil.rmtree, work, True)
    return work


def _one(ctx: RunContext, source: str) -> ReleaseResult:
    from releasegate.loadtest.release_run import run_release

    t0 = time.monotonic()
    candidate = load_release(ctx.layout, ctx.layout.root / source)
    result = run_release(ctx, candidate)
    ctx.progress(f"{source}: {result.verdict} - {result.reason}")
    return replace(result, seconds=time.monotonic() - t0)

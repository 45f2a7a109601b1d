"""The options of a load-test run and what every release of one run shares (values only)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from releasegate.layout import RepoLayout
from releasegate.loadtest.profiles import Profile
from releasegate.loadtest.telemetry import GpuInfo
from releasegate.policy import PolicyPack

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LoadTestOptions:
    """The options of one gate run (the CLI flags, one to one)."""

    paths: tuple[str, ...] = ()
    root: Path | str | None = None
    base: str | None = None
    profile: str | None = None
    budget_seconds: float | None = None
    out_dir: Path | str | None = None
    device: str = "auto"
    no_baseline: bool = False
    plots: bool = True


@dataclass
class RunContext:
    """What every release of one run shares."""

    options: LoadTestOptions
    layout: RepoLayout
    policy: PolicyPack
    profiles: dict[str, Profile]
    base: str
    gpu: GpuInfo
    device: str
    work_dir: Path
    out_dir: Path | None
    deadline: float
    progress: Progress

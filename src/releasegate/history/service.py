"""The status and history questions, as values ready to be reported."""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import yaml

from releasegate.errors import InputError
from releasegate.history.git import ensure_full_history, open_repo
from releasegate.history.live_cache import live_snapshot
from releasegate.history.query import History, LiveEntry
from releasegate.history.timeline import Stint
from releasegate.layout import RepoLayout


@dataclass(frozen=True)
class StatusReport:
    """What was live on ``ref`` (at ``at``, or now), ordered by model then environment order."""

    ref: str
    commit: str
    at: datetime | None
    environments: tuple[str, ...]
    entries: tuple[LiveEntry, ...]
    first_commit_time: int | None


@dataclass(frozen=True)
class ModelHistory:
    """Every stint of one model per environment, newest first."""

    model: str
    ref: str
    commit: str
    now: datetime
    environments: tuple[str, ...]
    stints: dict[str, tuple[Stint, ...]]


def environment_order(layout: RepoLayout, seen: Iterable[str]) -> tuple[str, ...]:
    """The policy pack's environments in its order, then any others found in history, sorted.

    Only the order is read here, leniently and without the JSON Schema check (which costs
    a fifth of a second of imports): status is a report, ``validate`` judges the pack.
    """
    ordered = policy_environment_names(layout)
    return tuple(ordered + sorted(set(seen) - set(ordered)))


def policy_environment_names(layout: RepoLayout) -> list[str]:
    try:
        raw = yaml.load(layout.policy_pack.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError):
        return []
    envs = raw.get("environments") if isinstance(raw, dict) else None
    names = [e.get("name") for e in envs or [] if isinstance(e, dict)] if isinstance(envs, list) else []
    return list(dict.fromkeys(n for n in names if isinstance(n, str)))


def check_choice(kind: str, flag: str, given: str, known: Sequence[str]) -> None:
    """InputError naming ``flag`` and the closest known name when ``given`` is unknown."""
    if given in known:
        return
    close = difflib.get_close_matches(given, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known {kind}s: {', '.join(sorted(known)) or '(none)'}"
    raise InputError(f"{flag} {given!r}: no such {kind} in the release history", hint)


def status_report(layout: RepoLayout, *, ref: str = "HEAD", at: datetime | None = None,
                  envs: Sequence[str] = (), deepen: bool = False) -> StatusReport:
    git = open_repo(layout.root)
    ensure_full_history(git, deepen)
    tip = git.rev_parse(ref)
    if at is None:
        snap = live_snapshot(lambda: History.open(layout.root, tip, git=git), git, tip)
        entries, seen, first = list(snap.entries), snap.environments, snap.first_time
    else:
        with History.open(layout.root, tip, git=git) as history:
            entries, seen, first = history.until(at).live(), tuple(history.environments()), history.first_time()
    order = environment_order(layout, seen)
    for env in envs:
        check_choice("environment", "--env", env, order)
    rank = {env: i for i, env in enumerate(order)}
    shown = [e for e in entries if not envs or e.env in envs]
    shown.sort(key=lambda e: (e.model, rank.get(e.env, len(rank)), e.env))
    return StatusReport(ref, tip, at, tuple(e for e in order if not envs or e in envs), tuple(shown), first)


def model_history(layout: RepoLayout, model: str, *, ref: str = "HEAD", envs: Sequence[str] = (),
                  now: datetime | None = None, deepen: bool = False) -> ModelHistory:
    with History.open(layout.root, ref, deepen=deepen) as history:
        check_choice("model", "MODEL", model, sorted(history.models()))
        order = environment_order(layout, history.environments())
        for env in envs:
            check_choice("environment", "--env", env, order)
        stints = history.model_stints(model, envs or None)
        shown = tuple(e for e in order if e in stints)
        newest_first = {env: tuple(reversed(stints[env])) for env in shown}
        moment = now or datetime.now(timezone.utc)
        return ModelHistory(model, ref, history.tip, moment, shown, newest_first)

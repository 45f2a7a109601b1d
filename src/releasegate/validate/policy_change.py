"""A change to ``policies/`` is itself a change to judge: what it touches and, in words, what it weakens.

The pull request that changes the rules is judged by the base commit's rules (its releases
included); its approvals are those of the strictest environment plus the owners that the
base policy names (``policyChange.approvals``). This module only describes the change, so
that reviewers see what they are approving: lowered approvals, removed soak, load tests
turned off, wider regression limits, removed freeze windows, and every schema or render
configuration file that changed.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from releasegate.errors import ReleasegateError
from releasegate.layout import RepoLayout
from releasegate.policy import (
    ApprovalPolicy,
    EnvironmentPolicy,
    EvidencePolicy,
    PolicyPack,
    RollbackPolicy,
    load_policy_pack,
)

PACK = "policies/policy-pack.yaml"


@dataclass(frozen=True)
class PolicyChange:
    """The ``policies/`` files a change touches, judged against the base's rules."""

    files: tuple[str, ...]
    rules_ref: str
    weakens: tuple[str, ...]
    unreadable: str | None = None  # why the changed policy pack does not load, if it does not

    def findings(self) -> list[str]:
        """What reviewers must know, one sentence each: an unloadable pack, then every weakening."""
        found = [f"the changed policy pack does not load: {self.unreadable}"] if self.unreadable else []
        found += [f"weakens: {w}" for w in self.weakens]
        return found or ["weakens nothing that releasegate can tell"]

    def as_dict(self) -> dict[str, object]:
        return {"files": list(self.files), "rulesRef": self.rules_ref, "weakens": list(self.weakens),
                "unreadable": self.unreadable}


def describe_policy_change(rules: RepoLayout, head: RepoLayout, files: Sequence[str]) -> PolicyChange:
    """Compare the base's rules (``rules``) with the work tree's (``head``) for the changed ``files``."""
    base_pack = load_policy_pack(rules)
    weakens: list[str] = []
    unreadable = None
    if PACK in files:
        try:
            weakens.extend(pack_weakenings(base_pack, load_policy_pack(RepoLayout(head.root))))
        except ReleasegateError as e:
            unreadable = e.message
    for path in sorted(files):
        if path == PACK:
            continue
        gone = not (head.root / path).is_file()
        weakens.append(f"{path} {'removed' if gone else 'changed'}: "
                       f"{'a schema or setting' if path.startswith('policies/schemas/') else 'a rules file'} "
                       "that judges every release; review the diff")
    return PolicyChange(tuple(sorted(files)), rules.rules_ref or "HEAD", tuple(weakens), unreadable)


def pack_weakenings(base: PolicyPack, head: PolicyPack) -> list[str]:
    """Every way ``head`` is more permissive than ``base``, in words."""
    found: list[str] = []
    for env in base.environments:
        other = head.environment(env.name)
        if other is None:
            found.append(f"environment {env.name} removed from the policy pack (none of its rules apply)")
            continue
        found.extend(f"{env.name}: {w}" for w in _environment(env, other))
    found.extend(f"rollback: {w}" for w in _rollback(base.rollback, head.rollback))
    found.extend(f"policyChange: {w}" for w in _approvals(base.policy_change_approvals, head.policy_change_approvals))
    found.extend(f"evidence: {w}" for w in _evidence(base.evidence, head.evidence))
    return found


def _evidence(base: EvidencePolicy, head: EvidencePolicy) -> Iterator[str]:
    for signer in head.signers:
        if signer not in base.signers:
            yield f"trusts a new evidence signer, {signer.label}"
    for env in sorted(set(base.required_for) - set(head.required_for)):
        yield f"requiredFor no longer includes {env} (its decisions need no record)"
    if base.since is not None and (head.since is None or head.since > base.since):
        yield f"since moved from {base.since.isoformat()} to {head.since.isoformat() if head.since else '(none)'}"


def _environment(base: EnvironmentPolicy, head: EnvironmentPolicy) -> Iterator[str]:
    if base.promotes_from and head.promotes_from != base.promotes_from:
        yield f"promotesFrom {base.promotes_from} {'removed' if head.promotes_from is None else f'changed to {head.promotes_from}'}"
    if head.soak_hours < base.soak_hours:
        yield f"soakHours lowered from {base.soak_hours:g} to {head.soak_hours:g}"
    yield from _approvals(base.approvals, head.approvals)
    yield from _load_test(base, head)
    yield from _rollout(base, head)
    yield from _signatures(base, head)
    kept = {w.name for w in head.freeze_windows}
    for window in base.freeze_windows:
        if window.name not in kept:
            yield f"freeze window {window.name!r} removed"


def _signatures(base: EnvironmentPolicy, head: EnvironmentPolicy) -> Iterator[str]:
    if base.require_signature and not head.require_signature:
        yield "requireSignature turned off (models need no signature)"
    for signer in head.signers:
        if signer not in base.signers:
            yield f"signers: trusts a new signer, {signer.label}"


def _approvals(base: ApprovalPolicy | None, head: ApprovalPolicy | None) -> Iterator[str]:
    if base is None:
        return
    head = head or ApprovalPolicy()
    if head.minimum < base.minimum:
        yield f"approvals.minimum lowered from {base.minimum} to {head.minimum}"
    dropped = sorted(set(base.teams) - set(head.teams))
    if dropped:
        yield f"approvals.teams no longer require {', '.join(dropped)}"
    if base.dismiss_stale and not head.dismiss_stale:
        yield "approvals.dismissStale turned off (approvals of older commits count again)"


def _load_test(base: EnvironmentPolicy, head: EnvironmentPolicy) -> Iterator[str]:
    old, new = base.load_test, head.load_test
    if old.required and not new.required:
        yield "loadTest.required turned off (no load test)"
        return
    if old.require_gpu and not new.require_gpu:
        yield "loadTest.requireGpu turned off"
    for key, limit in sorted(old.regression.items()):
        if key not in new.regression:
            yield f"loadTest.regression.{key} removed (was {limit:g})"
        elif float(new.regression[key]) > float(limit):
            yield f"loadTest.regression.{key} widened from {limit:g} to {float(new.regression[key]):g}"


def _rollout(base: EnvironmentPolicy, head: EnvironmentPolicy) -> Iterator[str]:
    old, new = base.rollout, head.rollout
    if old.require_steps and not new.require_steps:
        yield "rollout.requireSteps turned off (canaries without steps)"
    if new.min_steps < old.min_steps:
        yield f"rollout.minSteps lowered from {old.min_steps} to {new.min_steps}"
    if old.require_analysis and not new.require_analysis:
        yield "rollout.requireAnalysis turned off (canaries move on by their hold alone)"


def _rollback(base: RollbackPolicy, head: RollbackPolicy) -> Iterator[str]:
    for name, before, after in (("skipLoadTest", base.skip_load_test, head.skip_load_test),
                                ("skipSoak", base.skip_soak, head.skip_soak),
                                ("ignoreFreeze", base.ignore_freeze, head.ignore_freeze)):
        if after and not before:
            yield f"{name} turned on"
    if base.approvals is not None and head.approvals is not None:
        yield from _approvals(base.approvals, head.approvals)

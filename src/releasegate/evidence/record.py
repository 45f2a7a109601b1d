"""``releasegate evidence record``: sign the evidence of the release decisions one merge made.

Run after the merge (the evidence workflow, on push to the default branch): the merge commit
says what changed and who merged it; the validate verdict is computed again on that commit with
the rules of its base (``validate --base <parent> --now <merge time>``), so it is the verdict the
pull request got; the approvals and the load-test result are the JSON outputs of
``releasegate approvals`` and ``releasegate loadtest`` for that pull request. Nothing of a pull
request runs here: only Git objects of the branch and those two JSON files are read.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from releasegate.errors import InputError
from releasegate.evidence import store
from releasegate.evidence.facts import Merge, files_at, policy_digest, read_merge, release_changes
from releasegate.evidence.statement import Approvals, Decision, Finding, LoadTest, statements
from releasegate.history.git import Git, open_repo
from releasegate.layout import RepoLayout
from releasegate.signing.dsse import PrivateKey, sign_envelope

MAX_INPUT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class RecordOptions:
    key: PrivateKey
    commit: str = "HEAD"
    approvals: Path | None = None  # releasegate approvals --format json
    load_test: Path | None = None  # releasegate loadtest --format json (result.json)
    branch: str | None = None  # commit the records onto this branch; None: write them into out_dir
    out_dir: Path | None = None  # default: the repository root
    now: datetime | None = None


@dataclass(frozen=True)
class RecordResult:
    commit: str
    written: tuple[str, ...]
    already: tuple[str, ...]  # records of this merge that were there before (never replaced)
    branch: str | None
    branch_commit: str | None  # the new commit on the branch, if any
    decisions: tuple[Decision, ...]


def record(layout: RepoLayout, options: RecordOptions) -> RecordResult:
    git = open_repo(layout.root)
    merge = read_merge(git, options.commit)
    changes = release_changes(git, merge)
    if not changes:
        raise InputError(f"{options.commit} ({merge.oid[:12]}) changed no release file (it only removed some, or "
                         "changed manifests): no release decision to record", "give the merge commit of a release change")
    tree, digest = policy_digest(git, merge.parent)
    findings, signers = _verdict(git, merge)
    approvals = _approvals(options.approvals) if options.approvals else None
    tests = _load_tests(options.load_test) if options.load_test else {}
    now = options.now or datetime.now(timezone.utc)
    decisions = tuple(
        Decision(merge, c, tree, digest, findings.get(c.file.name, ()),
                 tuple(files_at(git, merge.oid, [f"environments/{c.env}/manifests/{c.model}.yaml"])),
                 approvals, tests.get(c.file.name), now, signers.get(c.file.name))
        for c in changes)
    files = {store.record_path(d.release.env, d.release.model, d.release.version, merge.oid): _signed(d, options.key)
             for d in decisions}
    if options.branch:
        message = f"evidence: {merge.oid[:12]} {merge.commit.subject}"[:200]
        new, written, kept = store.write_to_branch(git, options.branch, files, message)
    else:
        new = None
        written, kept = store.write_to_folder(options.out_dir or layout.root, files)
    return RecordResult(merge.oid, tuple(written), tuple(kept), options.branch, new, decisions)


def _signed(decision: Decision, key: PrivateKey) -> bytes:
    return store.encode([sign_envelope(json.dumps(s, sort_keys=True).encode(), key) for s in statements(decision)])


def _verdict(git: Git, merge: Merge) -> tuple[dict[str, tuple[Finding, ...]], dict[str, str]]:
    """The violations ``validate --base <parent>`` finds in each changed release file at the merge, and
    the signer of each model signature that verified (model-signature's own run, to learn who signed)."""
    from releasegate.validate import run_validation
    from releasegate.validate.rules.signature import ModelSignatureRule

    when = datetime.fromtimestamp(merge.commit.time, timezone.utc)
    signatures = ModelSignatureRule()
    with checkout(git, merge.oid) as root:
        result = run_validation(RepoLayout(root), base=merge.parent, now=when)
        run_validation(RepoLayout(root), base=merge.parent, now=when, rules=[signatures])
    found: dict[str, list[Finding]] = {}
    for v in result.violations:
        found.setdefault(v.file, []).append(Finding(v.rule, v.file, v.line, v.message))
    return {path: tuple(items) for path, items in found.items()}, dict(signatures.verified)


@contextlib.contextmanager
def checkout(git: Git, commit: str) -> Iterator[Path]:
    """The repository at ``commit``: the work tree itself when it is there and clean, else a temporary worktree."""
    head = git.text(["rev-parse", "--verify", "-q", "HEAD"], check=False)
    dirty = [p for p in git.dirty_paths() if p.startswith(("environments/", "policies/"))]
    if head == commit and not dirty:
        yield git.root
        return
    folder = Path(tempfile.mkdtemp(prefix="releasegate-evidence-"))
    tree = folder / "tree"
    try:
        git.run(["worktree", "add", "--detach", "--quiet", str(tree), commit])
        yield tree
    finally:
        git.run(["worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _read_json(path: Path, what: str) -> tuple[Any, str]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read the {what} ({e.strerror or e})", "check the path") from e
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{path}: larger than {MAX_INPUT_BYTES:,} bytes; not a {what}", "pass the JSON releasegate wrote")
    try:
        return json.loads(data), hashlib.sha256(data).hexdigest()
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not JSON ({e}); expected the {what}", "pass the JSON releasegate wrote") from e


def _approvals(path: Path) -> Approvals:
    document, digest = _read_json(path, "approvals result (releasegate approvals --format json)")
    if not isinstance(document, dict) or document.get("schemaVersion") != "releasegate/approvals-result/v1":
        raise InputError(f"{path}: not a releasegate/approvals-result/v1 document",
                         "write it with: releasegate approvals --pr N --format json > approvals.json")
    ignored = tuple((str(i.get("user")), str(i.get("reason"))) for i in document.get("ignored", []) if isinstance(i, dict))
    return Approvals(digest, bool(document.get("ok")), int(document.get("required", 0)),
                     tuple(str(a) for a in document.get("approvers", [])), ignored)


def _load_tests(path: Path) -> dict[str, LoadTest]:
    document, digest = _read_json(path, "load-test result (releasegate loadtest --format json)")
    if not isinstance(document, dict) or document.get("schemaVersion") != "releasegate/loadtest-result/v1":
        raise InputError(f"{path}: not a releasegate/loadtest-result/v1 document",
                         "pass result.json of the load test's --out folder")
    return {str(r.get("file")): LoadTest(digest, str(r.get("verdict")), str(r.get("code") or ""), str(r.get("reason") or ""))
            for r in document.get("releases", []) if isinstance(r, dict)}

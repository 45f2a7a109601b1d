"""Benchmark `releasegate verify` over 1,000 signed evidence records.

    python benchmarks/evidence/verify_bench.py [--records 1000] [--runs 5] [--repo DIR]

Generates (or reuses, with --repo) the history benchmark's repository (benchmarks/history/
generate_repo.py: 1,000 models x 3 environments, 10,000 promotion commits). Then, once per
repository: an Ed25519 key; a commit on main whose policy pack trusts it (`evidence.signers`) and
requires a record for every prod decision since the oldest of the last --records prod merges
(`evidence.requiredFor`, `evidence.since`); and one record per such merge on the branch
`releasegate/evidence`: the real statements of `releasegate evidence record` (verification summary
and decision, DSSE-signed), built from the merge's facts without re-running validate at each merge
(what verify checks does not depend on the verdict). Then times whole `releasegate verify` CLI
invocations (wall clock with interpreter start), which must exit 0: every record's signatures, that
it still matches the repository (commit on main's history, release file digest), no prod decision
without a record, and the model signatures of all 3,000 release files. Prints the median.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))
sys.path.insert(0, str(HERE.parent / "history"))
sys.path.insert(0, str(HERE))

from bench import timed  # noqa: E402 - benchmarks/evidence/bench.py
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: E402
from generate_repo import main as generate  # noqa: E402

from releasegate.evidence import store  # noqa: E402
from releasegate.evidence.facts import files_at, policy_digest, read_merge, release_changes  # noqa: E402
from releasegate.evidence.statement import Decision, statements  # noqa: E402
from releasegate.history.git import Git, open_repo  # noqa: E402
from releasegate.signing.dsse import load_private_key, sign_envelope  # noqa: E402

BRANCH = "releasegate/evidence"


def prod_merges(git: Git, count: int) -> list[str]:
    """The newest ``count`` first-parent commits of main that changed a prod release file, oldest first."""
    out = git.text(["log", "--first-parent", "--format=%H", "main", "--", "environments/prod/releases"])
    return out.split()[:count][::-1]


def trust_the_key(root: Path, public_pem: bytes, since: str) -> None:
    keys = root / "policies" / "keys"
    keys.mkdir(exist_ok=True)
    (keys / "evidence.pub").write_bytes(public_pem)
    with (root / "policies" / "policy-pack.yaml").open("a", encoding="utf-8") as pack:
        pack.write(f"evidence:\n  signers:\n    - {{name: evidence bot, publicKey: keys/evidence.pub}}\n"
                   f"  requiredFor: [prod]\n  since: \"{since}\"\n")
    subprocess.run(["git", "add", "policies"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "Trust the evidence bot's key; records required for prod"],
                   cwd=root, check=True, env={**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
                                              "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"})


def record_all(root: Path, count: int) -> int:
    git = open_repo(root)
    merges = prod_merges(git, count)
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key = load_private_key(pem, "benchmark key")
    first = read_merge(git, merges[0])
    since = datetime.fromtimestamp(first.commit.time, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    now = datetime.now(timezone.utc)
    files: dict[str, bytes] = {}
    for oid in merges:
        merge = read_merge(git, oid)
        tree, digest = policy_digest(git, merge.parent)
        for change in release_changes(git, merge):
            manifests = tuple(files_at(git, merge.oid, [f"environments/{change.env}/manifests/{change.model}.yaml"]))
            decision = Decision(merge, change, tree, digest, (), manifests, None, None, now)
            envelopes = [sign_envelope(json.dumps(s, sort_keys=True).encode(), key) for s in statements(decision)]
            files[store.record_path(change.env, change.model, change.version, merge.oid)] = store.encode(envelopes)
    store.write_to_branch(git, BRANCH, files, f"evidence: {len(files)} records (benchmark)")
    public = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    trust_the_key(root, public, since)
    return len(files)


def verify(root: Path) -> tuple[float, str]:
    elapsed, out = timed(root, "verify")
    return elapsed, out.strip().splitlines()[-1] if out.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repo", type=Path, help="reuse (or create) the generated repository here")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = options.repo or Path(tmp) / "repo"
        if not (root / ".git").is_dir():
            generate([str(root), "--models", "1000", "--promotions", "10000"])
        subprocess.run(["git", "checkout", "-q", "main"], cwd=root, check=True)
        if subprocess.run(["git", "rev-parse", "-q", "--verify", BRANCH], cwd=root, capture_output=True).returncode:
            started = time.perf_counter()
            made = record_all(root, options.records)
            print(f"recorded {made} evidence records in {time.perf_counter() - started:.1f} s")
        load = os.getloadavg()[0]
        cold, summary = verify(root)
        warm = [verify(root)[0] for _ in range(options.runs)]
    print(f"verify: {summary}")
    print(f"load average before: {load:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(f"releasegate verify: first {cold:.2f} s, median of {options.runs} {statistics.median(warm):.2f} s "
          f"(min {min(warm):.2f}, max {max(warm):.2f}); target <= 5 s")


if __name__ == "__main__":
    main()

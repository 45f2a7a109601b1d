"""Generate a large GitOps repository for the history benchmark, with ``git fast-import``.

    python benchmarks/history/generate_repo.py OUT_DIR [--models 1000] [--promotions 10000]

The repository has the releasegate layout (``policies/`` + ``environments/{dev,staging,prod}``),
one initial commit with every model at 1.0.0 in every environment, then ``--promotions`` commits on
``main``, each changing one release file: a new version in dev, dev -> staging, staging -> prod, and
now and then a rollback in prod. Every other promotion arrives as a GitHub-style merge commit
("Merge pull request #N from ...", with the branch commit as second parent); the rest are squash
commits ("... (#N)"). Deterministic: the same arguments give the same commit ids.
"""
from __future__ import annotations

import argparse
import hashlib
import random
import subprocess
import sys
from pathlib import Path

ENVS = ("dev", "staging", "prod")
START = 1_735_689_600  # 2025-01-01T00:00:00Z
STEP = 1_800  # half an hour between promotions

PROJECT = Path(__file__).resolve().parents[2]


def release_text(model: str, env: str, version: str) -> str:
    digest = hashlib.sha256(f"{model}:{version}".encode()).hexdigest()
    commit = hashlib.sha1(f"{model}:{version}".encode()).hexdigest()
    replicas = {"dev": 1, "staging": 1, "prod": 3}[env]
    return f"""\
# {model}: generated for the history benchmark.
apiVersion: releasegate/v1
kind: ModelRelease
metadata:
  name: {model}
  owner: team-bench
spec:
  model:
    version: {version}
    artifact:
      uri: s3://models/{model}/{version}/model.pt2
      sha256: "{digest}"
      format: torch-export
    lineage:
      trainingCommit: "{commit}"
      dataset: bench-2026
    metrics:
      accuracy: 0.91
  runtime:
    kind: builtin
    resources:
      gpu: 1
      gpuType: nvidia-h100
      memory: 16Gi
      cpu: 4
    replicas: {replicas}
  slo:
    p95LatencyMs: 50
    maxErrorRate: 0.001
"""


class Stream:
    """Writes a fast-import stream; marks are handed out in order."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.mark = 0

    def blob(self, text: str) -> int:
        self.mark += 1
        data = text.encode()
        self.parts.append(b"blob\nmark :%d\ndata %d\n%s\n" % (self.mark, len(data), data))
        return self.mark

    def commit(
        self,
        ref: str,
        when: int,
        author: str,
        message: str,
        files: dict[str, int],
        parents: tuple[int, ...] = (),
    ) -> int:
        self.mark += 1
        msg = message.encode()
        who = f"{author} <{author}@example.com> {when} +0000".encode()
        out = [b"commit %s\nmark :%d\n" % (ref.encode(), self.mark)]
        out.append(b"author %s\ncommitter %s\ndata %d\n%s\n" % (who, who, len(msg), msg))
        if parents:
            out.append(b"from :%d\n" % parents[0])
            out.extend(b"merge :%d\n" % p for p in parents[1:])
        out.extend(b"M 100644 :%d %s\n" % (m, p.encode()) for p, m in files.items())
        self.parts.append(b"".join(out) + b"\n")
        return self.mark


def path_of(env: str, model: str) -> str:
    return f"environments/{env}/releases/{model}.yaml"


def next_change(rng: random.Random, state: dict[str, dict[str, int]], model: str) -> tuple[str, int, str]:
    """Pick the next step for ``model``: (environment, new minor version, action)."""
    dev, staging, prod = (state[e][model] for e in ENVS)
    if prod > 1 and prod == staging and rng.random() < 0.05:
        return "prod", prod - 1, "rollback"
    if staging < dev:
        return "staging", dev, "promote"
    if prod < staging:
        return "prod", staging, "promote"
    return "dev", dev + 1, "promote"


def generate(models: int, promotions: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    names = [f"model-{i:04d}" for i in range(models)]
    state = {env: {name: 0 for name in names} for env in ENVS}
    s = Stream()
    files = {path_of(e, n): s.blob(release_text(n, e, "1.0.0")) for e in ENVS for n in names}
    for policy_file in sorted((PROJECT / "policies").rglob("*")):
        if policy_file.is_file():
            files[policy_file.relative_to(PROJECT).as_posix()] = s.blob(policy_file.read_text())
    head = s.commit("refs/heads/main", START, "alice", "Initial releases\n", files)
    for i in range(promotions):
        model = rng.choice(names)
        env, minor, action = next_change(rng, state, model)
        state[env][model] = minor
        version = f"1.{minor}.0"
        change = {path_of(env, model): s.blob(release_text(model, env, version))}
        when = START + (i + 1) * STEP
        pr = i + 1
        title = f"{action.capitalize()} {model} {version} to {env}"
        trailers = (
            f"\n\nReleasegate-Action: {action}\nReleasegate-Model: {model}\n"
            f"Releasegate-Environment: {env}\nReleasegate-Version: {version}\n"
        )
        if i % 2:
            branch = s.commit("refs/heads/main", when - 60, "bob", title + trailers, change, (head,))
            message = f"Merge pull request #{pr} from org/{action}-{model}-{env}\n\n{title}\n"
            head = s.commit("refs/heads/main", when, "carol", message, change, (head, branch))
        else:
            head = s.commit("refs/heads/main", when, "bob", f"{title} (#{pr}){trailers}", change, (head,))
    return b"".join(s.parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--promotions", type=int, default=10_000)
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        print(f"{args.out}: exists and is not empty", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(args.out)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    stream = generate(args.models, args.promotions)
    subprocess.run([*git, "fast-import", "--quiet"], input=stream, check=True)
    subprocess.run([*git, "reset", "-q", "--hard", "main"], check=True)
    # fast-import writes a poorly deltified pack; a clone from a Git host is packed like this.
    subprocess.run([*git, "repack", "-a", "-d", "-f", "-q"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build real Git histories for the history tests: commits at fixed times, PR merges, squashes."""
from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from tests.conftest import PROJECT

RELEASE = (PROJECT / "environments/staging/releases/sentiment.yaml").read_text()


def digest(model: str, version: str) -> str:
    return hashlib.sha256(f"{model}:{version}".encode()).hexdigest()


STEPS = ("    steps:\n      - {weight: 10, holdMinutes: 60}\n      - {weight: 50, holdMinutes: 60}\n"
         "      - {weight: 100, holdMinutes: 60}")


def release(model: str, version: str, *, replicas: int | None = None, env: str = "staging",
            stable: str | None = None, weight: int = 10) -> str:
    """The example sentiment release file, re-targeted to ``model`` at ``version``.

    In prod it is a canary in steps (10, 50, 100 %): idle (no canary running) without ``stable``,
    else a running canary at ``weight`` beside ``stable`` (the version prod ran before), as
    ``releasegate promote`` writes it.
    """
    text = RELEASE.replace("name: sentiment", f"name: {model}")
    text = text.replace("version: 1.4.0", f"version: {version}")
    text = text.replace("sentiment/1.4.0/", f"{model}/{version}/")
    text = text.replace("e30f36948b55a0018d7a78c18e3340ade33a76a461e2ebf0013f6bbe3dd37b65", digest(model, version))
    if replicas is None:
        replicas = 2 if env == "prod" else 1
    text = text.replace("replicas: 1", f"replicas: {replicas}")
    if env == "prod":
        rollout = f"strategy: canary\n{STEPS}"
        if stable is not None:
            rollout += (f"\n    canaryPercent: {weight}\n    stable:\n      version: {stable}\n      artifact:\n"
                        f"        uri: s3://models/{model}/{stable}/model.pt2\n"
                        f'        sha256: "{digest(model, stable)}"\n        format: torch-export\n'
                        "        sizeBytes: 438012416")
        text = text.replace("strategy: rolling", rollout)
    return text


def path(env: str, model: str) -> str:
    return f"environments/{env}/releases/{model}.yaml"


class Repo:
    """A Git repository in ``root`` whose commits get the times we give them."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, *args: str, when: str | None = None, check: bool = True) -> str:
        env = dict(os.environ)
        if when is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
        proc = subprocess.run(["git", *args], cwd=self.root, env=env, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout.strip()

    def write(self, files: dict[str, str | None]) -> None:
        for rel, text in files.items():
            target = self.root / rel
            if text is None:
                self.git("rm", "-q", rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            self.git("add", rel)

    def commit(self, message: str, when: str, files: dict[str, str | None] | None = None,
               author: str = "Test Author") -> str:
        self.write(files or {})
        self.git("commit", "-q", "--allow-empty", "-m", message, f"--author={author} <{author.split()[0].lower()}@example.com>",
                 when=when)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def merge_pr(self, number: int, branch: str, when: str, files: dict[str, str | None],
                 title: str, author: str = "Pat Dev", steps: list[dict[str, str | None]] | None = None) -> str:
        """A GitHub-style merge commit of a branch holding ``steps`` then ``files``."""
        base = self.git("rev-parse", "--abbrev-ref", "HEAD")
        self.git("switch", "-q", "-c", branch)
        for i, step in enumerate(steps or []):
            self.commit(f"wip {i}", when, step, author=author)
        self.commit(title, when, files, author=author)
        self.git("switch", "-q", base)
        self.git("merge", "-q", "--no-ff", branch, "-m", f"Merge pull request #{number} from org/{branch}\n\n{title}",
                 when=when)
        self.git("branch", "-q", "-D", branch)
        return self.head()


def init_repo(root: Path, files: dict[str, str], when: str = "2026-01-01T00:00:00Z") -> Repo:
    """A repo with the project's policies/ and ``files`` in one initial commit on main."""
    import shutil

    shutil.copytree(PROJECT / "policies", root / "policies")
    repo = Repo(root)
    repo.git("init", "-q", "-b", "main")
    repo.git("add", "policies")
    repo.commit("Initial releases", when, dict(files), author="Alice Admin")
    return repo

"""``releasegate render`` end to end, in-process: exit codes and message fragments."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.acceptance.cli import run_cli
from tests.conftest import git

PROD = "environments/prod/releases/sentiment.yaml"
PROD_MANIFEST = "environments/prod/manifests/sentiment.yaml"


@pytest.fixture(autouse=True)
def in_repo(example_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This repository's example, whose policies/render.yaml keeps its placeholders (docs/render.md)."""
    monkeypatch.chdir(example_repo)
    monkeypatch.setenv("RELEASEGATE_ALLOW_PLACEHOLDERS", "1")
    return example_repo


def test_placeholders_are_refused_naming_each_setting(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELEASEGATE_ALLOW_PLACEHOLDERS")
    before = _tree()
    for args in (["render"], ["render", "--check"], ["render", PROD]):
        result = run_cli(capsys, *args)
        assert result.code == 1, args
        for fragment in ("repository.url: 'https://git.example.com/ml/releasegate.git' is a reserved example domain",
                         "gateway.hostnames: '{model}.{env}.models.example.com'",
                         "builtin.image: 'releasegate/server:0.1.0' is the default name", "--allow-placeholders"):
            assert fragment in result.err, fragment
    assert _tree() == before  # nothing written
    assert run_cli(capsys, "render", "--allow-placeholders").code == 0


def test_real_values_render_without_the_flag(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELEASEGATE_ALLOW_PLACEHOLDERS")
    edit("policies/render.yaml", "https://git.example.com/ml/releasegate.git", "git@github.com:acme/models.git")
    edit("policies/render.yaml", "models.example.com", "models.acme.internal")
    edit("policies/render.yaml", "  image: releasegate/server:0.1.0", "  image: ghcr.io/acme/releasegate-server@sha256:" + "a" * 64)
    result = run_cli(capsys, "render")
    assert result.code == 0, result.err
    assert "ghcr.io/acme/releasegate-server@sha256:" in Path(PROD_MANIFEST).read_text()


def edit(path: str, old: str, new: str) -> None:
    text = Path(path).read_text()
    assert old in text, f"{old!r} not in {path}"
    Path(path).write_text(text.replace(old, new, 1))


def _tree() -> dict[str, bytes]:
    return {p.as_posix(): p.read_bytes() for p in sorted(Path(".").rglob("*")) if p.is_file()}


def test_render_then_check_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "render")
    assert result.code == 0
    assert f"wrote {PROD_MANIFEST}" in result.out
    assert "rendered 8 release file(s): 37 written, 0 removed" in result.out
    assert "warning: " in result.err and "kubernetes.podspec-tolerations" in result.err
    again = run_cli(capsys, "render", "--check")
    assert again.code == 0
    assert "up to date: 40 rendered file(s)" in again.out


def test_rendered_example_equals_the_committed_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "render").code == 0
    project = Path(__file__).resolve().parents[2]
    for path in sorted(Path("environments").glob("*/manifests/*.yaml")) + sorted(Path("deploy").rglob("*.yaml")):
        assert path.read_bytes() == (project / path).read_bytes(), path


def test_check_catches_a_one_character_hand_edit(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "render").code == 0
    edit(PROD_MANIFEST, "replicas: 3", "replicas: 4")
    edited = Path(PROD_MANIFEST).read_bytes()
    result = run_cli(capsys, "render", "--check")
    assert result.code == 1
    assert f"{PROD_MANIFEST}: changed" in result.out
    assert f"--- a/{PROD_MANIFEST}" in result.out and f"+++ b/{PROD_MANIFEST}" in result.out
    assert "-  replicas: 4\n+  replicas: 3\n" in result.out
    assert result.out.rstrip().endswith("1 rendered file(s) out of date. Fix: releasegate render")
    assert Path(PROD_MANIFEST).read_bytes() == edited, "--check must not write"
    fixed = run_cli(capsys, "render")
    assert f"wrote {PROD_MANIFEST}" in fixed.out
    assert run_cli(capsys, "render", "--check").code == 0


def test_check_reports_missing_and_stale_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "render").code == 0
    Path("environments/dev/releases/embedder.yaml").unlink()
    Path("environments/dev/manifests/notes.txt").write_text("hand-made\n")
    Path("environments/staging/manifests/sentiment.yaml").unlink()
    result = run_cli(capsys, "render", "--check")
    assert result.code == 1
    assert "environments/dev/manifests/embedder.yaml: stale" in result.out
    assert "environments/dev/manifests/notes.txt: stale" in result.out
    assert "environments/staging/manifests/sentiment.yaml: missing" in result.out
    written = run_cli(capsys, "render")
    assert "removed environments/dev/manifests/embedder.yaml (stale)" in written.out
    assert not Path("environments/dev/manifests/notes.txt").exists()


def test_bad_input_exits_2_naming_file_line_and_field(capsys: pytest.CaptureFixture[str]) -> None:
    edit(PROD, "memory: 16Gi", "memory: 16Gb")
    before = _tree()
    result = run_cli(capsys, "render")
    assert result.code == 2
    assert f"{PROD}:26:15: $.spec.runtime.resources.memory: '16Gb' is not a Kubernetes quantity" in result.out
    assert "did you mean 16Gi?" in result.out
    assert "nothing was written" in result.out
    assert _tree() == before


def test_check_with_bad_input_is_an_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    edit(PROD, "name: sentiment", "name: Sentiment")
    result = run_cli(capsys, "render", "--check")
    assert result.code == 2
    assert "[render.name]" in result.out


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "render").code == 0
    edit(PROD_MANIFEST, "replicas: 3", "replicas: 2")
    payload = json.loads(run_cli(capsys, "render", "--check", "--format", "json").out)
    assert payload["ok"] is False and payload["fix"] == "releasegate render"
    assert [d["file"] for d in payload["drift"]] == [PROD_MANIFEST]
    edit(PROD, "memory: 16Gi", "memory: lots")
    result = run_cli(capsys, "render", "--format", "json")
    problem = json.loads(result.out)["problems"][0]
    assert result.code == 2
    assert (problem["file"], problem["line"], problem["path"], problem["rule"]) == (
        PROD, 26, "$.spec.runtime.resources.memory", "render.quantity")


def test_github_format_annotates(capsys: pytest.CaptureFixture[str]) -> None:
    edit(PROD, "memory: 16Gi", "memory: 16Gb")
    out = run_cli(capsys, "render", "--format", "github").out
    assert f"::error file={PROD},line=26,col=15,title=render.quantity::" in out
    edit(PROD, "memory: 16Gb", "memory: 16Gi")
    assert run_cli(capsys, "render").code == 0
    edit(PROD_MANIFEST, "replicas: 3", "replicas: 2")
    out = run_cli(capsys, "render", "--check", "--format", "github").out
    assert f"::error file={PROD_MANIFEST},title=render drift::" in out


def test_unknown_env_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "render", "--env", "prd")
    assert result.code == 2
    assert "--env prd: no directory environments/prd" in result.err
    assert "did you mean prod?" in result.err


def test_env_option_renders_one_environment(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "render", "--env", "dev")
    assert result.code == 0
    assert Path("environments/dev/manifests/kustomization.yaml").is_file()
    assert not Path("environments/prod/manifests").exists()


def test_release_files_as_arguments_render_incrementally(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "render").code == 0
    edit(PROD, "replicas: 3", "replicas: 5")
    assert run_cli(capsys, "render", "--check", PROD).code == 1
    result = run_cli(capsys, "render", PROD)
    assert result.code == 0
    assert f"wrote {PROD_MANIFEST}" in result.out
    assert run_cli(capsys, "render", "--check").code == 0


def test_not_a_release_file_argument(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "render", "policies/policy-pack.yaml")
    assert result.code == 2
    assert "not a release file" in result.err


def test_changed_since_renders_what_changed(git_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "render").code == 0
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "rendered")
    edit(PROD, "replicas: 3", "replicas: 5")
    new = Path("environments/dev/releases/ranker.yaml")
    new.write_text(Path("environments/dev/releases/sentiment.yaml").read_text().replace("sentiment", "ranker"))
    result = run_cli(capsys, "render", "--changed-since", "HEAD")
    assert result.code == 0
    assert f"wrote {PROD_MANIFEST}" in result.out
    assert "wrote environments/dev/manifests/ranker.yaml" in result.out
    assert "wrote environments/staging" not in result.out
    assert run_cli(capsys, "render", "--check").code == 0


def test_changed_since_unknown_ref(git_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "render", "--changed-since", "no-such-ref")
    assert result.code == 2
    assert "git diff" in result.err


@pytest.mark.parametrize("link", ["environments/prod/manifests", "deploy/flux", "environments/prod/manifests/sentiment.yaml"])
def test_render_never_follows_a_committed_link_out_of_the_repository(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, link: str) -> None:
    """Attack: a PR replaces a manifests folder (or file) with a link to a folder outside the repository."""
    import os
    import shutil

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "id_rsa").write_text("PRIVATE KEY\n")
    (outside / "sentiment.yaml").write_text("runner file\n")
    target = outside if not link.endswith(".yaml") else outside / "sentiment.yaml"
    if Path(link).is_dir():
        shutil.rmtree(link)
    elif Path(link).exists():
        Path(link).unlink()
    Path(link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)
    for args in (("render", "--check"), ("render",), ("render", "--check", "--format", "json")):
        result = run_cli(capsys, *args)
        assert result.code == 2, (args, result.out)
        assert f"{link} is a symbolic link" in result.err
        assert "PRIVATE KEY" not in result.out + result.err and "runner file" not in result.out + result.err
    assert (outside / "id_rsa").read_text() == "PRIVATE KEY\n"  # nothing deleted or written through the link
    assert (outside / "sentiment.yaml").read_text() == "runner file\n"
    assert sorted(p.name for p in outside.iterdir()) == ["id_rsa", "sentiment.yaml"]


def test_a_release_file_that_is_a_link_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import os

    secret = tmp_path / "secret.yaml"
    secret.write_text("apiVersion: releasegate/v1\n")
    os.symlink(secret, "environments/dev/releases/evil.yaml")
    result = run_cli(capsys, "render", "--check")
    assert result.code == 2 and "environments/dev/releases/evil.yaml is a symbolic link" in result.out

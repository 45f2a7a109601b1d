from __future__ import annotations

import socket
import time

import pytest

from releasegate.errors import GitHubError, InputError
from releasegate.github.client import GitHubClient, RetryPolicy, connect, token_from_env
from releasegate.github.pr import get_pull
from tests.support.fake_github import FakeGitHub, Pull

PULL = r"/pulls/5$"


@pytest.fixture(autouse=True)
def pull(fake_github: FakeGitHub) -> Pull:
    return fake_github.add_pull(Pull(5, files=["environments/prod/releases/sentiment.yaml"]))


def test_server_errors_are_retried_with_backoff(fake_github: FakeGitHub, client: GitHubClient, sleeps: list[float]) -> None:
    fake_github.fail("GET", PULL, 500, times=2)
    assert get_pull(client, 5).author == "octo-author"
    assert sleeps == [1.0, 2.0]


def test_server_errors_give_up_after_the_bounded_attempts(
    fake_github: FakeGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    fake_github.fail("GET", PULL, 503, times=10, message="Service Unavailable")
    with pytest.raises(GitHubError) as info:
        get_pull(client, 5)
    assert "get pull request #5: GitHub answered 503 after 3 attempts" in info.value.message
    assert "re-run" in str(info.value.hint)
    assert len(sleeps) == 2
    assert len(fake_github.calls_to("GET", PULL)) == 3


def test_rate_limit_waits_for_retry_after(fake_github: FakeGitHub, client: GitHubClient, sleeps: list[float]) -> None:
    fake_github.fail("GET", PULL, 429, headers={"Retry-After": "7"}, message="API rate limit exceeded for installation")
    get_pull(client, 5)
    assert sleeps == [7.0]


def test_primary_rate_limit_403_with_remaining_zero_is_retried(
    fake_github: FakeGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    fake_github.fail("GET", PULL, 403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"},
                     message="API rate limit exceeded for user ID 1.")
    get_pull(client, 5)
    assert sleeps == [1.0]


def test_rate_limit_resetting_far_in_the_future_fails_at_once(
    fake_github: FakeGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    fake_github.fail("GET", PULL, 403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "99999999999"},
                     message="API rate limit exceeded for user ID 1.")
    with pytest.raises(GitHubError) as info:
        get_pull(client, 5)
    assert "rate limit" in str(info.value.hint)
    assert sleeps == []


@pytest.mark.parametrize(("status", "hint"), [(403, "permissions:"), (404, "does not exist"), (422, "invalid")])
def test_client_errors_are_not_retried(
    fake_github: FakeGitHub, client: GitHubClient, sleeps: list[float], status: int, hint: str
) -> None:
    fake_github.fail("GET", PULL, status, message="nope")
    with pytest.raises(GitHubError) as info:
        get_pull(client, 5)
    assert f"answered {status}: nope" in info.value.message
    assert hint in str(info.value.hint)
    assert sleeps == []


def test_unknown_pull_request_is_a_clear_404(fake_github: FakeGitHub, client: GitHubClient) -> None:
    with pytest.raises(GitHubError, match="get pull request #99: GitHub answered 404"):
        get_pull(client, 99)


def test_missing_token_names_the_variables() -> None:
    with pytest.raises(InputError) as info:
        token_from_env({})
    assert "GITHUB_TOKEN" in info.value.message and "GH_TOKEN" in info.value.message
    assert token_from_env({"GH_TOKEN": " t "}) == "t"


def test_repository_must_be_owner_slash_name() -> None:
    with pytest.raises(InputError, match="owner/name"):
        connect("just-a-name", "t", "http://127.0.0.1:1")


SECONDARY = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
             "If you reach out to GitHub Support for help, please include the request ID 0400:12AB:34CD:56EF.")


def test_secondary_rate_limit_403_without_retry_after_is_retried(fake_github: FakeGitHub, sleeps: list[float]) -> None:
    """GitHub's loopback stand-in answers 403 'secondary rate limit' (no Retry-After), then 200."""
    client = connect(fake_github.repo, "test-token", fake_github.url, throttle=False,
                     retry=RetryPolicy(attempts=3, backoff_s=1.0, secondary_wait_s=5.0, sleep=sleeps.append))
    fake_github.fail("GET", PULL, 403, message=SECONDARY)
    assert get_pull(client, 5).author == "octo-author"
    assert len(fake_github.calls_to("GET", PULL)) == 2
    assert sleeps == [5.0]


def test_secondary_rate_limit_retries_really_wait_and_stay_bounded(fake_github: FakeGitHub) -> None:
    """Not an injected sleep: the transport's own wait (a short configured one), then a bounded give-up."""
    client = connect(fake_github.repo, "test-token", fake_github.url, throttle=False,
                     retry=RetryPolicy(attempts=3, backoff_s=0.01, secondary_wait_s=0.05))
    fake_github.fail("GET", PULL, 403, times=1, message=SECONDARY)
    started = time.monotonic()
    get_pull(client, 5)
    assert time.monotonic() - started >= 0.05
    fake_github.fail("GET", PULL, 403, times=10, message=SECONDARY)
    calls = len(fake_github.calls_to("GET", PULL))
    with pytest.raises(GitHubError) as info:
        get_pull(client, 5)
    assert len(fake_github.calls_to("GET", PULL)) - calls == 3
    assert "GitHub answered 403 after 3 attempts: You have exceeded a secondary rate limit" in info.value.message
    assert "rate limit" in str(info.value.hint)


def test_secondary_rate_limit_longer_than_the_longest_wait_fails_at_once(
    fake_github: FakeGitHub, sleeps: list[float]
) -> None:
    client = connect(fake_github.repo, "test-token", fake_github.url, throttle=False,
                     retry=RetryPolicy(attempts=3, max_wait_s=30.0, sleep=sleeps.append))  # secondary wait 60 s
    fake_github.fail("GET", PULL, 403, message=SECONDARY)
    with pytest.raises(GitHubError, match="GitHub answered 403: You have exceeded a secondary rate limit"):
        get_pull(client, 5)
    assert sleeps == []


def test_primary_rate_limit_429_with_remaining_zero_is_retried(
    fake_github: FakeGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    fake_github.fail("GET", PULL, 429, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"},
                     message="API rate limit exceeded for installation ID 1.")
    get_pull(client, 5)
    assert sleeps == [1.0]


def test_connection_errors_are_retried_then_named(sleeps: list[float]) -> None:
    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = connect("org/repo", "t", f"http://127.0.0.1:{port}", throttle=False,
                     retry=RetryPolicy(attempts=3, backoff_s=1.0, sleep=sleeps.append))
    with pytest.raises(GitHubError, match="get pull request #5: cannot reach GitHub after 3 attempts"):
        get_pull(client, 5)
    assert sleeps == [1.0, 2.0]

from __future__ import annotations

from collections.abc import Iterator

import pytest

from releasegate.github.client import GitHubClient, RetryPolicy, connect
from tests.support.fake_github import FakeGitHub


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub().start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.violations == [], "requests or answers that break GitHub's OpenAPI description"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(fake_github: FakeGitHub, sleeps: list[float]) -> GitHubClient:
    return connect(
        fake_github.repo, "test-token", fake_github.url,
        retry=RetryPolicy(attempts=3, backoff_s=1.0, sleep=sleeps.append), throttle=False,
    )

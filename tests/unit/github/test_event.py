from __future__ import annotations

import json
from pathlib import Path

import pytest

from releasegate.errors import InputError
from releasegate.github.event import HANDLED, load_event, parse_event
from tests.support.github_fixtures import example, examples


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened", "labeled"])
def test_real_pull_request_payloads_parse(action: str) -> None:
    payload = example("pull_request", action)
    event = parse_event(payload, "pull_request")
    pr = payload["pull_request"]
    assert event.action == action
    assert event.repository == payload["repository"]["full_name"]
    assert (event.base_sha, event.head_sha) == (pr["base"]["sha"], pr["head"]["sha"])
    assert event.pull_request is not None
    assert event.pull_request.number == pr["number"]
    assert event.pull_request.author == pr["user"]["login"]
    assert event.pull_request.from_fork is False
    if action == "labeled":
        assert event.label == payload["label"]["name"]


@pytest.mark.parametrize("action", ["labeled", "synchronize"])
def test_pull_request_target_has_the_pull_request_payload(action: str) -> None:
    """Actions gives ``pull_request_target`` runs the ``pull_request`` payload (no webhook of its own)."""
    payload = example("pull_request", action)
    target = parse_event(payload, "pull_request_target")
    assert target.name == "pull_request_target"
    assert (target.action, target.pull_request) == (action, parse_event(payload, "pull_request").pull_request)


def test_every_real_review_payload_parses_with_normalised_state() -> None:
    for payload in examples("pull_request_review"):
        if payload["action"] not in HANDLED["pull_request_review"]:  # type: ignore[operator]
            continue
        event = parse_event(payload, "pull_request_review")
        assert event.review is not None
        assert event.review.state == payload["review"]["state"].upper()
        assert event.review.user == payload["review"]["user"]["login"]


def test_merge_group_compares_the_queue_base_with_the_merged_head() -> None:
    payload = example("merge_group")
    event = parse_event(payload, "merge_group")
    assert (event.base_sha, event.head_sha) == (payload["merge_group"]["base_sha"], payload["merge_group"]["head_sha"])
    assert event.pull_request is None


def test_push_payloads_parse_and_a_new_branch_has_no_base() -> None:
    for payload in examples("push"):
        event = parse_event(payload, "push")
        assert event.head_sha == payload["after"]
        assert event.base_sha == (None if set(payload["before"]) == {"0"} else payload["before"])


def test_unhandled_pull_request_actions_are_refused_with_the_fix() -> None:
    for payload in examples("pull_request"):
        if payload["action"] in HANDLED["pull_request"]:  # type: ignore[operator]
            continue
        with pytest.raises(InputError) as info:
            parse_event(payload, "pull_request")
        assert repr(payload["action"]) in info.value.message
        assert "types:" in str(info.value.hint)


def test_unhandled_event_type_is_refused() -> None:
    with pytest.raises(InputError, match="does not handle the event type 'issues'") as info:
        parse_event(example("issues"), "issues")
    assert info.value.exit_code == 2


def test_truncated_event_file_names_the_position(tmp_path: Path) -> None:
    text = json.dumps(example("pull_request", "opened"))
    path = tmp_path / "event.json"
    path.write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match=r"not valid JSON at line 1 column \d+.*truncated or corrupt"):
        load_event(path, "pull_request")


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe", "not UTF-8"),
    (b"[1, 2]", "JSON list, not an object"),
    (b"{}", "field action is missing"),
    (b'{"action": "opened"}', "field repository.full_name is missing"),
])
def test_unusable_event_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_event(path, "pull_request")


def test_missing_event_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_event(tmp_path / "nope.json", "push")


def test_sha_fields_are_checked() -> None:
    payload = example("pull_request", "opened")
    payload["pull_request"]["head"]["sha"] = "$(rm -rf /)"
    with pytest.raises(InputError, match="pull_request.head.sha is missing or not a commit SHA"):
        parse_event(payload, "pull_request")

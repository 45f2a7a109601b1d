"""A loopback GitHub REST API for tests, checked against GitHub's own OpenAPI description.

Every request the client sends is validated with openapi-core against
``@octokit/openapi`` (``api.github.com.json``); every answer is built from that
description's own examples, with URLs rewritten to point back at this server
(PyGithub follows ``url`` fields), and validated too. Violations are collected in
``FakeGitHub.violations``; the ``fake_github`` fixture fails the test if any remain.

Only 127.0.0.1 is ever bound. The spec is loaded once per session (13 MB).

Faults: ``fail(method, path_regex, status, times=1, headers=..., message=..., then_apply=False, body=...)``
answers matching requests with an error instead (``then_apply`` performs the
request first, like a server that did the work but answered 502); ``body`` (JSON, or raw
bytes) replaces the error body, for answers GitHub never gives (garbage; not validated).

Repository settings (``releasegate doctor``): ``default_branch``, ``branches``, ``branch_rules``
(what ``GET /rules/branches/{branch}`` lists), ``protection`` (classic branch protection by
branch), ``files`` (the contents API), ``codeowners_errors``, ``workflow_permissions``,
``fork_pr_approval``.
"""
from __future__ import annotations

import base64
import copy
import functools
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters

from tests.support.github_fixtures import OPENAPI, require

SPEC_HOST = "https://api.github.com"
NOW = "2026-11-22T12:00:00Z"


@functools.lru_cache(maxsize=1)
def load_spec() -> tuple[OpenAPI, dict[str, Any]]:
    raw = json.loads(require(OPENAPI).read_text(encoding="utf-8"))
    return OpenAPI.from_dict(raw, config=Config(spec_validator_cls=None)), raw


@dataclass
class _Request:
    """What openapi-core needs to know about a request (its Request protocol)."""

    path: str
    method: str
    parameters: RequestParameters
    content_type: str
    body: bytes | None
    host_url: str = SPEC_HOST


@dataclass
class _Response:
    status_code: int
    data: bytes
    headers: dict[str, str]
    content_type: str = "application/json"


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str]
    message: str
    then_apply: bool
    body: Any = None


@dataclass
class Pull:
    number: int
    author: str = "octo-author"
    title: str = "Release sentiment 1.5.0 to prod"
    head_sha: str = "a" * 40
    base_sha: str = "b" * 40
    head_ref: str = "release/sentiment-1.5.0"
    files: list[str] = field(default_factory=list)
    changed_files: int | None = None  # defaults to len(files); GitHub lists at most 3000
    body: str | None = None
    state: str = "open"
    base_ref: str = "main"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int


class FakeGitHub:
    """State of one fake repository plus the HTTP server that serves it."""

    def __init__(self, repo: str = "octo-org/gitops") -> None:
        self.api, self.raw = load_spec()
        self.repo = repo
        self.pulls: dict[int, Pull] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self.labels: dict[int, list[str]] = {}
        self.pull_bodies: dict[int, dict[str, Any]] = {}  # what POST /pulls was sent, by new number
        self.check_runs: dict[int, dict[str, Any]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.teams: dict[tuple[str, str], dict[str, str]] = {}
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.forbid_check_runs = False
        self.default_branch = "main"
        self.branches: set[str] = {"main"}
        self.branch_rules: dict[str, list[dict[str, Any]]] = {}
        self.protection: dict[str, dict[str, Any]] = {}
        self.files: dict[str, str] = {}
        self.codeowners_errors: list[dict[str, Any]] = []
        self.workflow_permissions: dict[str, Any] = {"default_workflow_permissions": "read",
                                                     "can_approve_pull_request_reviews": False}
        self.fork_pr_approval = "first_time_contributors"
        self.dispatches: list[dict[str, Any]] = []  # bodies of POST /dispatches (repository_dispatch)
        self.on_request: Callable[[str, str], None] | None = None
        self._ids = itertools.count(1000)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------
    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                fake._handle(self)

            do_POST = do_PATCH = do_DELETE = do_PUT = do_GET  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- test set-up helpers --------------------------------------------
    def add_pull(self, pull: Pull) -> Pull:
        self.pulls[pull.number] = pull
        return pull

    def add_review(self, number: int, user: str, state: str, commit_id: str, submitted_at: str) -> int:
        review_id = next(self._ids)
        self.reviews.setdefault(number, []).append(
            {"id": review_id, "user": user, "state": state, "commit_id": commit_id, "submitted_at": submitted_at}
        )
        return review_id

    def add_comment(self, number: int, body: str, login: str = "github-actions[bot]", kind: str = "Bot") -> int:
        comment_id = next(self._ids)
        self.comments[comment_id] = {"issue": number, "body": body, "login": login, "type": kind}
        return comment_id

    def fail(self, method: str, path: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None,
             message: str = "Server Error", then_apply: bool = False, body: Any = None) -> None:
        self.faults.append(Fault(method, re.compile(path), status, times, headers or {}, message, then_apply, body))

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        return [dict(c, id=i) for i, c in sorted(self.comments.items()) if c["issue"] == number]

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.search(pattern, c.path)]

    # -- HTTP -------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        path, query = split.path, parse_qs(split.query)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else None
        body = json.loads(raw) if raw else None
        request = _Request(
            path=_spec_path(path),
            method=h.command.lower(),
            parameters=RequestParameters(query={k: v[-1] for k, v in query.items()}, header=dict(h.headers)),
            content_type=(h.headers.get("Content-Type") or "application/json").lower(),
            body=raw,
        )
        self._check_request(request)
        with self._lock:
            if self.on_request is not None:
                self.on_request(h.command, path)
            status, payload, headers = self._dispatch(h.command, path, query, body)
        headers = {k: v.replace(SPEC_HOST, self.url) for k, v in headers.items()}
        if isinstance(payload, bytes):
            data = payload
        else:
            data = b"" if payload is None else json.dumps(self._rewrite(payload)).encode()
        if not headers.pop("X-Fake-Fault", None):  # injected faults may use statuses the spec omits
            self._check_response(request, _Response(status, data, dict(headers, **{"Content-Type": "application/json"})))
        self.calls.append(Call(h.command, path, query, body, status))
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)

    def _check_request(self, request: _Request) -> None:
        try:
            self.api.validate_request(request)
        except Exception as e:  # noqa: BLE001 - every kind of mismatch is a test failure
            self.violations.append(f"request {request.method.upper()} {request.path}: {_explain(e)}")

    def _check_response(self, request: _Request, response: _Response) -> None:
        try:
            self.api.validate_response(request, response)
        except Exception as e:  # noqa: BLE001
            self.violations.append(f"response {response.status_code} to {request.method.upper()} {request.path}: {_explain(e)}")

    def _dispatch(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        fault = self._fault(method, path)
        if fault is not None and not fault.then_apply:
            return self._error(fault)
        for route_method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                result = handler(query, body, *[unquote(g) for g in match.groups()])
                return self._error(fault) if fault is not None else result
        self.violations.append(f"no fake route for {method} {path}")
        return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.path.search(path):
                fault.times -= 1
                return fault
        return None

    def _error(self, fault: Fault) -> tuple[int, Any, dict[str, str]]:
        if fault.body is not None:
            return fault.status, fault.body, dict(fault.headers, **{"X-Fake-Fault": "1"})
        body: dict[str, Any] = {"message": fault.message, "documentation_url": "https://docs.github.com/rest"}
        if fault.status == 422:
            body["errors"] = [{"resource": "Issue", "code": "invalid", "field": "body"}]
        return fault.status, body, dict(fault.headers, **{"X-Fake-Fault": "1"})

    def _routes(self) -> list[tuple[str, str, Callable[..., tuple[int, Any, dict[str, str]]]]]:
        r = re.escape(self.repo)
        return [
            ("POST", rf"/repos/{r}/pulls", self._create_pull),
            ("GET", rf"/repos/{r}/pulls", self._list_pulls),
            ("POST", rf"/repos/{r}/dispatches", self._dispatch_event),
            ("GET", rf"/repos/{r}/pulls/(\d+)", self._get_pull),
            ("GET", rf"/repos/{r}/pulls/(\d+)/files", self._list_files),
            ("GET", rf"/repos/{r}/pulls/(\d+)/reviews", self._list_reviews),
            ("GET", rf"/repos/{r}/issues/(\d+)/comments", self._list_comments),
            ("POST", rf"/repos/{r}/issues/(\d+)/comments", self._create_comment),
            ("PATCH", rf"/repos/{r}/issues/comments/(\d+)", self._edit_comment),
            ("DELETE", rf"/repos/{r}/issues/comments/(\d+)", self._delete_comment),
            ("POST", rf"/repos/{r}/check-runs", self._create_check_run),
            ("PATCH", rf"/repos/{r}/check-runs/(\d+)", self._update_check_run),
            ("POST", rf"/repos/{r}/statuses/([0-9a-f]+)", self._create_status),
            ("POST", rf"/repos/{r}/issues/(\d+)/labels", self._add_labels),
            ("DELETE", rf"/repos/{r}/issues/(\d+)/labels/([^/]+)", self._remove_label),
            ("GET", r"/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)", self._membership),
            ("GET", rf"/repos/{r}", self._get_repo),
            ("GET", rf"/repos/{r}/branches/([^/]+)", self._get_branch),
            ("GET", rf"/repos/{r}/branches/([^/]+)/protection", self._get_protection),
            ("GET", rf"/repos/{r}/rules/branches/([^/]+)", self._get_branch_rules),
            ("GET", rf"/repos/{r}/contents/(.+)", self._get_content),
            ("GET", rf"/repos/{r}/codeowners/errors", self._get_codeowners_errors),
            ("GET", rf"/repos/{r}/actions/permissions/workflow", self._get_workflow_permissions),
            ("GET", rf"/repos/{r}/actions/permissions/fork-pr-contributor-approval", self._get_fork_pr_approval),
        ]

    # -- handlers ----------------------------------------------------------
    def _example(self, name: str) -> Any:
        return copy.deepcopy(self.raw["components"]["examples"][name]["value"])

    def _user(self, login: str, kind: str = "User") -> dict[str, Any]:
        user = self._example("pull-request")["user"]
        user.update(login=login, type=kind, url=f"{SPEC_HOST}/users/{login}")
        return user

    def _repo_url(self) -> str:
        return f"{SPEC_HOST}/repos/{self.repo}"

    def _pull(self, number: str) -> Pull | None:
        return self.pulls.get(int(number))

    def _not_found(self) -> tuple[int, Any, dict[str, str]]:
        return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}

    def _get_pull(self, query: Any, body: Any, number: str) -> tuple[int, Any, dict[str, str]]:
        pull = self._pull(number)
        if pull is None:
            return self._not_found()
        data = self._example("pull-request")
        data["requested_teams"] = []  # the description's own example lacks the required team "type"
        base = self._repo_url()
        data.update(
            number=pull.number, title=pull.title, url=f"{base}/pulls/{pull.number}",
            issue_url=f"{base}/issues/{pull.number}", comments_url=f"{base}/issues/{pull.number}/comments",
            review_comments_url=f"{base}/pulls/{pull.number}/comments", commits_url=f"{base}/pulls/{pull.number}/commits",
            statuses_url=f"{base}/statuses/{pull.head_sha}", user=self._user(pull.author),
            changed_files=pull.changed_files if pull.changed_files is not None else len(pull.files),
        )
        data["labels"] = self._label_list(pull.number)
        data["head"].update(sha=pull.head_sha, ref=pull.head_ref)
        data["base"].update(sha=pull.base_sha, ref="main")
        for side in ("head", "base"):
            data[side]["repo"].update(full_name=self.repo, url=base)
        return 200, data, {}

    def _create_pull(self, query: Any, body: Any) -> tuple[int, Any, dict[str, str]]:
        """``POST /pulls`` (promote/rollback): a new open pull request numbered after the known ones."""
        number = max([*self.pulls, 41]) + 1
        self.pulls[number] = Pull(number, title=body["title"], head_ref=body["head"], body=body.get("body"),
                                  base_ref=body["base"])
        self.pull_bodies[number] = dict(body)
        status, data, headers = self._get_pull(query, None, str(number))
        data.update(body=body.get("body"), html_url=f"https://github.com/{self.repo}/pull/{number}")
        data["base"].update(ref=body["base"])
        return 201, data, headers

    def _list_pulls(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        """``GET /pulls`` (state, base and head filters), as pull-request-simple items."""
        state = query.get("state", ["open"])[-1]
        base = query.get("base", [None])[-1]
        head = query.get("head", [None])[-1]
        owner = self.repo.split("/")[0]
        items = []
        for pull in sorted(self.pulls.values(), key=lambda p: -p.number):
            if (state != "all" and pull.state != state) or (base and pull.base_ref != base) or \
                    (head and head not in (pull.head_ref, f"{owner}:{pull.head_ref}")):
                continue
            item = self._example("pull-request-simple-items")[0]
            base_url = self._repo_url()
            item.update(number=pull.number, title=pull.title, body=pull.body, state=pull.state,
                        url=f"{base_url}/pulls/{pull.number}", html_url=f"https://github.com/{self.repo}/pull/{pull.number}",
                        user=self._user(pull.author), labels=self._label_list(pull.number), requested_teams=[])
            item["head"].update(sha=pull.head_sha, ref=pull.head_ref, label=f"{owner}:{pull.head_ref}")
            item["base"].update(sha=pull.base_sha, ref=pull.base_ref)
            for side in ("head", "base"):
                item[side]["repo"].update(full_name=self.repo, url=base_url)
            items.append(item)
        return self._page(items, query, f"/repos/{self.repo}/pulls")

    def _dispatch_event(self, query: Any, body: Any) -> tuple[int, Any, dict[str, str]]:
        """``POST /dispatches``: a repository_dispatch event, recorded for the test to run the workflow's part."""
        self.dispatches.append(body)
        return 204, None, {}

    def _page(self, items: list[Any], query: dict[str, list[str]], path: str) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", ["30"])[-1]), 100)
        page = int(query.get("page", ["1"])[-1])
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []
        if page < last:
            links.append(f'<{SPEC_HOST}{path}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{SPEC_HOST}{path}?per_page={per_page}&page={last}>; rel="last"')
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    def _list_files(self, query: Any, body: Any, number: str) -> tuple[int, Any, dict[str, str]]:
        pull = self._pull(number)
        if pull is None:
            return self._not_found()
        template = self._example("diff-entry-items")[0]
        items = [dict(template, filename=name, sha="c" * 40) for name in pull.files[:3000]]
        return self._page(items, query, f"/repos/{self.repo}/pulls/{number}/files")

    def _list_reviews(self, query: Any, body: Any, number: str) -> tuple[int, Any, dict[str, str]]:
        template = self._example("pull-request-review-items")[0]
        items = []
        for r in self.reviews.get(int(number), []):
            item = copy.deepcopy(template)
            item.update(id=r["id"], state=r["state"], commit_id=r["commit_id"], submitted_at=r["submitted_at"],
                        user=self._user(r["user"]), pull_request_url=f"{self._repo_url()}/pulls/{number}")
            items.append(item)
        return self._page(items, query, f"/repos/{self.repo}/pulls/{number}/reviews")

    def _comment_json(self, comment_id: int) -> dict[str, Any]:
        c = self.comments[comment_id]
        data = self._example("issue-comment")
        data.update(id=comment_id, body=c["body"], url=f"{self._repo_url()}/issues/comments/{comment_id}",
                    issue_url=f"{self._repo_url()}/issues/{c['issue']}", user=self._user(c["login"], c["type"]),
                    created_at=NOW, updated_at=NOW)
        return data

    def _list_comments(self, query: Any, body: Any, number: str) -> tuple[int, Any, dict[str, str]]:
        items = [self._comment_json(c["id"]) for c in self.comments_on(int(number))]
        return self._page(items, query, f"/repos/{self.repo}/issues/{number}/comments")

    def _create_comment(self, query: Any, body: Any, number: str) -> tuple[int, Any, dict[str, str]]:
        comment_id = self.add_comment(int(number), body["body"])
        return 201, self._comment_json(comment_id), {}

    def _edit_comment(self, query: Any, body: Any, comment_id: str) -> tuple[int, Any, dict[str, str]]:
        if int(comment_id) not in self.comments:
            return self._not_found()
        self.comments[int(comment_id)]["body"] = body["body"]
        return 200, self._comment_json(int(comment_id)), {}

    def _delete_comment(self, query: Any, body: Any, comment_id: str) -> tuple[int, Any, dict[str, str]]:
        if self.comments.pop(int(comment_id), None) is None:
            return self._not_found()
        return 204, None, {}

    def _check_run_json(self, run_id: int) -> dict[str, Any]:
        run = self.check_runs[run_id]
        data = self._example("check-run-example-of-completed-conclusion")
        data.update(id=run_id, name=run["name"], head_sha=run["head_sha"], status=run.get("status", "completed"),
                    conclusion=run.get("conclusion"), url=f"{self._repo_url()}/check-runs/{run_id}")
        data["output"].update(title=run["output"].get("title"), summary=run["output"].get("summary"),
                              annotations_count=len(run["annotations"]))
        return data

    def _create_check_run(self, query: Any, body: Any) -> tuple[int, Any, dict[str, str]]:
        if self.forbid_check_runs:
            return 403, {"message": "Resource not accessible by integration",
                         "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run"}, {
                "X-Fake-Fault": "1"  # real GitHub answers 403 here; the description lists only 201
            }
        run_id = next(self._ids)
        output = body.get("output", {})
        self.check_runs[run_id] = dict(body, output=output, annotations=list(output.get("annotations", [])))
        return 201, self._check_run_json(run_id), {}

    def _update_check_run(self, query: Any, body: Any, run_id: str) -> tuple[int, Any, dict[str, str]]:
        run = self.check_runs.get(int(run_id))
        if run is None:
            return self._not_found()
        output = body.get("output", {})
        run["annotations"].extend(output.get("annotations", []))
        run["output"] = output
        return 200, self._check_run_json(int(run_id)), {}

    def _create_status(self, query: Any, body: Any, sha: str) -> tuple[int, Any, dict[str, str]]:
        self.statuses.append(dict(body, sha=sha))
        data = self._example("status")
        data.update(state=body["state"], context=body.get("context", "default"), description=body.get("description"),
                    target_url=body.get("target_url"), url=f"{self._repo_url()}/statuses/{sha}")
        return 201, data, {}

    def _label_list(self, number: int) -> list[dict[str, Any]]:
        template = self._example("label-items")[0]
        return [dict(template, name=name, url=f"{self._repo_url()}/labels/{name}") for name in self.labels.get(number, [])]

    def _add_labels(self, query: Any, body: Any, number: str) -> tuple[int, Any, dict[str, str]]:
        current = self.labels.setdefault(int(number), [])
        for name in body["labels"]:
            if name not in current:
                current.append(name)
        return 200, self._label_list(int(number)), {}

    def _remove_label(self, query: Any, body: Any, number: str, name: str) -> tuple[int, Any, dict[str, str]]:
        current = self.labels.get(int(number), [])
        if name not in current:
            return 404, {"message": "Label does not exist", "documentation_url": "https://docs.github.com/rest"}, {}
        current.remove(name)
        return 200, self._label_list(int(number)), {}

    def _membership(self, query: Any, body: Any, org: str, slug: str, user: str) -> tuple[int, Any, dict[str, str]]:
        team = self.teams.get((org, slug))
        if team is None or user not in team:
            return 404, None, {}
        data = self._example("team-membership-response-if-user-is-a-team-maintainer")
        data.update(state=team[user], role="member", url=f"{SPEC_HOST}/teams/1/memberships/{user}")
        return 200, data, {}

    # -- repository settings (releasegate doctor) --------------------------------
    def _get_repo(self, query: Any, body: Any) -> tuple[int, Any, dict[str, str]]:
        data = self._example("full-repository-default-response")
        owner, name = self.repo.split("/")
        data.update(full_name=self.repo, name=name, default_branch=self.default_branch, url=self._repo_url(),
                    language="Python")  # required, and missing from the description's own example
        for key in ("parent", "source", "template_repository"):  # not a fork, not from a template
            data.pop(key, None)
        data["owner"].update(login=owner, url=f"{SPEC_HOST}/users/{owner}")
        return 200, data, {}

    def _get_branch(self, query: Any, body: Any, branch: str) -> tuple[int, Any, dict[str, str]]:
        if branch not in self.branches:
            return 404, {"message": "Branch not found", "documentation_url": "https://docs.github.com/rest"}, {}
        data = self._example("branch-get")
        data.update(name=branch, protected=branch in self.protection or branch in self.branch_rules)
        return 200, data, {}

    def _get_protection(self, query: Any, body: Any, branch: str) -> tuple[int, Any, dict[str, str]]:
        if branch not in self.protection:
            return 404, {"message": "Branch not protected", "documentation_url": "https://docs.github.com/rest"}, {}
        return 200, copy.deepcopy(self.protection[branch]), {}

    def _get_branch_rules(self, query: Any, body: Any, branch: str) -> tuple[int, Any, dict[str, str]]:
        return self._page(copy.deepcopy(self.branch_rules.get(branch, [])), query,
                          f"/repos/{self.repo}/rules/branches/{branch}")

    def _get_content(self, query: Any, body: Any, path: str) -> tuple[int, Any, dict[str, str]]:
        if path not in self.files:
            return self._not_found()
        encoded = base64.b64encode(self.files[path].encode()).decode()
        data = self._example("content-file-response-if-content-is-a-file")
        data.update(name=path.rsplit("/", 1)[-1], path=path, size=len(self.files[path]),
                    content="\n".join(encoded[i:i + 60] for i in range(0, len(encoded), 60)),
                    url=f"{self._repo_url()}/contents/{path}")
        return 200, data, {}

    def _get_codeowners_errors(self, query: Any, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not any(p in self.files for p in (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")):
            return self._not_found()
        return 200, {"errors": copy.deepcopy(self.codeowners_errors)}, {}

    def _get_workflow_permissions(self, query: Any, body: Any) -> tuple[int, Any, dict[str, str]]:
        return 200, dict(self.workflow_permissions), {}

    def _get_fork_pr_approval(self, query: Any, body: Any) -> tuple[int, Any, dict[str, str]]:
        return 200, {"approval_policy": self.fork_pr_approval}, {}

    def _rewrite(self, payload: Any) -> Any:
        """Point every api.github.com URL of an answer back at this server."""
        text = json.dumps(payload).replace(SPEC_HOST, self.url)
        return json.loads(text)


@contextmanager
def serving(monkeypatch: Any, repo: str = "octo-org/gitops", **env: str | None) -> Iterator[FakeGitHub]:
    """A started fake pointed to by the environment the CLI reads; fails the test on any request
    that breaks GitHub's published contract. ``env`` sets more variables (None-valued: removed)."""
    server = FakeGitHub(repo=repo).start()
    settings = {"GITHUB_TOKEN": "ghp_test", "GITHUB_API_URL": server.url, "RELEASEGATE_THROTTLE": "0",
                "RELEASEGATE_RETRY_BACKOFF": "0", **env}
    for name, value in settings.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    try:
        yield server
    finally:
        server.stop()
    assert server.violations == []


def _spec_path(path: str) -> str:
    """The path as the description can match it. The contents API takes a file's path with its
    slashes (``/contents/.github/CODEOWNERS``, as PyGithub and gh send it); an OpenAPI path
    parameter holds one segment, so the validator is shown the slashes percent-encoded."""
    match = re.fullmatch(r"(/repos/[^/]+/[^/]+/contents/)(.+)", path)
    return match[1] + match[2].replace("/", "%2F") if match else path


def _explain(error: Exception) -> str:
    details = [str(error)]
    cause = error.__cause__ or error.__context__
    for _ in range(4):
        if cause is None:
            break
        details.append(str(cause)[:500])
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            details.extend(str(e.message)[:300] for e in schema_errors[:5])
        cause = cause.__cause__ or cause.__context__
    return " <- ".join(details)

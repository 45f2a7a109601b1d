"""What the server logs, on a real server on 127.0.0.1: a failed inference (with the model and the
exception, once however often it fails), start-up and shutdown, and the access log only when on."""
from __future__ import annotations

import json
import logging
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from serve_testkit import SEQ, config_for, http, infer_json, running, wait_until

pytest.importorskip("torch")
pytestmark = pytest.mark.timeout(120)
ACCESS_LINE = re.compile(r'127\.0\.0\.1:\d+ "(\S+) (\S+)" (\d{3}) (\d+) \d+\.\d\d ms')


def _messages(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def test_a_model_that_raises_is_logged_with_its_name_and_the_exception(
    slow_weights: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="releasegate.serve")
    with running(config_for(slow_weights, factory="slow-linear", model_name="broken")) as server:
        port = server.info.port
        for _ in range(3):
            status, _, body = infer_json(port, "x", "FP32", [[5, 0, 0, 0]], model="broken")
            assert status == 500
            assert json.loads(body)["error"] == "inference failed: RuntimeError: a row starts with 5"
        assert infer_json(port, "x", "FP32", [[1, 0, 0, 0]], model="broken")[0] == 200
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, "a model failing again and again is logged once per 10 s, not per batch"
    record = errors[0]
    assert record.name == "releasegate.serve.batching"
    assert "model 'broken': inference failed for a batch of 1 requests (1 rows)" in record.getMessage()
    assert "RuntimeError: a row starts with 5" in record.getMessage()
    assert record.exc_info is not None and "a row starts with 5" in caplog.text  # with its traceback


def test_start_up_and_shutdown_are_logged(artifacts: dict[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="releasegate.serve")
    path = artifacts["torch-export"]
    with running(config_for(path)) as server:
        port = server.info.port
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert f"{path}: sha256 verified" in text
    assert "model 'model' loaded and warmed up in" in text and "torch-export on cpu (float32)" in text
    assert f"listening on http://127.0.0.1:{port} (access log off)" in text
    assert "shutting down" in text and "stopped" in text.splitlines()[-1]


def test_access_log_lines_carry_client_method_path_status_bytes_and_time(
    artifacts: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="releasegate.serve.access")
    with running(config_for(artifacts["torch-export"], access_log=True)) as server:
        port = server.info.port
        assert http(port, "GET", "/v2/health/live")[0] == 200
        status, _, body = infer_json(port, "input_ids", "INT64", [[1] * SEQ])
        assert status == 200
        assert http(port, "GET", "/v2/nowhere")[0] == 404
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
            assert sock.recv(12) == b"HTTP/1.1 414"
        wait_until(lambda: len(_messages(caplog, "releasegate.serve.access")) == 4)
    lines = [ACCESS_LINE.fullmatch(line) for line in _messages(caplog, "releasegate.serve.access")]
    assert all(lines), _messages(caplog, "releasegate.serve.access")
    assert [m.group(1, 2, 3) for m in lines if m] == [
        ("GET", "/v2/health/live", "200"), ("POST", "/v2/models/model/infer", "200"), ("GET", "/v2/nowhere", "404"),
        ("-", "-", "414"),  # refused before its path was read
    ]
    assert [int(m.group(4)) for m in lines if m][:2] == [len(b'{"live":true}'), len(body)]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "releasegate.serve.access")


def test_no_access_log_unless_asked(artifacts: dict[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="releasegate")
    with running(config_for(artifacts["torch-export"])) as server:
        port = server.info.port
        assert http(port, "GET", "/v2/health/live")[0] == 200
        assert infer_json(port, "input_ids", "INT64", [[1] * SEQ])[0] == 200
    assert _messages(caplog, "releasegate.serve.access") == []
    assert any("listening on" in m for m in _messages(caplog, "releasegate.serve.server"))


def test_a_flood_of_refusals_is_a_few_lines(artifacts: dict[str, Path], caplog: Any) -> None:
    """The limits' warnings share the throttle: 20 refusals of one kind, one line."""
    caplog.set_level(logging.WARNING, logger="releasegate.serve")
    with running(config_for(artifacts["torch-export"])) as server:
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", server.info.port), timeout=10) as sock:
                sock.sendall(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
                assert sock.recv(12) == b"HTTP/1.1 414"
    warnings = [r for r in caplog.records if "--max-url-bytes" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].name == "releasegate.serve.listener"

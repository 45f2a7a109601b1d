"""``releasegate serve`` through the CLI: refusals before loading, and SIGTERM draining."""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from releasegate.cli import main

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.timeout(120)
SRC = Path(__file__).resolve().parents[2] / "src"

SLEEPER = textwrap.dedent(
    '''
    import os, time
    import torch

    class Sleeper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)

        def forward(self, x):
            if bool((x[:, 0] == 7).any()):
                with open(os.environ["RG_TEST_MARKER"], "a") as f:
                    f.write("x")
                time.sleep(1.5)
            return self.lin(x)

    def sleeper():
        torch.manual_seed(0)
        return Sleeper().eval()

    sleeper.input_spec = [{"name": "x", "datatype": "FP32", "shape": [4]}]
    '''
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    from safetensors.torch import save_file

    from releasegate.serve.models import build

    path = tmp_path / "tiny.safetensors"
    save_file(build("tiny-encoder").state_dict(), str(path))
    return path


def test_help_lists_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--sha256", "--format", "--factory", "--device", "--dtype", "--max-batch", "--max-delay-ms",
                 "--max-queue", "--host", "--port", "--model-name", "--model-version", "--track", "--input-spec", "--max-request-bytes",
                 "--compile", "--graceful-timeout", "--access-log"):
        assert flag in out


def test_wrong_digest_refuses_to_start(weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = "ab" * 32
    assert main(["serve", str(weights), "--sha256", wrong, "--factory", "tiny-encoder", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"sha256 mismatch: expected {wrong}, actual {_sha(weights)}" in err
    assert "Traceback" not in err


def test_pickle_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    assert main(["serve", str(path), "--sha256", _sha(path), "--factory", "tiny-encoder", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: a pickle of Python objects" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("kind", ["truncated", "text"])
def test_broken_files_are_input_errors(tmp_path: Path, weights: Path, kind: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"{kind}.bin"
    if kind == "truncated":
        path.write_bytes(weights.read_bytes()[:5000])
    else:
        path.write_text("hello\n")
    assert main(["serve", str(path), "--sha256", _sha(path), "--factory", "tiny-encoder", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert ("truncated" if kind == "truncated" else "not a model artifact") in err
    assert "Traceback" not in err


def test_missing_file_and_bad_input_spec(tmp_path: Path, weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", str(tmp_path / "none.pt2"), "--sha256", "0" * 64]) == 2
    assert "none.pt2: cannot read" in capsys.readouterr().err
    args = ["serve", str(weights), "--sha256", _sha(weights), "--factory", "tiny-encoder", "--input-spec", "ids"]
    assert main(args) == 2
    assert "--input-spec 'ids': expected NAME:DATATYPE:DIMS" in capsys.readouterr().err
    assert main(["serve", str(weights), "--sha256", _sha(weights), "--model-name", "a/b"]) == 2
    assert "--model-name 'a/b': not usable in a URL path" in capsys.readouterr().err
    assert main(["serve", str(weights), "--sha256", _sha(weights), "--model-version", "1.0.0 2"]) == 2
    assert "--model-version '1.0.0 2': not a version" in capsys.readouterr().err
    assert main(["serve", str(weights), "--sha256", _sha(weights), "--track", "blue"]) == 2
    assert "'blue' is not one of 'stable', 'canary'" in capsys.readouterr().err
    assert main(["serve", str(weights), "--sha256", _sha(weights), "--device", "tpu"]) == 2
    assert "--device tpu: not a device" in capsys.readouterr().err


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict[str, object]) -> tuple[int, bytes]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
        return resp.status, resp.read()


def test_sigterm_finishes_the_request_in_flight_and_exits_0(tmp_path: Path) -> None:
    """Also: RELEASEGATE_ACCESS_LOG turns the access log on, whose lines pass the default --log-level warning."""
    from safetensors.torch import save_file

    site = tmp_path / "site"
    (site / "rg_sleeper-0.1.dist-info").mkdir(parents=True)
    (site / "rg_sleeper.py").write_text(SLEEPER)
    (site / "rg_sleeper-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: rg-sleeper\nVersion: 0.1\n")
    (site / "rg_sleeper-0.1.dist-info" / "entry_points.txt").write_text(
        "[releasegate.model_factories]\nsleeper = rg_sleeper:sleeper\n"
    )
    sys.path.insert(0, str(site))
    try:
        import rg_sleeper  # type: ignore[import-not-found]

        weights = tmp_path / "sleeper.safetensors"
        save_file(rg_sleeper.sleeper().state_dict(), str(weights))
    finally:
        sys.path.remove(str(site))
    marker = tmp_path / "entered"
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(site)]), "RG_TEST_MARKER": str(marker),
           "RELEASEGATE_ACCESS_LOG": "1"}
    cmd = [sys.executable, "-m", "releasegate", "serve", str(weights), "--sha256", _sha(weights),
           "--factory", "sleeper", "--port", str(port), "--device", "cpu"]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, proc)
        result: dict[str, object] = {}
        body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [7, 0, 0, 0]}]}
        worker = threading.Thread(target=lambda: result.update(answer=_post(f"{base}/v2/models/model/infer", body)))
        worker.start()
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline, "the request never reached the model"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        worker.join(30)
        status, answer = result["answer"]  # type: ignore[misc]
        assert status == 200 and json.loads(answer)["outputs"][0]["shape"] == [1, 2]
        assert proc.wait(30) == 0
        err = proc.stderr.read() if proc.stderr else ""
        assert "stopped after finishing in-flight requests" in err
        assert re.search(r'Z INFO releasegate\.serve\.access: 127\.0\.0\.1:\d+ "POST /v2/models/model/infer" 200 \d+ ', err)
        assert "INFO releasegate.serve.server" not in err  # --log-level stays warning
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _wait_ready(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "server exited"
        try:
            with urllib.request.urlopen(f"{base}/v2/health/ready", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become ready")

"""The server image, built for real: deploy/image/Containerfile with podman, `releasegate serve` run inside.

No registry is reachable and `podman run` cannot set rlimits in these sandboxes, so the base image is a
debootstrapped Debian bookworm (`podman import`), and the built image's rootfs is entered with chroot
(`podman image mount`) in its own mount and PID namespaces: when the server stops, its /proc, its model
mount and every process it started go with it. Both the rootfs tarball and the built image are cached
under .cache/image/, keyed by their inputs, so a second run only starts the server (needs root: run it
with sudo where the suite runs unprivileged; ci.yml does).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.render.render_helpers import fixture_missing

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = (REPO_ROOT / ".cache" / "image").resolve()  # one podman store, whichever checkout links .cache
DEBOOTSTRAP = ["debootstrap", "--variant=minbase", "--include=python3,python3-venv", "bookworm"]
MIRROR = os.environ.get("RELEASEGATE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What the built image depends on, relative to the repository root (the .dockerignore allow-list too).
IMAGE_INPUTS = [".dockerignore", "deploy/image", "actions/requirements-build.lock", "pyproject.toml", "README.md", "src"]


def _tools() -> None:
    if os.geteuid() != 0:
        fixture_missing("root (debootstrap, podman image mount and chroot need it)", "run tests/image with sudo")
    for tool in ("podman", "debootstrap", "unshare", "chroot"):
        if shutil.which(tool) is None:
            fixture_missing(tool, "scripts/fixtures/fetch-image-tools.sh installs podman and debootstrap (apt-get, as root)")


def _run(*args: str, **kw: object) -> str:
    done = subprocess.run(args, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return str(done.stdout)


def _podman(*args: str) -> str:
    return _run("podman", "--root", str(CACHE / "storage"), "--runroot", str(CACHE / "run"), "--storage-driver", "vfs", *args)


def _digest(parts: list[str], paths: list[Path] = []) -> str:  # noqa: B006 (read only)
    h = hashlib.sha256("\0".join(parts).encode())
    for root in paths:
        files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if root.is_dir() else [root]
        for f in files:
            h.update(str(f.relative_to(REPO_ROOT)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def _image_exists(ref: str) -> bool:
    return ref in _podman("images", "--format", "{{.Repository}}:{{.Tag}}").split()


def _drop_other_tags(repository: str, keep: str) -> None:
    """vfs keeps a full copy of every layer: images built from older inputs go."""
    for ref in _podman("images", "--format", "{{.Repository}}:{{.Tag}}").split():
        if ref.startswith(repository + ":") and ref != keep:
            _podman("rmi", "--force", ref)


def _base_image() -> str:
    key = _digest([*DEBOOTSTRAP, MIRROR])
    ref = f"localhost/releasegate-test-base:{key}"
    if _image_exists(ref):
        return ref
    tarball = CACHE / f"rootfs-{key}.tar"
    if not tarball.is_file():
        rootfs = CACHE / f"rootfs-{key}.tmp"
        shutil.rmtree(rootfs, ignore_errors=True)
        _run(*DEBOOTSTRAP, str(rootfs), MIRROR)
        shutil.rmtree(rootfs / "var" / "cache" / "apt", ignore_errors=True)
        _run("tar", "-C", str(rootfs), "--numeric-owner", "-cf", f"{tarball}.tmp", ".")
        os.replace(f"{tarball}.tmp", tarball)
        shutil.rmtree(rootfs)
    _drop_other_tags("localhost/releasegate-test-base", ref)
    _podman("import", "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", str(tarball), ref)
    return ref


def _pip_mounts(tmp: Path) -> list[str]:
    """This machine's pip trust store and wheel folders (`pip config list`), for pip inside the build.

    Where a wheel folder is named, the lock's torch is taken from there (the PyTorch CPU index may be out of
    reach): TORCH_INDEX_URL then names PyPI, already the default index, instead."""
    listed = _run("python3", "-m", "pip", "config", "list") if shutil.which("python3") else ""
    conf = dict(line.split("=", 1) for line in listed.splitlines() if "=" in line)
    settings = {k.split(".", 1)[1]: v.strip("'\"") for k, v in conf.items()}
    lines, mounts = ["[global]"], []
    if Path(settings.get("cert", "")).is_file():
        lines.append("cert = /run/releasegate-ca.crt")
        mounts += ["-v", f"{settings['cert']}:/run/releasegate-ca.crt:ro"]
    for folder in settings.get("find-links", "").split():
        if Path(folder).is_dir():
            lines.append(f"find-links = {folder}")
            mounts += ["-v", f"{folder}:{folder}:ro"]
    if len(lines) == 1:
        return []
    (tmp / "pip.conf").write_text("\n".join(lines) + "\n")
    torch_index = ["--build-arg", "TORCH_INDEX_URL=https://pypi.org/simple"] if "find-links" in "".join(lines) else []
    return ["-v", f"{tmp / 'pip.conf'}:/etc/pip.conf:ro", *mounts, *torch_index]


def _server_image(tmp: Path) -> str:
    base = _base_image()
    key = _digest([base], [REPO_ROOT / p for p in IMAGE_INPUTS])
    ref = f"localhost/releasegate-server-test:{key}"
    if not _image_exists(ref):
        _podman(
            "build", "--isolation", "chroot", "--layers=false", "-f", "deploy/image/Containerfile",
            "--build-arg", f"BASE_IMAGE={base}", "--build-arg", "VARIANT=cpu",
            *_pip_mounts(tmp), "-t", ref, str(REPO_ROOT),
        )  # fmt: skip
        _podman("image", "prune", "--force")
    _drop_other_tags("localhost/releasegate-server-test", ref)
    return ref


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    _tools()
    CACHE.mkdir(parents=True, exist_ok=True)
    return _server_image(tmp_path_factory.mktemp("build"))


@pytest.fixture()
def rootfs(image: str) -> Iterator[Path]:
    mounted = Path(_podman("image", "mount", image).strip())
    try:
        yield mounted
    finally:
        _podman("image", "unmount", image)


def _tiny_torchscript(folder: Path) -> tuple[Path, str]:
    torch = pytest.importorskip("torch")

    class Scale(torch.nn.Module):  # type: ignore[name-defined,misc]
        def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[name-defined]
            return x * 2.0 + 1.0

    path = folder / "scale.ts"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated, and still a format releasegate serve loads
        torch.jit.script(Scale()).save(str(path))
    path.chmod(0o644)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited {proc.returncode} before it was ready")
        try:
            if _get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready in {timeout:.0f} s")


def _config(image: str) -> dict[str, Any]:
    return dict(json.loads(_podman("image", "inspect", "--format", "{{json .Config}}", image)))


def _entrypoint(rootfs: Path, config: dict[str, Any], models: Path, args: list[str]) -> subprocess.Popen[bytes]:
    """The image's entrypoint as its user, in a chroot of the image with its own mount and PID namespaces."""
    env = [e for e in config["Env"] if e.startswith(("PATH=", "PYTHON"))]
    # The model folder goes over the image's /tmp inside the new mount namespace: the cached image stays untouched.
    script = 'mount --bind "$2" "$1/tmp" && r="$1" && u="$3" && shift 3 && exec chroot --userspec="$u" "$r" "$@"'
    command = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", f"--mount-proc={rootfs / 'proc'}",
               "sh", "-c", script, "sh", str(rootfs), str(models), config["User"],
               "/usr/bin/env", "-i", *env, "HOME=/tmp", *config["Entrypoint"], *args]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> str:
    """SIGTERM, then its output; unshare's child is PID 1 of the namespace, so its end ends every process in it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        output, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
    return output.decode(errors="replace")


@pytest.fixture()
def model(tmp_path: Path) -> tuple[Path, str]:
    models = tmp_path / "models"
    models.mkdir()
    models.chmod(0o755)
    return _tiny_torchscript(models)


def test_the_image_is_labelled_and_runs_as_65532(image: str, rootfs: Path) -> None:
    config = _config(image)
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["releasegate", "serve"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert {"org.opencontainers.image.source", "org.opencontainers.image.version", "org.opencontainers.image.revision"} <= set(labels)
    assert not (rootfs / "opt" / "build").exists(), "the build venv must stay in the build stage"
    assert not list((rootfs / "opt" / "releasegate" / "bin").glob("pip*")), "pip must not reach the runtime stage"


def test_the_entrypoint_serves_a_torchscript_model_over_v2(image: str, rootfs: Path, model: tuple[Path, str]) -> None:
    path, sha256 = model
    port = _free_port()
    args = [f"/tmp/{path.name}", "--sha256", sha256, "--format", "torchscript", "--input-spec", "x:FP32:4",
            "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    proc = _entrypoint(rootfs, _config(image), path.parent, args)
    try:
        _wait_ready(proc, f"http://127.0.0.1:{port}/v2/health/ready")
        doc = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1.0, 2.0, 3.0, 4.0]}]}
        status, body = _get(f"http://127.0.0.1:{port}/v2/models/model/infer", json.dumps(doc).encode())
        assert status == 200, body
        out = json.loads(body)["outputs"][0]
        assert out["shape"] == [1, 4] and out["data"] == [3.0, 5.0, 7.0, 9.0]
    finally:
        log = _stop(proc)
    assert f"verifying /tmp/{path.name} (sha256)" in log and "stopped after finishing in-flight requests" in log, log
    # The PID namespace died with its first process: nothing of the server is left.
    assert f"--port {port}" not in _run("ps", "-eo", "args")


def test_the_entrypoint_refuses_a_model_whose_sha256_differs(image: str, rootfs: Path, model: tuple[Path, str]) -> None:
    path, sha256 = model
    wrong = ("0" if sha256[0] != "0" else "1") + sha256[1:]
    proc = _entrypoint(rootfs, _config(image), path.parent, [f"/tmp/{path.name}", "--sha256", wrong, "--input-spec", "x:FP32:4"])
    try:
        proc.wait(timeout=120)
    finally:
        log = _stop(proc)
    assert proc.returncode not in (0, None) and wrong in log and sha256 in log, log

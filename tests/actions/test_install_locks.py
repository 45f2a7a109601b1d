"""The actions install releasegate's dependencies from hash-pinned lock files (pip --require-hashes).

The locks must cover every dependency pyproject.toml declares (else pip refuses the install on
a runner, or, worse, a dependency would be missing), pin exact versions with hashes, and the
install script must use them with --require-hashes and install releasegate itself without the
index. Regenerate the locks with scripts/lock-actions.sh.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = ROOT / "actions"


def _pins(lock: Path) -> dict[str, str]:
    text = lock.read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+) \\$", text, flags=re.M))
    blocks = re.split(r"^(?=[A-Za-z0-9_.\-]+==)", text, flags=re.M)[1:]
    assert blocks and all("--hash=sha256:" in b for b in blocks), f"{lock.name}: every pin needs a hash"
    return {_norm(k): v for k, v in pins.items()}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(*extras: str) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    for extra in extras:
        for dep in project["optional-dependencies"][extra]:
            if dep.startswith("releasegate["):
                deps += project["optional-dependencies"][dep[len("releasegate["):-1]]
            else:
                deps.append(dep)
    names = set()
    for dep in deps:
        if ";" in dep and "win32" in dep and "!=" in dep:
            pass  # platform markers: still locked for Linux runners
        names.add(_norm(re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0]))
    return names


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()), ("requirements-sign.lock", ("sign",)),
                                              ("requirements-loadtest.lock", ("loadtest", "sign"))])
def test_each_lock_pins_every_declared_dependency_with_hashes(lock: str, extras: tuple[str, ...]) -> None:
    pins = _pins(ACTIONS / lock)
    missing = sorted(_declared(*extras) - set(pins))
    assert not missing, f"{lock} lacks {missing}: run scripts/lock-actions.sh"


def test_the_build_lock_pins_the_build_backend() -> None:
    pins = _pins(ACTIONS / "requirements-build.lock")
    assert {"setuptools", "wheel"} <= set(pins)


@pytest.mark.slow
def test_the_install_script_installs_the_light_core_from_the_lock(tmp_path: Path) -> None:
    """What the validate and render actions run on a runner without a prepared Python."""
    import subprocess

    output = tmp_path / "github-output"
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "RUNNER_TEMP": str(tmp_path),
           "GITHUB_OUTPUT": str(output), "RELEASEGATE_EXTRA": "", "PIP_CONSTRAINT": ""}
    import os

    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT", "SSL_CERT_FILE"):
        if name in os.environ:
            env[name] = os.environ[name]
    proc = subprocess.run(["bash", str(ACTIONS / "install.sh")], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    python = output.read_text().strip().removeprefix("python=")
    freeze = subprocess.run([python, "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True).stdout
    installed = {_norm(k): v for k, v in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)$", freeze, flags=re.M)}
    pins = _pins(ACTIONS / "requirements.lock")
    assert {name: installed.get(name) for name in pins} == pins  # exactly the locked versions
    check = subprocess.run([python, "-m", "releasegate", "validate", "--all", "--root", str(ROOT)],
                           capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]

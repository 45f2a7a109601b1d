"""The environment of every child process releasegate starts on a runner: an allow-list.

Model servers, locust, artifact fetchers and external runtimes never see the job's
tokens or cloud credentials (``GITHUB_TOKEN``, ``ACTIONS_*``, ``AWS_*``, ...): they get only
what a program needs to run, find its libraries and its GPU. A variable the base policy
hands to the artifact fetcher on purpose is passed by name (``extra``).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

ALLOWED = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "TERM",
    "PYTHONPATH", "PYTHONHOME", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV",
    "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "CUDA_HOME", "CUDA_PATH", "NVIDIA_VISIBLE_DEVICES",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR",
    "RELEASEGATE_TRACEBACK", "RELEASEGATE_LOG_LEVEL",
})
ALLOWED_PREFIXES = ("LC_",)

# For the tools releasegate itself runs (git, kubectl): everything but credentials, which only a
# `git push` of `promote`/`rollback` may need (credential helpers read GH_TOKEN / GITHUB_TOKEN).
_CREDENTIAL_NAMES = frozenset({"GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN",
                               "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                               "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_RUNTIME_URL", "ACTIONS_CACHE_URL",
                               "ACTIONS_RESULTS_URL"})
_CREDENTIAL_PREFIXES = ("AWS_", "AZURE_", "ARM_", "GOOGLE_", "GCP_", "CLOUDSDK_", "HF_TOKEN", "VAULT_")
_CREDENTIAL_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "PRIVATE_KEY", "API_KEY", "ACCESS_KEY")


def is_credential(name: str) -> bool:
    upper = name.upper()
    return upper in _CREDENTIAL_NAMES or upper.startswith(_CREDENTIAL_PREFIXES) or any(w in upper for w in _CREDENTIAL_WORDS)


def without_credentials(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` minus tokens, cloud credentials and anything named like a secret."""
    return {k: v for k, v in env.items() if not is_credential(k)}


def child_env(overrides: Mapping[str, str] | None = None, passthrough: Iterable[str] = (),
              parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allow-listed part of ``parent`` (default: this process), plus ``passthrough`` names and ``overrides``."""
    source = os.environ if parent is None else parent
    keep = ALLOWED | set(passthrough)
    env = {k: v for k, v in source.items() if k in keep or k.startswith(ALLOWED_PREFIXES)}
    env.update(overrides or {})
    return env

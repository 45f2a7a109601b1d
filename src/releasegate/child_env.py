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
    "RELEASEGATE_TRACEBACK",
})
ALLOWED_PREFIXES = ("LC_",)


def child_env(overrides: Mapping[str, str] | None = None, passthrough: Iterable[str] = (),
              parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allow-listed part of ``parent`` (default: this process), plus ``passthrough`` names and ``overrides``."""
    source = os.environ if parent is None else parent
    keep = ALLOWED | set(passthrough)
    env = {k: v for k, v in source.items() if k in keep or k.startswith(ALLOWED_PREFIXES)}
    env.update(overrides or {})
    return env

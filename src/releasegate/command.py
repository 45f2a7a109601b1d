"""The single way releasegate runs external programs (git, kubectl, ...).

Arguments are always passed as a list, never through a shell, so text from a
pull request can never be interpreted as shell syntax.
"""
from __future__ import annotations

import logging
import os
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from releasegate.child_env import without_credentials
from releasegate.errors import CommandError, InputError

log = logging.getLogger(__name__)


def run(
    args: Sequence[str],
    *,
    cwd: Path | str | None = None,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
    replace_env: Mapping[str, str] | None = None,
    credentials: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``args`` and return the completed process (stdout/stderr as bytes).

    ``env`` adds to this process's environment, minus credentials (tokens, cloud keys) unless
    ``credentials`` is set (only ``git push`` needs them); ``replace_env`` is the whole
    environment (see :mod:`releasegate.child_env`). Raises :class:`CommandError` (command, exit code, stderr) when ``check`` is set
    and the program fails, and :class:`InputError` when it is not installed.
    """
    argv = [str(a) for a in args]
    if replace_env is not None:
        full_env = dict(replace_env)
    else:
        merged = {**os.environ, **(env or {})}
        full_env = merged if credentials else without_credentials(merged)
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            input=input,
            env=full_env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as e:
        raise InputError(
            f"program not found: {argv[0]}", f"install {argv[0]} and make sure it is on PATH"
        ) from e
    except subprocess.TimeoutExpired as e:
        raise CommandError(argv, -1, f"timed out after {timeout} s") from e
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s: exit %d in %.0f ms", shlex.join(argv), proc.returncode, (time.perf_counter() - started) * 1000)
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc


def run_text(args: Sequence[str], **kwargs: object) -> str:
    """Run ``args`` and return stdout decoded as UTF-8."""
    proc = run(args, **kwargs)  # type: ignore[arg-type]
    return proc.stdout.decode("utf-8", "replace")

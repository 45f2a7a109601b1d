"""Long-running child processes (model servers, locust) in their own process groups.

``releasegate.command.run`` is for programs that run to completion; a model server
or a locust run with worker processes has to be watched while it runs and, on every
exit path, stopped together with everything it forked. Each :class:`Managed`
process is started with ``start_new_session=True`` (its own process group), and
:func:`stop_all` -- registered with :mod:`atexit` and called from the signal
handlers of :func:`cleanup_on_signals` -- kills the whole group. Arguments are a
list, never a shell.
"""
from __future__ import annotations

import atexit
import logging
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from releasegate.child_env import child_env
from releasegate.errors import InputError

_LIVE: dict[int, Managed] = {}
_LOCK = threading.Lock()
TERM_GRACE_SECONDS = 5.0
log = logging.getLogger(__name__)


class Managed:
    """A child process in its own process group, with stdout+stderr in ``log_path``."""

    def __init__(
        self,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        full_env = child_env(env)  # never the job's tokens or cloud credentials
        with _registering(), open(log_path, "ab") as output:
            try:
                self.popen = subprocess.Popen(  # noqa: S603 - list args, no shell
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    env=full_env,
                    cwd=cwd,
                    start_new_session=True,
                )
            except (FileNotFoundError, PermissionError) as e:
                raise InputError(
                    f"cannot start {self.argv[0]}: {e.strerror or e}",
                    "check the command (a list: program first, then its arguments) and PATH",
                ) from e
            self.pgid = self.popen.pid  # start_new_session: the child leads its group
            self._stopped = False
            with _LOCK:
                _LIVE[self.pgid] = self
        log.info("started pid %d: %s (output in %s)", self.pid, shlex.join(self.argv), log_path)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""
        return self.popen.poll()

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds; the exit code or None if still running."""
        try:
            return self.popen.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = TERM_GRACE_SECONDS) -> int | None:
        """SIGTERM the whole group, then SIGKILL it after ``grace`` seconds. Idempotent."""
        exited = self.poll()
        _signal_group(self.pgid, signal.SIGTERM)
        code = self.wait(grace)
        # Kill the group even when the leader exited: forked workers may survive it.
        _signal_group(self.pgid, signal.SIGKILL)
        killed = code is None
        if killed:
            code = self.wait(grace)
        with _LOCK:
            _LIVE.pop(self.pgid, None)
        if not self._stopped:
            self._stopped = True
            self._log_stop(exited, code, killed, grace)
        return code

    def _log_stop(self, exited: int | None, code: int | None, killed: bool, grace: float) -> None:
        name = Path(self.argv[0]).name
        if exited not in (None, 0):
            log.warning("pid %d (%s) had exited on its own with code %d; its output is in %s", self.pid, name, exited, self.log_path)
        elif killed:
            log.warning("pid %d (%s) did not stop within %g s of SIGTERM: killed", self.pid, name, grace)
        else:
            log.info("pid %d (%s) stopped: exit code %s", self.pid, name, code)

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the process's output."""
        return log_tail(self.log_path, lines)


def log_tail(path: Path, lines: int = 20, max_bytes: int = 64 * 1024) -> str:
    """The last ``lines`` lines of the file at ``path`` (empty when it is missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace").rstrip()
    return "\n".join(text.splitlines()[-lines:])


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def live_groups() -> list[int]:
    """Process-group ids of the children not yet stopped."""
    with _LOCK:
        return list(_LIVE)


def stop_all() -> None:
    """Stop every child still running (used on every exit path)."""
    with _LOCK:
        children = list(_LIVE.values())
    for child in children:
        child.stop(grace=1.0)


atexit.register(stop_all)


class Interrupted(BaseException):
    """SIGTERM/SIGHUP arrived: unwind (running every ``finally``) and stop the children."""


_DEFERRED: list[int] = []  # signals that arrived while a child was started but not yet registered
_STARTING = [0]


@contextmanager
def _registering() -> Iterator[None]:
    """Hold SIGTERM/SIGHUP back from the moment a child is started until it is in ``_LIVE``.

    Raised in between, the signal would unwind past a started child that ``stop_all`` does not
    know about yet, and leave it running.
    """
    _STARTING[0] += 1
    try:
        yield
    finally:
        _STARTING[0] -= 1
        if not _STARTING[0] and _DEFERRED:
            signum = _DEFERRED[0]
            _DEFERRED.clear()
            raise Interrupted(f"received signal {signum}")


@contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """While active, SIGTERM and SIGHUP unwind the stack like Ctrl-C does, so children get stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}

    def handler(signum: int, frame: FrameType | None) -> None:
        if _STARTING[0]:
            _DEFERRED.append(signum)
            return
        raise Interrupted(f"received signal {signum}")

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        stop_all()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def deadline(seconds: float) -> float:
    """A ``time.monotonic()`` value ``seconds`` from now."""
    return time.monotonic() + seconds

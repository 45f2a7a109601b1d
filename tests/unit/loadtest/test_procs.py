"""Child processes: the whole process group dies, on stop and on every exit path."""
from __future__ import annotations

import logging
import os
import re
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from releasegate.errors import InputError
from releasegate.loadtest import procs

# A parent that forks a grandchild which ignores SIGTERM, then both sleep. Each says its pid in one
# write(2): print() may write its pieces separately (unbuffered output), and the two lines would mix.
FORKER = """
import os, signal, sys, time
if os.fork() == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.write(1, b"grandchild %d\\n" % os.getpid())
    time.sleep(600)
else:
    os.write(1, b"parent %d\\n" % os.getpid())
    time.sleep(600)
"""


def _pids(log: Path) -> list[int]:
    for _ in range(600):
        found = re.findall(r"(?:grandchild|parent) (\d+)", log.read_text()) if log.exists() else []
        if len(found) >= 2:
            return [int(pid) for pid in found]
        time.sleep(0.05)
    raise AssertionError(log.read_text())


def _dead(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _gone(pid: int) -> bool:
    """Dead within 10 s (SIGKILL is delivered at once, but a loaded machine may take a moment)."""
    for _ in range(200):
        if _dead(pid):
            return True
        time.sleep(0.05)
    return False


def test_stop_kills_the_group_including_stubborn_grandchildren(tmp_path: Path) -> None:
    child = procs.Managed([sys.executable, "-c", FORKER], tmp_path / "log")
    pids = _pids(tmp_path / "log")
    assert child.pgid in procs.live_groups()
    child.stop(grace=0.5)
    assert all(_gone(p) for p in pids)
    assert child.pgid not in procs.live_groups()
    assert "grandchild" in child.log_tail()


def test_stop_all_and_signals_unwind(tmp_path: Path) -> None:
    child = procs.Managed([sys.executable, "-c", FORKER], tmp_path / "log")
    pids = _pids(tmp_path / "log")
    with pytest.raises(procs.Interrupted):
        with procs.cleanup_on_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    assert all(_gone(p) for p in pids)
    assert procs.live_groups() == []
    assert signal.getsignal(signal.SIGTERM) is not None
    del child


def test_missing_program_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot start /no/such/program"):
        procs.Managed(["/no/such/program"], tmp_path / "log")


def test_log_tail_of_missing_file_is_empty(tmp_path: Path) -> None:
    assert procs.log_tail(tmp_path / "none") == ""


def test_free_port_is_bindable() -> None:
    import socket

    port = procs.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_start_stop_and_a_crash_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="releasegate.loadtest.procs")
    sleeper = procs.Managed([sys.executable, "-c", "import time; time.sleep(600)"], tmp_path / "sleeper.log")
    crasher = procs.Managed([sys.executable, "-c", "import sys; sys.exit(3)"], tmp_path / "crasher.log")
    assert crasher.wait(30) == 3
    sleeper.stop(grace=5)
    crasher.stop(grace=5)
    crasher.stop(grace=5)  # idempotent, and logged once
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("INFO", f"started pid {sleeper.pid}: {sys.executable} -c 'import time; time.sleep(600)' "
                    f"(output in {tmp_path / 'sleeper.log'})") in messages
    assert ("INFO", f"pid {sleeper.pid} ({Path(sys.executable).name}) stopped: exit code -15") in messages
    crashes = [m for level, m in messages if level == "WARNING"]
    assert crashes == [f"pid {crasher.pid} ({Path(sys.executable).name}) had exited on its own with code 3; "
                       f"its output is in {tmp_path / 'crasher.log'}"]

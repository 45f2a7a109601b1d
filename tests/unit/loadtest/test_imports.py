"""The light commands never pay for torch, locust, numpy or matplotlib."""
from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import releasegate.cli.validate, releasegate.cli.loadtest, releasegate.loadtest
from releasegate.cli import main
heavy = sorted(m for m in ("torch", "locust", "gevent", "matplotlib", "numpy", "pynvml") if m in sys.modules)
print(",".join(heavy))
"""


def test_cli_modules_import_nothing_heavy() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""

"""Entry point of one HTTP worker process of ``releasegate serve --workers N``.

Not a command a person runs: the model process starts it (``python -m releasegate.cli.serve_worker``)
with its configuration as JSON on stdin (:mod:`releasegate.serve.workers`). It lives here because
only the CLI configures logging; the worker itself is :mod:`releasegate.serve.worker`.
"""
from __future__ import annotations

import json
import sys

from releasegate.cli import configure_logging, set_log_level


def main() -> int:
    from releasegate.serve.worker import run

    config = json.loads(sys.stdin.buffer.read())
    configure_logging(config["log_level"])
    if config["access_log"]:
        set_log_level("releasegate.serve.access", "info")
    return run(config)


if __name__ == "__main__":
    sys.exit(main())

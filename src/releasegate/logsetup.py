"""The one format of releasegate's log lines on stderr (the CLI's and the serving worker processes')."""
from __future__ import annotations

import logging
import sys
import time

LOG_FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s"  # UTC, ISO 8601


def stderr_handler() -> logging.Handler:
    """A handler writing one line per record to stderr: UTC time, level, logger, message."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    return handler

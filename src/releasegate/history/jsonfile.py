"""Atomic JSON files for the caches in ``.git/releasegate/``."""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def write_json(path: Path, data: object) -> None:
    """Write ``data`` atomically (temporary file + rename); a read-only .git only costs speed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(data, separators=(",", ":")))  # dumps uses the C encoder, dump does not
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as e:
        log.debug("cache %s not written (%s): the next run reads Git again", path, e)


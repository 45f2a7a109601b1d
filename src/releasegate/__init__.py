"""releasegate: release ML models through Git.

The library never prints and never imports the CLI framework: it returns result
objects or raises a :class:`releasegate.errors.ReleasegateError`.
"""
from __future__ import annotations

__version__ = "0.1.0"

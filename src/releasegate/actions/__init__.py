"""Entry points of the composite GitHub Actions in ``actions/<name>/action.yml``.

Each module has ``main() -> int`` and does nothing at import time: it reads the
action's inputs from ``RELEASEGATE_*`` environment variables (set by ``env:`` in
the action, never by ``${{ }}`` inside a script), calls the library, writes
annotations, ``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY``, and returns the exit code.
``releasegate action <name>`` runs the same code with the inputs as flags.
"""
from __future__ import annotations

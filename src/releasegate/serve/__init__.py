"""``releasegate serve``: the built-in model server (Open Inference Protocol v2 over HTTP).

Modules that import torch (loader, runner, runtime, models) are imported only by
the serve command; :mod:`releasegate.serve.artifact` stays torch-free for reuse.
"""
from __future__ import annotations

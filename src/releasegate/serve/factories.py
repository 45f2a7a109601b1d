"""Model factories: code that builds the network a weights-only artifact is loaded into.

A factory is found by name in the entry-point group ``releasegate.model_factories``
of the *installed* distributions, never by a file path or ``module:attr`` text, so
a release PR cannot make the server run code that it ships itself. Never imports torch.

The contract for a factory (see docs/serve.md): the entry point names a callable that
takes no arguments and returns a ``torch.nn.Module``; the callable has an attribute
``input_spec``: a sequence of ``{"name", "datatype", "shape"}`` dicts (shape without
the batch dimension) or :class:`~releasegate.serve.tensors.TensorSpec` values.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from releasegate.errors import InputError

GROUP = "releasegate.model_factories"
# releasegate's own factories, as pyproject.toml registers them. Used as well when
# releasegate runs from a source checkout that is not installed as a distribution.
BUILTIN_FACTORIES: dict[str, str] = {
    "bert-base": "releasegate.serve.models:bert_base",
    "encoder-350m": "releasegate.serve.models:encoder_350m",
    "tiny-encoder": "releasegate.serve.models:tiny_encoder",
}
_BUILTIN_SOURCE = "releasegate (built in)"


@dataclass(frozen=True)
class FactoryRef:
    """Where a named factory comes from: entry-point value and distribution."""

    name: str
    value: str
    distribution: str


def _trusted_paths() -> list[str]:
    """``sys.path`` without the working directory, which may be a checkout of untrusted PR content."""
    cwd = os.path.realpath(os.getcwd())
    return [p for p in sys.path if p and os.path.realpath(p) != cwd]


def available_factories() -> dict[str, FactoryRef]:
    """Every factory name -> where it comes from, built-ins included."""
    found: dict[str, FactoryRef] = {}
    for dist in metadata.distributions(path=_trusted_paths()):
        dist_name = dist.metadata["Name"] or "?"
        for ep in dist.entry_points:
            if ep.group != GROUP:
                continue
            ref = FactoryRef(ep.name, ep.value, dist_name)
            _add(found, ref)
    for name, value in BUILTIN_FACTORIES.items():
        existing = found.get(name)
        if existing is None:
            found[name] = FactoryRef(name, value, _BUILTIN_SOURCE)
        elif existing.value != value:
            _add(found, FactoryRef(name, value, _BUILTIN_SOURCE))
    return found


def _add(found: dict[str, FactoryRef], ref: FactoryRef) -> None:
    existing = found.get(ref.name)
    if existing is not None and existing.value != ref.value:
        raise InputError(
            f"--factory {ref.name}: two installed packages provide it "
            f"({existing.distribution}: {existing.value}; {ref.distribution}: {ref.value})",
            "uninstall one of them or give the factories distinct names",
        )
    found.setdefault(ref.name, ref)


def resolve_factory(name: str) -> tuple[Callable[[], Any], FactoryRef]:
    """The factory callable registered as ``name``, and where it comes from."""
    factories = available_factories()
    ref = factories.get(name)
    if ref is None:
        known = ", ".join(sorted(factories)) or "(none)"
        raise InputError(
            f"--factory {name}: no installed package registers a model factory of that name "
            f"(entry-point group {GROUP}; known: {known})",
            "install the package that provides the factory, or pick one of the known names",
        )
    target = metadata.EntryPoint(ref.name, ref.value, GROUP)
    try:
        factory = target.load()
    except (ImportError, AttributeError) as e:
        raise InputError(
            f"--factory {name}: cannot import {ref.value} from {ref.distribution} ({e})",
            "reinstall the package that provides the factory",
        ) from e
    if not callable(factory):
        raise InputError(f"--factory {name}: {ref.value} is not callable", "register a function or class")
    return factory, ref

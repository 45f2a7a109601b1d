"""External runtimes: declared by name in the (base) policy pack, picked by name in a release.

A pull request must never choose what runs on the GPU runner. So the command line, the
URLs and the request template of an external model server live in
``policies/policy-pack.yaml`` under ``runtimes:`` (read from the base commit), and a release
file only says ``spec.runtime.external.name`` plus values for the parameters that runtime
declares, each checked against the pattern or list of values the policy gives::

    runtimes:
      triton:
        command: [tritonserver, --model-repository, "{artifact}", --http-port, "{port}", "{mode}"]
        readinessUrl: "http://127.0.0.1:{port}/v2/health/ready"
        inferUrl: "http://127.0.0.1:{port}/v2/models/{model}/infer"
        parameters:
          mode: {values: ["", --strict-model-config=false], default: ""}

Built-in placeholders: ``{port}``, ``{artifact}``, ``{sha256}``, ``{model}``, ``{version}``. An
argument that was exactly one placeholder and comes out empty is dropped.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from releasegate.errors import InputError

BUILTIN_PLACEHOLDERS = ("port", "artifact", "sha256", "model", "version")
_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")
# Without a pattern or values of its own, a parameter value is a plain word: never an option,
# a path or anything a shell would treat specially (no shell runs it, but the program might).
SAFE_VALUE = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
INLINE_KEYS = ("command", "readinessUrl", "inferUrl", "requestTemplate")


@dataclass(frozen=True)
class Parameter:
    name: str
    values: tuple[str, ...] | None = None
    pattern: str = SAFE_VALUE
    default: str | None = None

    def check(self, value: object, where: str) -> str:
        text = value if isinstance(value, str) else None
        if text is None:
            raise InputError(f"{where}: must be a string", f"quote the value of parameter {self.name}")
        if self.values is not None:
            if text not in self.values:
                raise InputError(f"{where}: {text!r} is not allowed by the policy",
                                 f"use one of {', '.join(repr(v) for v in self.values)} (policies/policy-pack.yaml runtimes)")
        elif not re.fullmatch(self.pattern, text):
            raise InputError(f"{where}: {text!r} does not match the policy's pattern {self.pattern}",
                             "use a value the runtime's declaration in policies/policy-pack.yaml allows")
        return text


@dataclass(frozen=True)
class ExternalRuntime:
    """One ``runtimes:`` entry of the policy pack."""

    name: str
    command: tuple[str, ...]
    readiness_url: str
    infer_url: str
    request_template: str | None = None
    startup_timeout_seconds: float | None = None
    parameters: Mapping[str, Parameter] = field(default_factory=dict)


def parse_runtimes(raw: Mapping[str, Any]) -> dict[str, ExternalRuntime]:
    """The ``runtimes:`` section (already checked by the policy-pack schema)."""
    out = {}
    for name, entry in raw.items():
        params = {
            p: Parameter(p, tuple(spec["values"]) if "values" in spec else None, spec.get("pattern", SAFE_VALUE),
                         spec.get("default"))
            for p, spec in (entry.get("parameters") or {}).items()
        }
        out[name] = ExternalRuntime(name, tuple(entry["command"]), entry["readinessUrl"], entry["inferUrl"],
                                    entry.get("requestTemplate"), entry.get("startupTimeoutSeconds"), params)
    return out


def resolve(release_external: Mapping[str, Any], runtimes: Mapping[str, ExternalRuntime], source: str,
            builtins: Mapping[str, str]) -> dict[str, Any]:
    """The command and URLs of the runtime a release picks, with every placeholder filled in.

    Raises :class:`InputError` naming the field for an unknown runtime, an undeclared
    parameter or a value the policy does not allow.
    """
    inline = [k for k in INLINE_KEYS if k in release_external]
    if inline:
        raise InputError(f"{source}: spec.runtime.external.{inline[0]}: a release cannot give commands or URLs",
                         "declare the runtime by name in policies/policy-pack.yaml (runtimes:) on the base branch, "
                         "and write spec.runtime.external.name here")
    name = release_external.get("name")
    runtime = runtimes.get(name) if isinstance(name, str) else None
    if runtime is None:
        known = ", ".join(sorted(runtimes)) or "none are declared"
        raise InputError(f"{source}: spec.runtime.external.name: no runtime {name!r} in the base policy",
                         f"use one of the runtimes in policies/policy-pack.yaml ({known})")
    values = dict(builtins)
    values.update(parameter_values(runtime, release_external.get("parameters") or {}, source))
    return {
        "command": [a for a in (_fill(arg, values) for arg in runtime.command) if a is not None],
        "readinessUrl": _fill(runtime.readiness_url, values) or "",
        "inferUrl": _fill(runtime.infer_url, values) or "",
        "requestTemplate": runtime.request_template,
        "startupTimeoutSeconds": release_external.get("startupTimeoutSeconds", runtime.startup_timeout_seconds),
        "name": runtime.name,
    }


def parameter_values(runtime: ExternalRuntime, given: Mapping[str, Any], source: str) -> dict[str, str]:
    """The release's parameter values, checked; declared defaults for the rest."""
    if not isinstance(given, Mapping):
        raise InputError(f"{source}: spec.runtime.external.parameters must be a mapping", "write name: value pairs")
    unknown = sorted(set(given) - set(runtime.parameters))
    if unknown:
        declared = ", ".join(sorted(runtime.parameters)) or "none"
        raise InputError(f"{source}: spec.runtime.external.parameters.{unknown[0]}: runtime {runtime.name!r} "
                         "does not declare it", f"parameters it declares: {declared}")
    values: dict[str, str] = {}
    for name, param in runtime.parameters.items():
        if name in given:
            values[name] = param.check(given[name], f"{source}: spec.runtime.external.parameters.{name}")
        elif param.default is not None:
            values[name] = param.default
        else:
            raise InputError(f"{source}: spec.runtime.external.parameters.{name} is required by runtime {runtime.name!r}",
                             "give a value the policy allows")
    return values


def _fill(template: str, values: Mapping[str, str]) -> str | None:
    whole = _PLACEHOLDER.fullmatch(template)
    filled = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    return None if whole and filled == "" else filled

"""Kubernetes naming and quantity rules, checked before anything is rendered."""
from __future__ import annotations

import re

# DNS-1035 label: what Services (and so every name derived from a model) must be.
_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
DNS1035_MAX = 63
# Kubernetes resource.Quantity: <number><suffix>, suffix binary (Ki..Ei), decimal (m, k, M..E)
# or a decimal exponent (e3, E-2).
_QUANTITY = re.compile(
    r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
    r"(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?"
)
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_UNIT_FIXES = {
    "gb": "Gi", "gib": "Gi", "mb": "Mi", "mib": "Mi", "kb": "Ki", "kib": "Ki",
    "tb": "Ti", "tib": "Ti", "g": "Gi", "mi": "Mi",
}


def dns1035_problem(name: str, max_length: int = DNS1035_MAX) -> str | None:
    """Why ``name`` is not a DNS-1035 label of at most ``max_length`` characters, or None."""
    if len(name) > max_length:
        return f"is {len(name)} characters long; at most {max_length} are allowed"
    if not _DNS1035.fullmatch(name):
        return (
            "is not a valid Kubernetes name: use lower-case letters, digits and '-', "
            "starting with a letter and ending with a letter or digit"
        )
    return None


def suggest_name(name: str) -> str:
    """A DNS-1035 label close to ``name`` (for hints)."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    text = re.sub(r"-{2,}", "-", text)
    if not text or not text[0].isalpha():
        text = "m-" + text
    return text[:40].rstrip("-")


def quantity_problem(value: object) -> tuple[str, str] | None:
    """(message, hint) when ``value`` is not a Kubernetes quantity, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return (f"{value!r} is not a resource quantity", "write a number with an optional unit, e.g. 16Gi or 500m")
    text = str(value)
    if _QUANTITY.fullmatch(text):
        return None
    match = re.fullmatch(r"([0-9.]+)\s*([A-Za-z]+)", text)
    if match and match.group(2).lower() in _UNIT_FIXES:
        fixed = match.group(1) + _UNIT_FIXES[match.group(2).lower()]
        return (
            f"{text!r} is not a Kubernetes quantity",
            f"did you mean {fixed}? Units are Ki, Mi, Gi, Ti (powers of 1024) or k, M, G, T (powers of 1000)",
        )
    return (
        f"{text!r} is not a Kubernetes quantity",
        "write a number with an optional unit, e.g. 16Gi, 512Mi, 4 or 500m",
    )


def quantity(value: int | float | str) -> str:
    """The canonical string form written to manifests (``4`` and ``"4"`` render alike)."""
    return str(value)


def label_value(text: str) -> str:
    """``text`` made into a valid label value (at most 63 characters)."""
    cleaned = re.sub(r"[^-A-Za-z0-9_.]", "_", text)[:63]
    cleaned = cleaned.strip("-_.")
    return cleaned if _LABEL_VALUE.fullmatch(cleaned) else ""


_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def mebibytes(size: str) -> int:
    """Whole MiB (rounded up) of a binary quantity such as ``1Gi`` or ``512Mi``."""
    match = re.fullmatch(r"([0-9]+)(Ki|Mi|Gi|Ti)", size)
    if not match:
        raise ValueError(f"not a binary quantity: {size!r}")
    return -(-int(match.group(1)) * _BINARY[match.group(2)] // 2**20)

"""Alertmanager webhook payloads, read defensively: the native v4 body, a GitHub ``repository_dispatch``
event, or its ``client_payload`` (what ``releasegate alert-relay`` dispatches).

A payload is untrusted input. It is read only up to :data:`MAX_BYTES`, must be UTF-8 JSON of bounded
depth, and every field releasegate reads is type-checked; anything else is an :class:`InputError`
naming the JSON path, never a traceback. Unknown fields are ignored (Alertmanager may add some).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from releasegate.errors import InputError

MAX_BYTES = 1024 * 1024
MAX_ALERTS = 1000
MAX_LABELS = 64
MAX_TEXT = 4096  # one label or annotation value
IDENTITY = ("model", "environment", "version", "track")  # what every releasegate alert says it is about
_HINT = "send the Alertmanager webhook body (version 4) or the repository_dispatch event of releasegate alert-relay"


@dataclass(frozen=True)
class Alert:
    """One alert of a notification."""

    status: str  # firing | resolved
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    starts_at: str
    generator_url: str
    fingerprint: str

    def label(self, name: str) -> str | None:
        return next((v for k, v in self.labels if k == name), None)

    def annotation(self, name: str) -> str | None:
        return next((v for k, v in self.annotations if k == name), None)

    @property
    def name(self) -> str:
        return self.label("alertname") or "(no alertname)"

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "labels": dict(self.labels), "annotations": dict(self.annotations),
                "startsAt": self.starts_at, "generatorURL": self.generator_url, "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class Notification:
    """One webhook notification of Alertmanager: a group of alerts."""

    group_key: str
    status: str
    receiver: str
    external_url: str
    alerts: tuple[Alert, ...]
    truncated: int = 0


def parse(data: bytes, source: str = "payload") -> Notification:
    """The notification in ``data``; InputError (exit 2) naming what is wrong."""
    if len(data) > MAX_BYTES:
        raise InputError(f"{source}: {len(data)} bytes, more than the {MAX_BYTES} releasegate reads", _HINT)
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InputError(f"{source}: not UTF-8 ({e.reason} at byte {e.start})", _HINT) from e
    except RecursionError as e:
        raise InputError(f"{source}: JSON nested too deeply", _HINT) from e
    except ValueError as e:
        raise InputError(f"{source}: not JSON ({e})", _HINT) from e
    return notification(_unwrap(doc, source), source)


def _unwrap(doc: Any, source: str) -> Any:
    """The v4 body inside a repository_dispatch event or its client_payload."""
    if isinstance(doc, dict) and isinstance(doc.get("client_payload"), dict):
        doc = doc["client_payload"]
    if isinstance(doc, dict) and "alertmanager" in doc and "alerts" not in doc:
        doc = doc["alertmanager"]
    if not isinstance(doc, dict):
        raise InputError(f"{source}: expected a JSON object, found {type(doc).__name__}", _HINT)
    return doc


def notification(doc: dict[str, Any], source: str = "payload") -> Notification:
    version = doc.get("version")
    if version != "4":
        raise InputError(f"{source}: $.version is {version!r}, not the Alertmanager webhook version \"4\"", _HINT)
    alerts = doc.get("alerts")
    if not isinstance(alerts, list):
        raise InputError(f"{source}: $.alerts must be a list of alerts", _HINT)
    if len(alerts) > MAX_ALERTS:
        raise InputError(f"{source}: {len(alerts)} alerts in one notification, more than {MAX_ALERTS}",
                         "set max_alerts on the webhook receiver in Alertmanager")
    truncated = doc.get("truncatedAlerts", 0)
    return Notification(
        group_key=_text(doc, "groupKey", f"{source}: $", required=False),
        status=_text(doc, "status", f"{source}: $", required=False),
        receiver=_text(doc, "receiver", f"{source}: $", required=False),
        external_url=_text(doc, "externalURL", f"{source}: $", required=False),
        alerts=tuple(_alert(a, f"{source}: $.alerts[{i}]") for i, a in enumerate(alerts)),
        truncated=truncated if isinstance(truncated, int) and not isinstance(truncated, bool) else 0,
    )


def _alert(doc: Any, where: str) -> Alert:
    if not isinstance(doc, dict):
        raise InputError(f"{where}: expected an object", _HINT)
    status = _text(doc, "status", where)
    if status not in ("firing", "resolved"):
        raise InputError(f"{where}.status: {status[:40]!r} is neither firing nor resolved", _HINT)
    return Alert(status, _pairs(doc, "labels", where), _pairs(doc, "annotations", where),
                 _text(doc, "startsAt", where, required=False), _text(doc, "generatorURL", where, required=False),
                 _text(doc, "fingerprint", where, required=False))


def _text(doc: dict[str, Any], key: str, where: str, required: bool = True) -> str:
    value = doc.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{where}.{key}: expected a string, found {type(value).__name__}", _HINT)
    if len(value) > MAX_TEXT:
        raise InputError(f"{where}.{key}: {len(value)} characters, more than {MAX_TEXT}", _HINT)
    return value


def _pairs(doc: dict[str, Any], key: str, where: str) -> tuple[tuple[str, str], ...]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise InputError(f"{where}.{key}: expected an object of strings", _HINT)
    if len(value) > MAX_LABELS:
        raise InputError(f"{where}.{key}: {len(value)} entries, more than {MAX_LABELS}", _HINT)
    for name, text in value.items():
        if not isinstance(text, str) or len(name) > 256 or len(text) > MAX_TEXT:
            raise InputError(f"{where}.{key}.{name[:40]}: expected a string of at most {MAX_TEXT} characters", _HINT)
    return tuple(sorted(value.items()))

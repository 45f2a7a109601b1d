"""Check a ``torch.export`` archive (``.pt2``) before ``torch.export.load`` opens it.

Settled with crafted files on torch 2.13.0 (tests/unit/serve/test_serve_export_archive.py):
``torch.export.load`` unpickles with ``weights_only=False`` (weights and constants marked
``use_pickle``, the sample inputs after a failed weights-only attempt) and with plain
``pickle.loads`` (opaque constants), so a crafted ``.pt2`` runs code as it loads. This check
lets through only what loads without a general unpickler: raw tensor payloads described by
the archive's JSON configs, JSON, the archive's small metadata files, and ``torch.save``
files that ``torch.load(weights_only=True)`` accepts. Anything else (pickled weights or
constants, custom or opaque objects, compiled AOTInductor code, unknown members) is refused.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import PurePosixPath
from typing import Any

import torch

from releasegate.errors import ArtifactError

_METADATA = {"archive_format", "archive_version", "byteorder", "version", "serialization_id", ".data/version",
             ".data/serialization_id"}
_TENSOR_CONSTANT = "tensor_"
_MAX_MEMBER_BYTES = 1 << 31


def check_export_archive(path: str) -> None:
    """Raise :class:`ArtifactError` naming the member unless every part of the archive is data only."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            raw = _raw_payloads(archive, members, path)
            for member in members:
                _check_member(archive, member, raw, path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ArtifactError(f"{path}: not a readable torch.export archive ({e})",
                            "re-export it with torch.export.save") from e


def _raw_payloads(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], path: str) -> set[str]:
    """Members that hold raw tensor bytes, from the weights and constants configs; refuse any pickled entry."""
    raw: set[str] = set()
    for member in members:
        name = PurePosixPath(member.filename)
        if name.name not in ("model_weights_config.json", "model_constants_config.json"):
            continue
        config = _json(archive, member, path).get("config") or {}
        for fqn, meta in config.items():
            payload = str(meta.get("path_name", "")) if isinstance(meta, dict) else ""
            if not isinstance(meta, dict) or meta.get("use_pickle") or \
                    (name.name.startswith("model_constants") and not payload.startswith(_TENSOR_CONSTANT)):
                raise ArtifactError(
                    f"{path}: refusing to load: {fqn!r} in {member.filename} is a pickled object "
                    "(loading it could run code)",
                    "export a model whose weights and constants are plain tensors (torch.export.save of a "
                    "module without custom or opaque objects)")
            raw.add(str(name.parent / payload))
    return raw


def _check_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, raw: set[str], path: str) -> None:
    name = PurePosixPath(member.filename)
    relative = "/".join(name.parts[1:])  # members live under one top-level folder
    if member.filename in raw or name.suffix == ".json" or relative in _METADATA or name.name in _METADATA:
        return
    if member.file_size > _MAX_MEMBER_BYTES:
        raise ArtifactError(f"{path}: refusing to load: {member.filename} is {member.file_size:,} bytes",
                            "export the model with its weights as plain tensors")
    try:
        torch.load(io.BytesIO(archive.read(member)), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any refusal of the weights-only unpickler means: not data only
        raise ArtifactError(
            f"{path}: refusing to load: {member.filename} is not plain tensor data "
            f"(weights-only loading refused it: {type(e).__name__}); loading it could run code",
            "export the model with torch.export.save from a module whose inputs, weights and constants are tensors",
        ) from e


def _json(archive: zipfile.ZipFile, member: zipfile.ZipInfo, path: str) -> dict[str, Any]:
    try:
        value = json.loads(archive.read(member))
    except (ValueError, UnicodeDecodeError) as e:
        raise ArtifactError(f"{path}: {member.filename} is not JSON ({e})", "re-export the model") from e
    if not isinstance(value, dict):
        raise ArtifactError(f"{path}: {member.filename} is not a JSON object", "re-export the model")
    return value

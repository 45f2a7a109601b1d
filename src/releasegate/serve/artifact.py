"""Model artifacts: sha256 digests and format detection. Never imports torch.

Digests themselves (:func:`sha256_file`, :func:`verify_digest`) live in
:mod:`releasegate.digests`, shared with the load test and validate.

Format detection reads only the file's first bytes and, for zip archives, the
names of its members, so nothing in the file is executed or unpickled here.
"""
from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

from releasegate.errors import ArtifactError

TORCH_EXPORT = "torch-export"
TORCHSCRIPT = "torchscript"
SAFETENSORS = "safetensors"
STATE_DICT = "state-dict"
# What ``--format`` accepts; ``auto`` detects one of the others from the file's content.
FORMATS = ("auto", TORCH_EXPORT, TORCHSCRIPT, SAFETENSORS, STATE_DICT)
# Formats whose file holds only weights, so that a model factory builds the network.
WEIGHTS_ONLY_FORMATS = (SAFETENSORS, STATE_DICT)

_PICKLE_PROTO = 0x80
_SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024


def detect_format(path: Path | str) -> str:
    """The artifact format of ``path``, judged from its bytes (never by executing it).

    Raises :class:`ArtifactError` for a file that is no model artifact at all.
    """
    p = Path(path)
    with open(p, "rb") as f:
        head = f.read(16)
    if head[:4] == b"PK\x03\x04":
        return _zip_format(p)
    if _looks_like_safetensors(p, head):
        return SAFETENSORS
    if head[:1] == bytes([_PICKLE_PROTO]):
        return STATE_DICT
    raise ArtifactError(
        f"{p}: not a model artifact (neither a torch.export .pt2, TorchScript, "
        "safetensors nor a torch.save checkpoint)",
        "pass the file that torch.export.save, torch.jit.save or safetensors wrote",
    )


def _zip_format(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise ArtifactError(
            f"{path}: damaged or truncated zip archive ({e})",
            "the file was cut short or corrupted: fetch it again and check its sha256",
        ) from e
    tails = {name.split("/", 1)[-1] for name in names}
    if "archive_format" in tails or any(t.startswith("models/") for t in tails):
        return TORCH_EXPORT
    if "constants.pkl" in tails and any(t.startswith("code/") for t in tails):
        return TORCHSCRIPT
    if "data.pkl" in tails:
        return STATE_DICT
    raise ArtifactError(
        f"{path}: a zip archive, but not one written by torch.export.save, torch.jit.save or torch.save",
        "pass a .pt2 from torch.export.save or a TorchScript file from torch.jit.save",
    )


def _looks_like_safetensors(path: Path, head: bytes) -> bool:
    if len(head) < 9:
        return False
    (header_len,) = struct.unpack("<Q", head[:8])
    if head[8:9] != b"{" or header_len > _SAFETENSORS_MAX_HEADER:
        return False
    return header_len + 8 <= path.stat().st_size


def read_safetensors_header(path: Path | str) -> dict[str, object]:
    """The JSON header of a safetensors file (tensor names, dtypes, shapes), checked for truncation."""
    p = Path(path)
    size = p.stat().st_size
    with open(p, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        raw = f.read(header_len)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArtifactError(f"{p}: damaged safetensors header ({e})", "fetch the file again") from e
    if not isinstance(header, dict):
        raise ArtifactError(f"{p}: damaged safetensors header (not a JSON object)", "fetch the file again")
    end = max((_end_offset(v) for k, v in header.items() if k != "__metadata__"), default=0)
    if 8 + header_len + end > size:
        raise ArtifactError(
            f"{p}: truncated safetensors file ({size} bytes, its header describes {8 + header_len + end})",
            "the file was cut short: fetch it again and check its sha256",
        )
    return header


def _end_offset(entry: object) -> int:
    if isinstance(entry, dict):
        offsets = entry.get("data_offsets")
        if isinstance(offsets, list) and len(offsets) == 2 and isinstance(offsets[1], int):
            return offsets[1]
    return 0

"""The link between an HTTP worker process and the model process: frames over a Unix socket pair.

A frame is a 9-byte header (body length, kind, id; little-endian) and its body. Tensors
travel as their raw bytes in signature order, with no shape or datatype: both sides know the
model's signature, so a request is the row count plus ``rows x row bytes`` per input, and a
result the status plus the same for every output. A frame's body is bounded
(:func:`frame_limit`: ``--max-batch`` rows of every input or output plus room for a message);
a frame over it is a broken peer, never a client's doing (a request of more than
``--max-batch`` rows is refused with 400 before it is framed). Never imports torch.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from releasegate.serve.tensors import TensorSpec

HEADER = struct.Struct("<IBI")  # body bytes, kind, id
ROWS = struct.Struct("<I")
STATUS = struct.Struct("<H")

# worker -> model
HELLO = 1  # id: the worker's index; sent once it listens
INFER = 2  # id: the job; body: rows, then the inputs' bytes
STATS = 3  # body: the worker's request counts and latencies (JSON), for /metrics
METRICS = 4  # id: the ask; body as STATS; the answer is METRICS_TEXT with the same id
# model -> worker
RESULT = 10  # id: the job; body: HTTP status, then the outputs' bytes (200) or a UTF-8 message
METRICS_TEXT = 11  # id: the ask; body: the Prometheus exposition of the whole server

MESSAGE_ROOM = 64 * 1024  # for JSON metric snapshots and error messages


class LinkError(Exception):
    """The peer broke the framing (a bug or a dying process): the link is closed."""


@dataclass(frozen=True)
class Frame:
    kind: int
    id: int
    body: memoryview


def frame_limit(specs: Sequence[TensorSpec], max_batch: int) -> int:
    """The largest body a frame of ``specs`` tensors may have."""
    row_bytes = sum(spec.row_elements * spec.numpy_dtype.itemsize for spec in specs)
    return ROWS.size + max_batch * row_bytes + MESSAGE_ROOM


def frame(kind: int, ident: int, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return HEADER.pack(len(body), kind, ident) + body


def encode_tensors(arrays: Sequence[np.ndarray]) -> bytes:
    """The arrays' row-major little-endian bytes, one after the other."""
    return b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)


def decode_tensors(body: memoryview, specs: Sequence[TensorSpec], rows: int) -> list[np.ndarray]:
    """Cut ``body`` back into one ``(rows, *spec.shape)`` array per spec; LinkError if the size is wrong."""
    arrays = []
    offset = 0
    for spec in specs:
        count = rows * spec.row_elements
        size = count * spec.numpy_dtype.itemsize
        if offset + size > len(body):
            raise LinkError(f"tensor {spec.name!r}: {len(body) - offset} bytes for {rows} rows ({size} expected)")
        array = np.frombuffer(body, dtype=spec.numpy_dtype.newbyteorder("<"), count=count, offset=offset)
        arrays.append(array.reshape((rows, *spec.shape)))
        offset += size
    if offset != len(body):
        raise LinkError(f"{len(body) - offset} bytes after the last tensor")
    return arrays


class FrameReader:
    """Splits a byte stream into frames; refuses a body over ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Frame]:
        """The frames completed by ``data``, in order."""
        self._buffer += data
        view = memoryview(bytes(self._buffer))
        offset = 0
        while len(view) - offset >= HEADER.size:
            size, kind, ident = HEADER.unpack_from(view, offset)
            if size > self.limit:
                raise LinkError(f"a frame of {size} bytes is over the link's {self.limit}-byte limit")
            end = offset + HEADER.size + size
            if end > len(view):
                break
            yield Frame(kind, ident, view[offset + HEADER.size:end])
            offset = end
        del self._buffer[:offset]

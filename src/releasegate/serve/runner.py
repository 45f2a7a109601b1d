"""Run batches of requests through a loaded torch model (imports torch).

Per in-flight slot the runner owns one pre-allocated host buffer per input (page-
locked on CUDA) of the largest batch size: requests are concatenated straight into
it, copied to the device asynchronously, run under ``torch.inference_mode``, and the
outputs copied back asynchronously; the completion thread waits on a CUDA event
(releasing the GIL) instead of stalling the launch thread. With ``compile`` set the
model goes through ``torch.compile`` and batches are padded to power-of-two sizes,
each compiled (and, with CUDA graphs, captured) once at start-up.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from releasegate.errors import ArtifactError, InputError
from releasegate.serve.batching import Job
from releasegate.serve.loader import TORCH_TO_V2, LoadedModel
from releasegate.serve.tensors import TensorSpec

COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune")
_CARRIER = {"BF16": torch.uint16}
WARMUP_CALLS = 3
log = logging.getLogger(__name__)


class _Pending:
    """A launched batch: host copies of its outputs, complete once ``event`` is."""

    def __init__(self, outputs: list[torch.Tensor], rows: int, event: Any) -> None:
        self._outputs = outputs
        self._rows = rows
        self._event = event

    @property
    def ready(self) -> bool:
        """True when the outputs are already on the host (a CPU forward pass)."""
        return self._event is None

    def wait(self) -> list[np.ndarray]:
        if self._event is not None:
            self._event.synchronize()
        if self._event is None:  # CPU: copy, in case an output aliases a reused input buffer
            return [t.numpy()[: self._rows].copy() for t in self._outputs]
        return [t.numpy()[: self._rows] for t in self._outputs]


class TorchRunner:
    """The :class:`~releasegate.serve.batching.Runner` for a :class:`LoadedModel`."""

    slots = 2

    def __init__(self, model: LoadedModel, max_batch: int, compile_mode: str = "off") -> None:
        self.model = model
        self.cuda = model.device.type == "cuda"
        self.max_batch = min(max_batch, model.fixed_batch) if model.fixed_batch else max_batch
        if compile_mode != "off" and not model.compilable:
            raise InputError(
                f"--compile {compile_mode}: a {model.format} program cannot go through torch.compile",
                "leave --compile off, or serve a torch.export (.pt2) program or weights with a factory",
            )
        self.compile_mode = compile_mode
        self.buckets = _buckets(self.max_batch, model.fixed_batch, self.compile_mode != "off")
        self.outputs: tuple[TensorSpec, ...] = ()
        self._module = model.module
        self._keys: tuple[str, ...] | None = None
        self._host = [self._allocate() for _ in range(self.slots)]

    def _allocate(self) -> list[torch.Tensor]:
        size = self.buckets[-1] if self.buckets else self.max_batch
        return [
            torch.zeros(
                (size, *spec.shape),
                dtype=_CARRIER.get(spec.datatype) or _torch_dtype(spec),
                pin_memory=self.cuda,
            )
            for spec in self.model.inputs
        ]

    def prepare(self) -> None:
        """Compile if asked, warm up every batch size, and learn the output signature (launch thread)."""
        if self.cuda and self.model.device.index is not None:
            torch.cuda.set_device(self.model.device.index)  # events and copies on the model's GPU
        if self.compile_mode != "off":
            self._module = torch.compile(self.model.module, mode=self.compile_mode, dynamic=False)
        sizes = self.buckets or sorted({1, self.max_batch})
        for size in sizes:
            # Three calls per size: compile (or TorchScript profiling), then CUDA-graph
            # recording, then a replay, so that no request pays for any of them.
            started = time.perf_counter()
            for _ in range(WARMUP_CALLS):
                outputs = self._warm(size)
            self.outputs = self._output_specs(outputs, size)
            log.debug("warm-up: batch size %d, %d forward passes in %.2f s (compile %s)",
                      size, WARMUP_CALLS, time.perf_counter() - started, self.compile_mode)
        if self.cuda:
            torch.cuda.synchronize()

    def _warm(self, size: int) -> list[torch.Tensor]:
        try:
            return self._forward(0, size)
        except (RuntimeError, ValueError, TypeError, IndexError) as e:
            inputs = ", ".join(f"{s.name}:{s.datatype}{[size, *s.shape]}" for s in self.model.inputs)
            raise ArtifactError(
                f"the {self.model.format} model fails a warm-up forward pass with zeros of {inputs} "
                f"({type(e).__name__}: {' '.join(str(e).split())[:300]})",
                "check --input-spec (or the factory's input_spec) against what the model takes",
            ) from e

    def launch(self, slot: int, jobs: Sequence[Job], rows: int) -> _Pending:
        host = self._host[slot]
        for i, buf in enumerate(host):
            view = buf.numpy()
            if len(jobs) == 1:
                view[:rows] = jobs[0].inputs[i]
            else:
                np.concatenate([job.inputs[i] for job in jobs], axis=0, out=view[:rows])
        padded = self._padded(rows)
        if padded > rows:
            for buf in host:
                buf[rows:padded].zero_()
        outputs = self._forward(slot, padded)
        return self._fetch(outputs, rows)

    def _padded(self, rows: int) -> int:
        for size in self.buckets:
            if size >= rows:
                return size
        return rows

    def _forward(self, slot: int, size: int) -> list[torch.Tensor]:
        with torch.inference_mode():
            args = [self._device_input(buf[:size], spec) for buf, spec in zip(self._host[slot], self.model.inputs)]
            if self.cuda and self.compile_mode in ("reduce-overhead", "max-autotune"):
                torch.compiler.cudagraph_mark_step_begin()
            result = self._module(*args)
            if isinstance(result, dict) and self.model.output_names is None:
                self._keys = tuple(str(k) for k, v in result.items() if isinstance(v, torch.Tensor))
            return [_to_output(t) for t in _flatten(result)]

    def _device_input(self, host: torch.Tensor, spec: TensorSpec) -> torch.Tensor:
        tensor = host.to(self.model.device, non_blocking=True) if self.cuda else host
        if spec.datatype == "BF16":
            tensor = tensor.view(torch.bfloat16)
        if tensor.is_floating_point() and tensor.dtype != self.model.dtype:
            tensor = tensor.to(self.model.dtype)
        return tensor

    def _fetch(self, outputs: list[torch.Tensor], rows: int) -> _Pending:
        if not self.cuda:
            return _Pending(outputs, rows, None)
        host = [t.to("cpu", non_blocking=True) for t in outputs]
        event = torch.cuda.Event()
        event.record()
        return _Pending(host, rows, event)

    def _output_specs(self, outputs: list[torch.Tensor], size: int) -> tuple[TensorSpec, ...]:
        names = self.model.output_names or self._keys or _default_names(len(outputs))
        if len(names) != len(outputs):
            raise ArtifactError(f"the model returns {len(outputs)} outputs but its factory names {len(names)}")
        specs = []
        for name, tensor in zip(names, outputs):
            if tensor.dim() == 0 or tensor.shape[0] != size:
                raise ArtifactError(
                    f"output {name!r} has shape {list(tensor.shape)}: no batch dimension of {size} first",
                    "serve models whose outputs keep the batch dimension first",
                )
            specs.append(TensorSpec(name, TORCH_TO_V2[tensor.dtype], tuple(tensor.shape[1:])))
        return tuple(specs)


def _torch_dtype(spec: TensorSpec) -> torch.dtype:
    from releasegate.serve.loader import V2_TO_TORCH

    return V2_TO_TORCH[spec.datatype]


def _buckets(max_batch: int, fixed: int | None, compiled: bool) -> list[int]:
    if fixed:
        return [fixed]
    if not compiled:
        return []
    sizes = [1 << i for i in range(max_batch.bit_length()) if (1 << i) < max_batch]
    return [*sizes, max_batch]


def _flatten(result: Any) -> list[torch.Tensor]:
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, dict):
        return [t for t in result.values() if isinstance(t, torch.Tensor)]
    if isinstance(result, (tuple, list)):
        return [t for t in result if isinstance(t, torch.Tensor)]
    raise ArtifactError(f"the model returned {type(result).__name__}, not tensors")


def _to_output(tensor: torch.Tensor) -> torch.Tensor:
    """Half-precision outputs leave the server as FP32 (clients rarely speak BF16)."""
    if tensor.dtype in (torch.bfloat16, torch.float16):
        return tensor.float()
    return tensor


def _default_names(count: int) -> tuple[str, ...]:
    return ("output",) if count == 1 else tuple(f"output_{i}" for i in range(count))

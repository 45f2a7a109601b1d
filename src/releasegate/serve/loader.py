"""Load a verified artifact into a callable torch module (imports torch).

Call this only after :func:`releasegate.digests.verify_digest`. Pickled
Python objects are never unpickled: torch.save checkpoints go through
``torch.load(weights_only=True)``, whose unpickler accepts tensors and plain containers only.
"""
from __future__ import annotations

import pickle
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from releasegate.errors import ArtifactError, InputError
from releasegate.serve import artifact
from releasegate.serve.export_archive import check_export_archive
from releasegate.serve.factories import resolve_factory
from releasegate.serve.tensors import TensorSpec, make_spec, spec_from_mapping

TORCH_TO_V2: dict[torch.dtype, str] = {
    torch.bool: "BOOL",
    torch.uint8: "UINT8",
    torch.int8: "INT8",
    torch.int16: "INT16",
    torch.int32: "INT32",
    torch.int64: "INT64",
    torch.float16: "FP16",
    torch.float32: "FP32",
    torch.float64: "FP64",
    torch.bfloat16: "BF16",
}
V2_TO_TORCH = {v: k for k, v in TORCH_TO_V2.items()}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to run: positional inputs in ``inputs`` order, on ``device``."""

    module: Callable[..., Any]
    inputs: tuple[TensorSpec, ...]
    format: str
    device: torch.device
    dtype: torch.dtype
    fixed_batch: int | None = None
    output_names: tuple[str, ...] | None = None
    compilable: bool = True


@dataclass(frozen=True)
class LoadRequest:
    """What ``releasegate serve`` asks to load (the digest is already verified)."""

    path: Path
    format: str = "auto"
    factory: str | None = None
    device: str = "cpu"
    dtype: str = "float32"
    input_spec: tuple[TensorSpec, ...] = ()


def load_model(req: LoadRequest) -> LoadedModel:
    """Load ``req.path`` as its (detected or given) format; raise ArtifactError/InputError on failure."""
    fmt = _check_format(req)
    device = torch.device(req.device)
    dtype = DTYPES[req.dtype]
    if fmt in artifact.WEIGHTS_ONLY_FORMATS:
        loaded = _load_weights(req, fmt)
    elif req.factory:
        raise InputError(
            f"--factory {req.factory}: {req.path} is a {fmt} program that carries its own network",
            "leave out --factory (it is for safetensors and state-dict weights only)",
        )
    elif fmt == artifact.TORCH_EXPORT:
        loaded = _load_export(req)
    else:
        loaded = _load_torchscript(req)
    module = _place(loaded.module, device, dtype, req.path)
    return LoadedModel(
        module, loaded.inputs, fmt, device, dtype, loaded.fixed_batch, loaded.output_names, loaded.compilable
    )


def _check_format(req: LoadRequest) -> str:
    detected = artifact.detect_format(req.path)
    if req.format not in ("auto", detected):
        raise ArtifactError(
            f"{req.path}: --format {req.format} given, but the file is a {detected} artifact",
            f"pass --format {detected} or --format auto",
        )
    return detected


def _place(module: Any, device: torch.device, dtype: torch.dtype, path: Path) -> Any:
    try:
        if dtype != torch.float32:
            module = module.to(dtype=dtype)
        return module.to(device)
    except (RuntimeError, AttributeError, TypeError) as e:
        raise ArtifactError(f"{path}: cannot move the model to {device} as {dtype} ({e})") from e


def _load_export(req: LoadRequest) -> LoadedModel:
    check_export_archive(str(req.path))  # torch.export.load would unpickle with weights_only=False
    try:
        program = torch.export.load(str(req.path))
        if req.device != "cpu":
            from torch.export.passes import move_to_device_pass

            program = move_to_device_pass(program, req.device)
        module = program.module()
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a damaged archive
        raise ArtifactError(
            f"{req.path}: cannot load the torch.export program ({type(e).__name__}: {_short(e)})",
            "re-export it with torch.export.save using the torch version of this server",
        ) from e
    specs, fixed = _export_inputs(program, req)
    return LoadedModel(module, specs, artifact.TORCH_EXPORT, torch.device("cpu"), torch.float32, fixed)


def _export_inputs(program: Any, req: LoadRequest) -> tuple[tuple[TensorSpec, ...], int | None]:
    names = list(program.graph_signature.user_inputs)
    values = {n.name: n.meta.get("val") for n in program.graph.nodes if n.op == "placeholder"}
    fixed: int | None = None
    specs = []
    for name in names:
        val = values.get(name)
        if not isinstance(val, torch.Tensor) or val.dim() == 0:
            raise ArtifactError(
                f"{req.path}: input {name!r} is not a tensor with a batch dimension",
                "export a forward(...) whose inputs are tensors, batch dimension first",
            )
        first = val.shape[0]
        if isinstance(first, int):
            fixed = first if fixed is None else min(fixed, first)
        rest = [d if isinstance(d, int) else -1 for d in val.shape[1:]]
        datatype = TORCH_TO_V2.get(val.dtype)
        if -1 in rest or datatype is None:
            specs.append(TensorSpec(name, datatype or "?", tuple(rest)))
        else:
            specs.append(make_spec(name, datatype, rest, where=f"{req.path}: input {name!r}"))
    return _override(tuple(specs), req), fixed


def _override(found: tuple[TensorSpec, ...], req: LoadRequest) -> tuple[TensorSpec, ...]:
    """``--input-spec`` replaces what the artifact says; it must name the same inputs in order."""
    if req.input_spec:
        if found and [s.name for s in found] != [s.name for s in req.input_spec]:
            raise InputError(
                f"--input-spec names {[s.name for s in req.input_spec]}, but {req.path} takes "
                f"{[s.name for s in found]}",
                "give one --input-spec per model input, in the model's order",
            )
        return req.input_spec
    for spec in found:
        if spec.datatype == "?" or -1 in spec.shape:
            raise InputError(
                f"{req.path}: input {spec.name!r} has a variable non-batch dimension or unknown dtype",
                f"fix its shape with --input-spec {spec.name}:DATATYPE:DIMS",
            )
    return found


def _load_torchscript(req: LoadRequest) -> LoadedModel:
    try:
        module = torch.jit.load(str(req.path), map_location="cpu")
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a damaged archive
        raise ArtifactError(
            f"{req.path}: cannot load the TorchScript program ({type(e).__name__}: {_short(e)})",
            "save it again with torch.jit.save",
        ) from e
    if not req.input_spec:
        raise InputError(
            f"{req.path}: a TorchScript program does not record its input shapes",
            "pass one --input-spec NAME:DATATYPE:DIMS per input, e.g. --input-spec input_ids:INT64:128",
        )
    module.eval()
    return LoadedModel(
        module, req.input_spec, artifact.TORCHSCRIPT, torch.device("cpu"), torch.float32, compilable=False
    )


def _load_weights(req: LoadRequest, fmt: str) -> LoadedModel:
    state = _read_safetensors(req.path) if fmt == artifact.SAFETENSORS else _read_state_dict(req.path)
    if not req.factory:
        raise InputError(
            f"{req.path}: a {fmt} file holds weights only",
            "pass --factory NAME of an installed model factory that builds the network (see docs/serve.md)",
        )
    factory, ref = resolve_factory(req.factory)
    model = factory()
    if not isinstance(model, torch.nn.Module):
        raise InputError(f"--factory {req.factory}: {ref.value} returned {type(model).__name__}, not a torch.nn.Module")
    _load_state(model, state, req)
    model.eval()
    raw_spec = getattr(factory, "input_spec", None)
    found = _factory_specs(raw_spec, req.factory)
    names = getattr(factory, "output_names", None)
    outputs = tuple(str(n) for n in names) if names else None
    return LoadedModel(model, _override(found, req), fmt, torch.device("cpu"), torch.float32, None, outputs)


def _factory_specs(raw: object, name: str) -> tuple[TensorSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Sequence):
        raise InputError(f"--factory {name}: input_spec must be a list", "see docs/serve.md, factory contract")
    return tuple(spec_from_mapping(e, where=f"--factory {name}: input_spec") for e in raw)


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    artifact.read_safetensors_header(path)
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise ArtifactError(f"{path}: damaged safetensors file ({_short(e)})", "fetch it again") from e


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise ArtifactError(
            f"{path}: a pickle of Python objects; releasegate loads only weights-only checkpoints "
            "and refuses to unpickle anything else",
            "ship the model as torch.export (.pt2), TorchScript or safetensors weights, "
            "or save model.state_dict() with torch.save",
        ) from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as e:
        raise ArtifactError(f"{path}: damaged or truncated torch checkpoint ({_short(e)})", "fetch it again") from e
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ArtifactError(
            f"{path}: a weights-only checkpoint, but not a state dict (name -> tensor)",
            "save model.state_dict() with torch.save, or use safetensors",
        )
    return dict(state)


def _load_state(model: torch.nn.Module, state: Mapping[str, torch.Tensor], req: LoadRequest) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ArtifactError(
            f"{req.path}: its weights do not fit --factory {req.factory} ({_short(e)})",
            "pick the factory that built the model these weights came from",
        ) from e


def _short(e: BaseException, limit: int = 300) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."

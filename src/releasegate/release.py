"""Release files: one model in one environment, ``environments/<env>/releases/<model>.yaml``."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from releasegate.errors import InputError
from releasegate.layout import RELEASE_SUFFIX, RepoLayout, parse_release_source, refuse_links
from releasegate.yamlio import YamlDocument, YamlError, load_yaml_bytes, load_yaml_file

API_VERSION = "releasegate/v1"
KIND = "ModelRelease"


@dataclass(frozen=True)
class Release:
    """A parsed release file. ``data`` is only guaranteed to be a mapping; the schema says the rest."""

    source: str
    env: str
    file_model: str
    data: dict[str, Any] = field(repr=False)
    document: YamlDocument = field(repr=False, compare=False)

    @property
    def name(self) -> str | None:
        value = dig(self.data, "metadata", "name")
        return value if isinstance(value, str) else None

    @property
    def version(self) -> str | None:
        value = dig(self.data, "spec", "model", "version")
        return value if isinstance(value, str) else None

    @property
    def sha256(self) -> str | None:
        value = dig(self.data, "spec", "model", "artifact", "sha256")
        return value if isinstance(value, str) else None

    @property
    def model(self) -> str:
        """The model this file is about: its file name, which must equal metadata.name."""
        return self.file_model

    @property
    def stable(self) -> dict[str, Any] | None:
        """``spec.rollout.stable``: the version a canary runs beside (None when there is none)."""
        value = dig(self.data, "spec", "rollout", "stable")
        return value if isinstance(value, dict) else None

    def pins(self) -> list[Pin]:
        """Every (version, digest) this file deploys: the model, and a canary's stable."""
        found = [Pin(("spec", "model"), self.version, self.sha256)]
        stable = self.stable
        if stable is not None:
            version, digest = stable.get("version"), dig(stable, "artifact", "sha256")
            found.append(Pin(("spec", "rollout", "stable"), version if isinstance(version, str) else None,
                             digest if isinstance(digest, str) else None))
        return found


@dataclass(frozen=True)
class Pin:
    """A model version a release file deploys, with its digest; ``at`` is where (``spec.model`` ...)."""

    at: tuple[str, ...]
    version: str | None
    sha256: str | None

    @property
    def digest_path(self) -> tuple[str, ...]:
        return (*self.at, "artifact", "sha256")


def dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]...`` through mappings only; None as soon as a key is missing or a value is not a mapping."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def split_release_path(source: str) -> tuple[str, str]:
    """``environments/<env>/releases/<model>.yaml`` -> ``(env, model)``; InputError otherwise."""
    parsed = parse_release_source(PurePosixPath(source).as_posix())
    if parsed is None:
        raise InputError(
            f"{source}: not a release file path",
            "release files live at environments/<env>/releases/<model>.yaml",
        )
    return parsed


def is_release_path(source: str) -> bool:
    return parse_release_source(PurePosixPath(source).as_posix()) is not None


def parse_release(data: bytes, source: str) -> Release:
    """Parse the bytes of a release file; ``source`` is its repository-relative path."""
    env, model = split_release_path(source)
    return _from_document(load_yaml_bytes(data, source), env, model)


def load_release(layout: RepoLayout, path: Path) -> Release:
    """Load the release file at ``path`` (inside ``layout.root``); a file reached through a link is refused."""
    source = layout.relative(path)
    env, model = split_release_path(source)
    refuse_links(layout.root, [source])
    return _from_document(load_yaml_file(path, source), env, model)


def _from_document(document: YamlDocument, env: str, model: str) -> Release:
    if not isinstance(document.value, dict):
        kind = "a list" if isinstance(document.value, list) else f"a single value ({document.value!r})"
        raise YamlError(document.source, 1, 1, f"the document is {kind}, expected a mapping",
                        "a release file is a YAML mapping with apiVersion, kind, metadata and spec")
    return Release(document.source, env, model, document.value, document)


def iter_release_paths(layout: RepoLayout, envs: Iterable[str] | None = None) -> Iterator[Path]:
    """Release files on disk, sorted by environment then model."""
    for env in sorted(envs) if envs is not None else layout.environment_names():
        directory = layout.releases_dir(env)
        if directory.is_dir():
            yield from sorted(p for p in directory.iterdir() if p.name.endswith(RELEASE_SUFFIX))

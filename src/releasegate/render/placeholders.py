"""Settings that still hold a placeholder: render refuses them unless told they are meant.

The shipped ``policies/render.yaml`` is a template: its repository URL and gateway hostnames are
under ``example.com`` (RFC 2606 names that never resolve) and its server image is the default name,
which no registry publishes. Manifests rendered from them would apply and then fail in the
cluster (a controller that cannot clone, a route nobody can reach, pods in ImagePullBackOff), so
``releasegate render`` stops and names each setting (``--allow-placeholders`` renders anyway).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from releasegate.errors import PlaceholderError
from releasegate.render.config import DEFAULTS, RenderConfig

RESERVED_DOMAINS = ("example.com", "example.net", "example.org")


@dataclass(frozen=True)
class Placeholder:
    setting: str
    value: str
    why: str


def _reserved(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in RESERVED_DOMAINS)


def _url_host(url: str) -> str:
    if "://" in url:
        return urlsplit(url).hostname or ""
    if "@" in url and ":" in url:  # scp-like git@host:path
        return url.split("@", 1)[1].split(":", 1)[0]
    return ""


def find_placeholders(cfg: RenderConfig, envs: list[str]) -> list[Placeholder]:
    """Every setting that still holds a placeholder, in a fixed order."""
    found = []
    reserved = f"a reserved example domain ({', '.join(RESERVED_DOMAINS)})"
    if _reserved(_url_host(cfg.repo_url)):
        found.append(Placeholder("repository.url", cfg.repo_url, reserved))
    for host in cfg.gateway.hostnames if cfg.gateway else ():
        if _reserved(host.replace("{model}", "m").replace("{env}", "e")):
            found.append(Placeholder("gateway.hostnames", host, reserved))
    for env in envs:
        if _reserved(_url_host(cfg.cluster(env))):
            found.append(Placeholder(f"environments.{env}.cluster", cfg.cluster(env), reserved))
    if cfg.image == DEFAULTS["builtin"]["image"]:
        found.append(Placeholder("builtin.image", cfg.image, "the default name, which no registry publishes"))
    return found


def refuse_placeholders(cfg: RenderConfig, envs: list[str]) -> None:
    """Raise :class:`PlaceholderError` naming every placeholder setting, if any."""
    found = find_placeholders(cfg, envs)
    if not found:
        return
    listed = "; ".join(f"{p.setting}: {p.value!r} is {p.why}" for p in found)
    raise PlaceholderError(
        f"policies/render.yaml still holds placeholders: {listed}",
        "set them to your repository, gateway hostnames and the server image by digest (docs/render.md, "
        "\"Placeholders\"), or pass --allow-placeholders to render them anyway (examples and tests)")

"""The built-in http(s) fetcher of the load test: bounded, and never into the runner's own network.

The URI comes from a pull request. Before each request (the first and every redirect,
followed by hand) the host's addresses are resolved and refused when any of them is
private, loopback, link-local (cloud metadata at 169.254.169.254), multicast, reserved or
unspecified, unless the base policy names the host in ``artifacts.allowHosts``. The body is
streamed into a temporary file next to the destination, stopped at ``artifacts.maxBytes``,
and renamed into place only when complete. Residual risk: a host whose DNS answer changes
between the check and the connection (DNS rebinding) is checked only at resolution time.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from releasegate.loadtest.errors import LoadTestError
from releasegate.policy import ArtifactPolicy

TIMEOUT_SECONDS = 60.0
MAX_REDIRECTS = 5
CHUNK = 1 << 20


def download(uri: str, dest: Path, policy: ArtifactPolicy) -> None:
    """Fetch ``uri`` into ``dest`` (atomically); :class:`LoadTestError` for every refusal or failure."""
    import requests

    url = uri
    for _ in range(MAX_REDIRECTS + 1):
        check_host(url, policy)
        try:
            response = requests.get(url, stream=True, timeout=TIMEOUT_SECONDS, allow_redirects=False)
        except requests.RequestException as e:
            raise _unreachable(uri, f"{type(e).__name__}: {e}") from e
        with response:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("location", ""))
                continue
            if response.status_code != 200:
                raise _unreachable(uri, f"HTTP {response.status_code}")
            _save(uri, response.iter_content(CHUNK), dest, policy.max_bytes)
            return
    raise _unreachable(uri, f"more than {MAX_REDIRECTS} redirects")


def check_host(url: str, policy: ArtifactPolicy) -> None:
    """Refuse ``url`` unless its scheme is allowed and its host resolves only to public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.scheme not in policy.schemes:
        raise LoadTestError(f"artifact refused: {url}: scheme {parts.scheme or '(none)'} is not allowed",
                            "allowed: " + ", ".join(policy.schemes), code="artifact-unreachable")
    host = parts.hostname or ""
    if host in policy.allow_hosts:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise _unreachable(url, f"cannot resolve {host!r}") from e
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise LoadTestError(
                f"artifact refused: {url}: {host} resolves to {address}, a private, loopback or link-local address",
                "the load test does not fetch from the runner's own network; name the host in "
                "artifacts.allowHosts of the base policy pack if it is a trusted model store",
                code="artifact-unreachable")


def _save(uri: str, chunks: object, dest: Path, max_bytes: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        size = 0
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:  # type: ignore[attr-defined]
                size += len(chunk)
                if size > max_bytes:
                    raise LoadTestError(f"artifact refused: {uri} is larger than artifacts.maxBytes ({max_bytes:,})",
                                        "raise artifacts.maxBytes in the base policy pack if the model really is that large",
                                        code="artifact-unreachable")
                f.write(chunk)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _unreachable(uri: str, why: str) -> LoadTestError:
    return LoadTestError(f"artifact unreachable: {uri}: {why}", "check the URI and that the host serves it",
                         code="artifact-unreachable")

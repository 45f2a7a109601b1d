"""The Kubernetes Pod Security Standards, "restricted" level, for pod templates (a test oracle).

Written from the published standard (kubernetes.io/docs/concepts/security/pod-security-standards,
the checks of k8s.io/pod-security-admission): what the admission controller of a namespace labelled
``pod-security.kubernetes.io/enforce: restricted`` rejects. Returns every violation of one pod spec.
"""
from __future__ import annotations

from typing import Any

ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                   "projected", "secret"}
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod.get("containers", []), *pod.get("ephemeralContainers", [])]


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """Why the restricted level would reject a pod with this spec (empty: admitted)."""
    out = []
    psc = pod.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            out.append(f"{key} is true")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            out.append(f"volume {volume['name']}: type {sorted(kinds - ALLOWED_VOLUMES)} is not allowed")
    for sysctl in psc.get("sysctls", []):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            out.append(f"sysctl {sysctl.get('name')} is not safe")
    for c in _containers(pod):
        out += [f"container {c['name']}: {v}" for v in _container_violations(c, psc)]
    if psc.get("runAsUser") == 0:
        out.append("pod runAsUser is 0")
    return out


def _seccomp_ok(profile: dict[str, Any] | None) -> bool:
    return bool(profile) and profile.get("type") in ("RuntimeDefault", "Localhost")


def _container_violations(c: dict[str, Any], psc: dict[str, Any]) -> list[str]:
    sc = c.get("securityContext") or {}
    out = []
    if sc.get("privileged"):
        out.append("privileged")
    if sc.get("allowPrivilegeEscalation") is not False:
        out.append("allowPrivilegeEscalation is not false")
    caps = sc.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        out.append("capabilities do not drop ALL")
    if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
        out.append(f"capabilities add {caps['add']}")
    if not sc.get("runAsNonRoot", psc.get("runAsNonRoot")):
        out.append("runAsNonRoot is not true (container or pod)")
    if sc.get("runAsUser") == 0:
        out.append("runAsUser is 0")
    if not _seccomp_ok(sc.get("seccompProfile")) and not (
            "seccompProfile" not in sc and _seccomp_ok(psc.get("seccompProfile"))):
        out.append("seccompProfile is not RuntimeDefault or Localhost (container or pod)")
    if any(p.get("hostPort") for p in c.get("ports", [])):
        out.append("hostPort is set")
    if sc.get("procMount") not in (None, "Default"):
        out.append("procMount is not Default")
    return out

"""URLs of ``service`` gate targets, for the operator's ``service_url`` callable. Pure: no I/O here.

``dns`` reaches ``<scheme>://<name>.<namespace>.svc:<port><path>`` (needs the operator in the cluster and a
numeric port: resolve a named port with :func:`service_port` from the Service object). ``proxy`` goes through
the API server's service proxy, which accepts a port name itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from deployreq.gates.base import GateError


def service_port(service: dict[str, Any], port: int | str) -> int:
    """The number of a Service port given by number or name; GateError when the Service has no such port."""
    ports = (service.get("spec") or {}).get("ports") or []
    for entry in ports:
        if port in (entry.get("name"), entry.get("port")):
            return int(entry["port"])
    name = (service.get("metadata") or {}).get("name", "?")
    raise GateError(f"Service {name} has no port {port!r}")


def dns_service_url(namespace: str, name: str, port: int, *, scheme: str, path: str) -> str:
    return f"{scheme}://{name}.{namespace}.svc:{port}{path}"


def proxy_service_url(
    api_base: str, namespace: str, name: str, port: int | str, *, scheme: str, path: str
) -> str:
    """``<api>/api/v1/namespaces/<ns>/services/[https:]<name>:<port>/proxy<path>``."""
    prefix = "https:" if scheme == "https" else ""
    target = quote(f"{prefix}{name}:{port}", safe=":")
    return f"{api_base.rstrip('/')}/api/v1/namespaces/{namespace}/services/{target}/proxy{path}"

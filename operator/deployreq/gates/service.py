"""URLs of ``service`` gate targets and where they lead, for the operator's ``service_url`` callable. Pure.

``dns`` reaches ``<scheme>://<name>.<namespace>.svc:<port><path>`` (needs the operator in the cluster and a
numeric port: resolve a named port with :func:`service_port` from the Service object). ``proxy`` goes through
the API server's service proxy, which accepts a port name itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from deployreq.gates.base import GateError
from deployreq.gates.guard import IPAddress, literal_address


def service_port(service: dict[str, Any], port: int | str) -> int:
    """The number of a Service port given by number or name; GateError when the Service has no such port."""
    ports = (service.get("spec") or {}).get("ports") or []
    for entry in ports:
        if port in (entry.get("name"), entry.get("port")):
            return int(entry["port"])
    name = (service.get("metadata") or {}).get("name", "?")
    raise GateError(f"Service {name} has no port {port!r}")


_UNSPECIFIED = ipaddress.IPv4Address(0)


def service_external_name(service: dict[str, Any]) -> str | None:
    """The host an ``ExternalName`` Service aliases, or None for any other type."""
    spec = service.get("spec") or {}
    if spec.get("type") != "ExternalName":
        return None
    return str(spec.get("externalName") or "")


def endpoint_addresses(endpoints: dict[str, Any]) -> Iterator[tuple[IPAddress, int | None]]:
    """Every (address, port) of an Endpoints object, ready or not (the proxy may pick any ready one later).

    An address that does not parse is yielded as the unspecified address, which the guard refuses.
    """
    for subset in endpoints.get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or [] if isinstance(p.get("port"), int)] or [None]
        for entry in [*(subset.get("addresses") or []), *(subset.get("notReadyAddresses") or [])]:
            address = literal_address(str(entry.get("ip", ""))) or _UNSPECIFIED
            for port in ports:
                yield address, port


def dns_service_url(namespace: str, name: str, port: int, *, scheme: str, path: str) -> str:
    return f"{scheme}://{name}.{namespace}.svc:{port}{path}"


def proxy_service_url(
    api_base: str, namespace: str, name: str, port: int | str, *, scheme: str, path: str
) -> str:
    """``<api>/api/v1/namespaces/<ns>/services/[https:]<name>:<port>/proxy<path>``."""
    prefix = "https:" if scheme == "https" else ""
    target = quote(f"{prefix}{name}:{port}", safe=":")
    return f"{api_base.rstrip('/')}/api/v1/namespaces/{namespace}/services/{target}/proxy{path}"

"""The gate settings: one frozen object, built once from the operator's flags and passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ServiceTransport = Literal["dns", "proxy"]


@dataclass(frozen=True)
class GateSettings:
    """What the operator's flags say about gates."""

    allow_cidrs: tuple[str, ...] = ()
    """``--gate-allow-cidr``: ranges the SSRF guard lets through although a built-in rule refuses them
    (e.g. ``127.0.0.0/8`` for a test cluster). A metadata address passes only by a single-address range."""

    deny_cidrs: tuple[str, ...] = ()
    """``--gate-deny-cidr``: ranges always refused, whatever else allows them (e.g. the node network)."""

    prometheus_url: str | None = None
    """``--prometheus-url``: the Prometheus a gate without ``address`` queries. Set by the cluster admin, so
    trusted: the guard does not check its origin (redirects elsewhere are checked)."""

    prometheus_allowed_addresses: tuple[str, ...] = ()
    """``--prometheus-allowed-address``: the only per-gate ``address`` values accepted (compared without a
    trailing slash); such an address must also pass the guard."""

    allow_skip: bool = False
    """``--allow-gate-skip``: permits ``spec.gates.skip: true`` (emergency deploys without any gate)."""

    service_transport: ServiceTransport = "dns"
    """How a ``service`` target is reached: ``dns`` (``http://name.ns.svc:port/path``, needs the operator in
    the cluster) or ``proxy`` (the API server's service proxy, works from outside the cluster)."""

    max_connections: int = 50
    """Connection-pool limit of each shared HTTP client."""

    user_agent: str = "deployreq-gates/0.1"
    """User-Agent header of every gate request."""

    max_body_bytes: int = 1024 * 1024
    """Response bytes read at most; a longer body is cut there before bodyContains/bodyRegex/jsonPath run."""

    extra_metadata_hosts: tuple[str, ...] = field(default=())
    """Host names refused as cloud metadata endpoints in addition to the built-in list."""

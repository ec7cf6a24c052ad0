"""The ``deployreq run`` flags of the gates, and the :class:`GateSettings` built from them once at startup."""

from __future__ import annotations

import argparse

from deployreq.gates.guard import Guard
from deployreq.gates.settings import GateSettings


def add_gate_flags(parser: argparse.ArgumentParser) -> None:
    """Add the gate flags to the ``run`` parser."""
    group = parser.add_argument_group("health gates")
    group.add_argument(
        "--gate-allow-cidr",
        action="append",
        default=[],
        metavar="CIDR",
        help="let gate requests reach this range although a built-in SSRF rule refuses it "
        "(repeatable; a metadata address only by its own /32 or /128)",
    )
    group.add_argument(
        "--gate-deny-cidr",
        action="append",
        default=[],
        metavar="CIDR",
        help="never let gate requests reach this range (repeatable; wins over --gate-allow-cidr)",
    )
    group.add_argument(
        "--prometheus-url",
        default=None,
        metavar="URL",
        help="the Prometheus queried by prometheus gates without an address",
    )
    group.add_argument(
        "--prometheus-allowed-address",
        action="append",
        default=[],
        metavar="URL",
        help="a Prometheus address gates may name (repeatable); it must also pass the SSRF guard",
    )
    group.add_argument(
        "--allow-gate-skip",
        action="store_true",
        help="permit spec.gates.skip: true (emergency deploys without gates)",
    )
    group.add_argument(
        "--gate-service-transport",
        choices=("dns", "proxy"),
        default="dns",
        help="how gates reach service targets (default dns): dns calls http://NAME.NS.svc:PORT, resolved and "
        "checked by the SSRF guard, and needs the operator inside the cluster; proxy goes through the API "
        "server's service proxy (/api/v1/namespaces/NS/services/NAME:PORT/proxy/...) with the operator's own "
        "credentials: it needs the services/proxy and endpoints rights of manifests/components/service-proxy, "
        "checks every Endpoints address with the guard, refuses ExternalName Services and never follows a "
        "redirect; use it only when the operator runs outside the cluster (development, kubesim)",
    )
    group.add_argument(
        "--gate-max-connections",
        type=int,
        default=50,
        metavar="N",
        help="connection-pool limit of the gate HTTP clients (default 50)",
    )


def gate_settings_from(args: argparse.Namespace) -> GateSettings:
    """The settings of parsed flags; ValueError naming the flag when a CIDR does not parse."""
    settings = GateSettings(
        allow_cidrs=tuple(args.gate_allow_cidr),
        deny_cidrs=tuple(args.gate_deny_cidr),
        prometheus_url=args.prometheus_url,
        prometheus_allowed_addresses=tuple(args.prometheus_allowed_address),
        allow_skip=bool(args.allow_gate_skip),
        service_transport=args.gate_service_transport,
        max_connections=args.gate_max_connections,
    )
    Guard.from_flags(settings.allow_cidrs, settings.deny_cidrs)  # fail at startup, not at the first gate
    return settings

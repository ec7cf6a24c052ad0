"""Gate flags become GateSettings; service targets become URLs."""

from __future__ import annotations

import argparse

import pytest

from deployreq import gates
from deployreq.gates import GateError
from deployreq.gates.flags import add_gate_flags, gate_settings_from
from deployreq.gates.service import dns_service_url, proxy_service_url, service_port


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_gate_flags(parser)
    return parser.parse_args(argv)


def test_flags_build_the_settings() -> None:
    settings = gate_settings_from(
        parse(
            "--gate-allow-cidr",
            "127.0.0.0/8",
            "--gate-allow-cidr",
            "::1/128",
            "--gate-deny-cidr",
            "10.0.0.0/16",
            "--prometheus-url",
            "http://prom:9090",
            "--prometheus-allowed-address",
            "http://other:9090",
            "--allow-gate-skip",
            "--gate-service-transport",
            "proxy",
        )
    )
    assert settings.allow_cidrs == ("127.0.0.0/8", "::1/128")
    assert settings.deny_cidrs == ("10.0.0.0/16",)
    assert settings.prometheus_url == "http://prom:9090"
    assert settings.prometheus_allowed_addresses == ("http://other:9090",)
    assert settings.allow_skip and settings.service_transport == "proxy"


def test_defaults_allow_nothing_extra() -> None:
    settings = gate_settings_from(parse())
    assert (settings.allow_cidrs, settings.allow_skip, settings.service_transport) == ((), False, "dns")


def test_a_bad_cidr_fails_at_startup() -> None:
    with pytest.raises(ValueError, match="--gate-allow-cidr 'localhost' is not a CIDR"):
        gate_settings_from(parse("--gate-allow-cidr", "localhost"))


def test_service_urls_for_dns_and_the_api_proxy() -> None:
    service = {"metadata": {"name": "web"}, "spec": {"ports": [{"name": "http", "port": 8080}]}}
    assert service_port(service, "http") == 8080
    assert service_port(service, 8080) == 8080
    with pytest.raises(GateError, match="Service web has no port 'grpc'"):
        service_port(service, "grpc")
    assert (
        dns_service_url("shop", "web", 8080, scheme="http", path="/healthz")
        == "http://web.shop.svc:8080/healthz"
    )
    assert proxy_service_url("https://api:6443/", "shop", "web", "http", scheme="https", path="/healthz") == (
        "https://api:6443/api/v1/namespaces/shop/services/https:web:http/proxy/healthz"
    )


def test_the_public_surface_is_pinned() -> None:

    assert sorted(gates.__all__) == sorted(
        [
            "Check",
            "Clock",
            "GATE_SECRET_LABEL",
            "GateClients",
            "GateEnv",
            "GateError",
            "GatePhase",
            "GateRecord",
            "GateSettings",
            "Guard",
            "Observation",
            "RefusedError",
            "Stage",
            "StageResult",
            "SystemClock",
            "Thresholds",
            "add_gate_flags",
            "api_server_endpoints",
            "build_check",
            "dns_service_url",
            "endpoint_addresses",
            "gate_kind",
            "gate_settings_from",
            "make_clients",
            "proxy_service_url",
            "run_stage",
            "service_external_name",
            "service_port",
            "skip_refusal",
            "validate_gates",
        ]
    )
    assert all(hasattr(gates, name) for name in gates.__all__)

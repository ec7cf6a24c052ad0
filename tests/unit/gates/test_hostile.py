"""Gates turned against the operator: the API server as a target, IPv6 metadata, odd redirects, echoed Secrets.

Each test is one way a user who may only create requests and Services could try to borrow the operator's
credentials or network position, and what the gate reports instead.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
import pytest

from deployreq.gates import (
    GateSettings,
    Guard,
    api_server_endpoints,
    build_check,
    endpoint_addresses,
    run_stage,
    service_external_name,
)
from deployreq.gates.base import GateEnv, Observation
from deployreq.gates.redact import Redactor, excerpt
from deployreq.gates.runner import observe_bounded
from tests.unit.gates.fakes import FakeResolver, http_gate, make_env, no_http

API = (ipaddress.ip_address("127.0.0.1"), 6443)


async def observe(env: GateEnv, **http: Any) -> Observation:
    return await observe_bounded(build_check(http_gate(**http)), env, 5.0)


def with_api_guard(env: GateEnv, resolver: FakeResolver | None = None) -> GateEnv:
    settings = GateSettings(allow_cidrs=("127.0.0.0/8",))
    guard = Guard.from_settings(settings, resolver=resolver).with_api_server([API])
    return GateEnv(
        namespace=env.namespace,
        clients=env.clients,
        guard=guard,
        settings=settings,
        secret_value=env.secret_value,
        new_pods=env.new_pods,
        service_url=env.service_url,
    )


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:6443/api/v1/secrets", "http://[::ffff:127.0.0.1]:6443/", "http://2130706433:6443/"],
)
async def test_the_api_server_is_refused_even_where_its_range_is_allowed(url: str) -> None:
    env = with_api_guard(make_env(no_http))
    obs = await observe(env, url=url)
    assert obs.passed is False and obs.final
    assert "is the Kubernetes API server (gates never call the API)" in obs.error
    await env.clients.aclose()


async def test_another_port_of_the_api_servers_address_stays_reachable_when_allowed() -> None:
    env = with_api_guard(make_env(lambda r: httpx.Response(200)))
    assert (await observe(env, url="http://127.0.0.1:8080/ready")).passed
    await env.clients.aclose()


async def test_a_redirect_to_the_api_server_is_refused_at_that_hop() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(307, headers={"Location": "http://127.0.0.1:6443/apis/coordination.k8s.io/v1"})

    env = with_api_guard(make_env(handler))
    obs = await observe(env, url="http://127.0.0.1:8080/ready", method="POST", body={"a": 1})
    assert obs.passed is False and "Kubernetes API server" in obs.error
    assert seen == ["http://127.0.0.1:8080/ready"]
    await env.clients.aclose()


async def test_api_server_endpoints_come_from_the_server_urls() -> None:
    resolver = FakeResolver({"api.example.test": ["10.0.0.1", "fd00::1"]})
    found = await api_server_endpoints(
        ["https://api.example.test:6443", "https://10.96.0.1:443", "https://unknown.test", "not a url"],
        resolver=resolver,
    )
    assert found == {
        (ipaddress.ip_address("10.0.0.1"), 6443),
        (ipaddress.ip_address("fd00::1"), 6443),
        (ipaddress.ip_address("10.96.0.1"), 443),
    }


@pytest.mark.parametrize("address", ["fd00:ec2::254", "fd20:ce::254", "fd00:ec2::23", "[fd00:ec2::254]"])
async def test_ipv6_metadata_addresses_are_refused_although_unique_local_is_allowed(address: str) -> None:
    host = address if address.startswith("[") else f"[{address}]"
    env = make_env(no_http)
    obs = await observe(env, url=f"http://{host}/latest/meta-data/")
    assert obs.passed is False and obs.final and "a cloud metadata address" in obs.error
    # ...and a wide allow range does not open them
    wide = Guard.from_flags(allow_cidrs=["fd00::/8"])
    assert wide.refusal(ipaddress.ip_address(address.strip("[]"))) is not None
    assert wide.refusal(ipaddress.ip_address("fd00:1234::5")) is None
    await env.clients.aclose()


@pytest.mark.parametrize(
    "location", ["http:\\\\127.0.0.1/x", "http://a\r\nb/", "http://[::1", "ftp://x/", "\x00"]
)
async def test_a_malformed_redirect_fails_the_check_with_a_clear_error(
    location: str, caplog: pytest.LogCaptureFixture
) -> None:
    env = make_env(lambda r: httpx.Response(302, headers={"Location": location}))
    obs = await observe(env, url="http://app.example.test/")
    assert obs.passed is False
    assert obs.error.startswith("redirect to"), obs.error
    assert "internal error" not in obs.error and "Traceback" not in caplog.text
    await env.clients.aclose()


async def test_an_echoed_secret_is_masked_in_value_and_error() -> None:
    secret = "hunter2-very-secret"

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"auth": request.headers["x-key"], "ok": False})

    env = make_env(echo, secrets={("api", "k"): secret})
    gate = http_gate(
        url="http://app.example.test/",
        jsonPath="$.auth",
        jsonValue="expected",
        headers=[{"name": "X-Key", "valueFrom": {"secretKeyRef": {"name": "api", "key": "k"}}}],
    ) | {"failureThreshold": 1}
    result = await run_stage([gate], "pre", env)
    assert not result.passed
    text = repr(result.statuses()) + result.message
    assert secret not in text
    assert "$.auth is '***', expected 'expected'" in result.message
    await env.clients.aclose()


async def test_what_a_target_returns_reaches_status_only_as_a_short_excerpt() -> None:
    long_value = "x" * 5000 + "\x1b[31m"
    env = make_env(lambda r: httpx.Response(200, json={"v": long_value}))
    obs = await observe(env, url="http://app.example.test/", jsonPath="$.v", jsonValue="y")
    assert obs.passed is False
    assert len(obs.value) == 64 and obs.value.endswith("…")
    assert len(obs.error) < 200 and "\x1b" not in obs.error
    await env.clients.aclose()


def test_the_redactor_masks_every_remembered_value_and_its_json_form() -> None:
    redact = Redactor()
    redact.remember('pa"ss')
    redact.remember("  ")  # blank values mask nothing
    assert redact('got pa"ss and {"v": "pa\\"ss"}') == 'got *** and {"v": "***"}'
    assert excerpt("a\nb") == "a?b"


def test_service_helpers_name_external_names_and_every_endpoint_address() -> None:
    assert service_external_name({"spec": {"type": "ExternalName", "externalName": "db.example"}}) == (
        "db.example"
    )
    assert service_external_name({"spec": {"type": "ClusterIP"}}) is None
    endpoints = {
        "subsets": [
            {
                "addresses": [{"ip": "10.1.0.4"}],
                "notReadyAddresses": [{"ip": "169.254.169.254"}, {"ip": "garbage"}],
                "ports": [{"port": 8080}],
            }
        ]
    }
    assert [(str(a), p) for a, p in endpoint_addresses(endpoints)] == [
        ("10.1.0.4", 8080),
        ("169.254.169.254", 8080),
        ("0.0.0.0", 8080),
    ]

"""The http gate: status, body, regex and JSON checks, webhooks, Services, Secrets in headers, timeouts."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

import httpx
import pytest
from aiohttp import web

from deployreq.gates import GateError, GateSettings, build_check, run_stage
from deployreq.gates.base import GateEnv, Observation
from deployreq.gates.runner import observe_bounded
from tests.unit.gates.fakes import FakeResolver, http_gate, make_env, no_http


async def observe(env: GateEnv, **http: Any) -> Observation:
    check = build_check(http_gate(**http))
    return await observe_bounded(check, env, 5.0)


async def test_expected_status_passes_and_other_statuses_fail() -> None:
    env = make_env(lambda r: httpx.Response(204))
    assert await observe(env, url="http://app.example.test/", expectedStatus=[200, 204]) == Observation(
        True, "HTTP 204"
    )
    failed = await observe(env, url="http://app.example.test/")
    assert failed == Observation(False, "HTTP 204", "status 204, expected [200]")
    await env.clients.aclose()


async def test_body_contains_and_regex_judge_the_text() -> None:
    env = make_env(lambda r: httpx.Response(200, text="status: ok, build 42"))
    assert (await observe(env, url="http://app.example.test/", bodyContains="ok")).passed
    assert (await observe(env, url="http://app.example.test/", bodyRegex=r"build \d+")).passed
    missing = await observe(env, url="http://app.example.test/", bodyContains="healthy")
    assert missing.passed is False and "does not contain 'healthy'" in missing.error
    nomatch = await observe(env, url="http://app.example.test/", bodyRegex=r"^ready$")
    assert nomatch.passed is False and "does not match" in nomatch.error
    await env.clients.aclose()


@pytest.mark.parametrize(
    ("path", "expected", "passed"),
    [
        ("$.status", "ok", True),
        (".status", "ok", True),
        ("$.checks.db.ready", "true", True),
        ("$.items[1].name", "b", True),
        ("$.count", "3", True),
        ("$['x-y']", "z", True),
        ("$.status", "down", False),
        ("$.nothing", "x", False),
    ],
)
async def test_json_path_compares_the_value_as_a_string(path: str, expected: str, passed: bool) -> None:
    doc = {
        "status": "ok",
        "checks": {"db": {"ready": True}},
        "items": [{"name": "a"}, {"name": "b"}],
        "count": 3,
        "x-y": "z",
    }
    env = make_env(lambda r: httpx.Response(200, json=doc))
    obs = await observe(env, url="http://app.example.test/", jsonPath=path, jsonValue=expected)
    assert obs.passed is passed, obs
    await env.clients.aclose()


async def test_a_non_json_body_fails_a_json_path_gate() -> None:
    env = make_env(lambda r: httpx.Response(200, text="<html>"))
    obs = await observe(env, url="http://app.example.test/", jsonPath="$.a", jsonValue="b")
    assert obs == Observation(False, "HTTP 200", "the response is not JSON")
    await env.clients.aclose()


async def test_a_webhook_gate_posts_its_body_as_json() -> None:
    received: list[tuple[str, str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append((request.method, request.headers["content-type"], json.loads(request.content)))
        return httpx.Response(200, json={"approved": True})

    env = make_env(handler)
    obs = await observe(
        env,
        url="http://app.example.test/hook",
        method="POST",
        body={"deploy": "web"},
        jsonPath="$.approved",
        jsonValue="true",
    )
    assert obs.passed
    assert received == [("POST", "application/json", {"deploy": "web"})]
    await env.clients.aclose()


async def test_a_service_target_goes_to_the_url_the_operator_builds_pinned_by_the_guard() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers["host"]))
        return httpx.Response(200)

    resolver = FakeResolver({"web.ns.svc": ["10.0.0.7"]})
    env = make_env(handler, resolver=resolver)
    obs = await observe(env, service={"name": "web", "port": "http", "path": "/ready"})
    assert obs.passed
    # the named port resolved to 80 by the operator; the name resolved and checked by the guard
    assert seen == [("http://10.0.0.7/ready", "web.ns.svc")]
    assert resolver.asked == ["web.ns.svc"]
    await env.clients.aclose()


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "a loopback address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
    ],
)
async def test_a_service_whose_name_resolves_to_a_refused_address_is_refused(address: str, rule: str) -> None:
    env = make_env(no_http, resolver=FakeResolver({"web.ns.svc": [address]}))
    obs = await observe(env, service={"name": "web", "port": 80, "path": "/ready"})
    assert obs.passed is False and obs.final
    assert obs.error.startswith(f"refused: web.ns.svc resolves to {address} is {rule}")
    await env.clients.aclose()


@pytest.mark.parametrize("path", ["/../../secrets", "/a/%2e%2e/b", "/a%2Fb"])
async def test_a_service_path_cannot_climb_out_of_the_service(path: str) -> None:
    env = make_env(lambda r: httpx.Response(200))
    obs = await observe(env, service={"name": "web", "port": 80, "path": path})
    assert obs.passed is False and obs.final and "may not contain" in obs.error
    await env.clients.aclose()


async def test_secret_headers_reach_the_server_and_never_the_logs_or_status(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "s3cr3t-t0ken-value"
    received: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request.headers["authorization"])
        return httpx.Response(500, text="nope")

    env = make_env(handler, secrets={("api", "token"): f"Bearer {secret}"})
    gate = http_gate(
        url="http://app.example.test/",
        headers=[
            {"name": "Authorization", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
            {"name": "X-Plain", "value": "visible"},
        ],
    ) | {"failureThreshold": 1}
    updates: list[list[dict[str, object]]] = []

    async def on_update(statuses: list[dict[str, object]]) -> None:
        updates.append(statuses)

    with caplog.at_level(logging.DEBUG):
        result = await run_stage([gate], "pre", env, on_update=on_update)
    assert received == [f"Bearer {secret}"]
    assert not result.passed
    assert secret not in caplog.text
    assert secret not in json.dumps(updates) + result.message
    await env.clients.aclose()


async def test_a_missing_secret_fails_without_guessing() -> None:
    env = make_env(lambda r: httpx.Response(200))
    gate = http_gate(
        url="http://app.example.test/",
        headers=[{"name": "X-Key", "valueFrom": {"secretKeyRef": {"name": "api", "key": "k"}}}],
    )
    result = await run_stage([gate | {"failureThreshold": 1}], "pre", env)
    assert not result.passed
    assert (
        'header X-Key: Secret "api" key "k" is not available to gates: it must exist in namespace ns, '
        "carry the label deployreq.dev/gate-secret=true and hold that key" in result.message
    )
    await env.clients.aclose()


async def test_headers_are_dropped_on_a_redirect_to_another_origin() -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["host"], request.headers.get("x-key")))
        if request.headers["host"] == "app.example.test":
            return httpx.Response(302, headers={"Location": "http://prom.example.test/next"})
        return httpx.Response(200)

    env = make_env(handler)
    obs = await observe(env, url="http://app.example.test/", headers=[{"name": "X-Key", "value": "k"}])
    assert obs.passed
    assert seen == [("app.example.test", "k"), ("prom.example.test", None)]
    await env.clients.aclose()


async def test_a_slow_server_times_the_check_out() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    env = make_env(slow)  # type: ignore[arg-type]
    gate = http_gate(url="http://app.example.test/") | {"timeoutSeconds": 1, "failureThreshold": 1}
    result = await asyncio.wait_for(run_stage([gate], "pre", env), timeout=10)
    assert not result.passed
    assert "timed out after 1s" in result.message
    await env.clients.aclose()


async def test_a_refused_connection_is_a_failure_with_the_cause() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    env = make_env(handler)
    obs = await observe(env, url="http://app.example.test/")
    assert obs == Observation(False, "", "ConnectError: Connection refused")
    await env.clients.aclose()


def test_a_bad_regex_is_a_spec_error() -> None:
    with pytest.raises(GateError, match="bodyRegex does not compile"):
        build_check(http_gate(url="http://app.example.test/", bodyRegex="("))


async def test_a_real_request_connects_to_the_checked_address_and_keeps_the_host_name() -> None:
    seen: list[str] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append(request.headers["Host"])
        return web.json_response({"ready": True})

    app = web.Application()
    app.router.add_get("/ready", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    resolver = FakeResolver({"app.example.test": ["127.0.0.1"]})
    env = make_env(None, settings=GateSettings(allow_cidrs=("127.0.0.1/32",)), resolver=resolver)
    try:
        url = f"http://app.example.test:{port}/ready"
        obs = await observe(env, url=url, jsonPath="$.ready", jsonValue="true")
        assert obs == Observation(True, "true")
        assert seen == [f"app.example.test:{port}"]
    finally:
        await env.clients.aclose()
        await runner.cleanup()


async def test_an_octal_loopback_url_is_refused_by_rule() -> None:
    env = make_env(lambda r: httpx.Response(200))
    obs = await observe(env, url="http://0177.0.0.1/")
    assert (
        obs.final
        and obs.error
        == "refused: 0177.0.0.1 is 127.0.0.1, a loopback address (allow it with --gate-allow-cidr)"
    )
    await env.clients.aclose()


async def test_a_redirect_through_the_api_servers_proxy_is_never_followed() -> None:
    """The proxy client carries the operator's token: a backend's Location must not make it call the API."""
    via_api: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        via_api.append(request.url.path)
        return httpx.Response(
            302, headers={"Location": "http://127.0.0.1:6443/api/v1/namespaces/victim/secrets/top"}
        )

    service_client = httpx.AsyncClient(
        transport=httpx.MockTransport(api), headers={"Authorization": "Bearer api"}
    )

    async def proxy_url(name: str, port: int | str, scheme: str, path: str) -> str:
        return f"http://127.0.0.1:6443/api/v1/namespaces/ns/services/{name}:{port}/proxy{path}"

    env = dataclasses.replace(make_env(no_http), service_url=proxy_url, service_client=service_client)
    obs = await observe(env, service={"name": "web", "port": 80, "path": "/ready"})
    assert obs.passed is False and obs.final
    assert obs.error.startswith("the Service answered with a redirect (302); redirects are not followed")
    assert "victim" not in obs.error
    assert via_api == ["/api/v1/namespaces/ns/services/web:80/proxy/ready"]
    # a gate that expects the redirect still gets it, without a second request
    obs = await observe(env, service={"name": "web", "port": 80, "path": "/ready"}, expectedStatus=[302])
    assert obs.passed and len(via_api) == 2
    await service_client.aclose()
    await env.clients.aclose()

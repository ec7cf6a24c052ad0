"""The prometheus gate against a fake Prometheus HTTP API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from deployreq.gates import GateSettings, build_check
from deployreq.gates.base import Observation
from deployreq.gates.runner import observe_bounded
from tests.unit.gates.fakes import make_env

PROM = GateSettings(prometheus_url="http://prometheus.monitoring:9090/")


def vector(*values: str) -> dict[str, Any]:
    result = [{"metric": {"pod": f"web-{i}"}, "value": [1_800_000_000.0, v]} for i, v in enumerate(values)]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def prometheus(payload: dict[str, Any], seen: list[httpx.Request] | None = None, status: int = 200) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, json=payload)

    return handler


async def check(payload: dict[str, Any], settings: GateSettings = PROM, **gate: Any) -> Observation:
    env = make_env(prometheus(payload), settings=settings)
    try:
        built = build_check({"name": "p", "prometheus": {"query": "up", **gate}})
        return await observe_bounded(built, env, 5.0)
    finally:
        await env.clients.aclose()


async def test_the_query_goes_to_the_instant_query_api_of_the_configured_prometheus() -> None:
    seen: list[httpx.Request] = []
    env = make_env(prometheus(vector("0.5"), seen), settings=PROM)
    built = build_check({"name": "p", "prometheus": {"query": 'rate(errors{app="web"}[5m])', "below": 1}})
    assert await observe_bounded(built, env, 5.0) == Observation(True, "0.5")
    assert seen[0].url.path == "/api/v1/query"
    assert seen[0].url.params["query"] == 'rate(errors{app="web"}[5m])'
    assert seen[0].url.host == "prometheus.monitoring"  # the operator's own Prometheus: trusted, not pinned
    await env.clients.aclose()


@pytest.mark.parametrize(
    ("values", "bounds", "passed"),
    [
        (("0.5",), {"below": 1}, True),
        (("1",), {"below": 1}, False),
        (("0.99",), {"above": 0.95}, True),
        (("0.9",), {"above": 0.95}, False),
        (("5",), {"above": 1, "below": 10}, True),
        (("10",), {"above": 1, "below": 10}, False),
        (("0.1", "0.2", "0.3"), {"below": 1}, True),
        (("0.1", "2", "0.3"), {"below": 1}, False),  # every series must pass
        (("NaN",), {"below": 1}, False),
        (("+Inf",), {"above": 1}, True),
    ],
)
async def test_thresholds_apply_to_every_series(
    values: tuple[str, ...], bounds: dict[str, float], passed: bool
) -> None:
    assert (await check(vector(*values), PROM, **bounds)).passed is passed


async def test_a_failing_series_is_named() -> None:
    obs = await check(vector("0.1", "2"), below=1)
    assert obs.error == '2 for {pod="web-1"} is not below 1 (1 of 2 series fail)'


async def test_a_scalar_result_is_one_value() -> None:
    payload = {"status": "success", "data": {"resultType": "scalar", "result": [1.0, "3"]}}
    assert await check(payload, above=2) == Observation(True, "3")


@pytest.mark.parametrize(("policy", "passed"), [("Fail", False), ("Pass", True), ("Inconclusive", None)])
async def test_an_empty_result_follows_the_policy(policy: str, passed: bool | None) -> None:
    assert (await check(vector(), below=1, emptyResult=policy)).passed is passed


async def test_an_empty_result_fails_by_default() -> None:
    assert await check(vector(), below=1) == Observation(False, "empty", "the query returned no series")


async def test_a_query_error_is_reported() -> None:
    payload = {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}
    env = make_env(prometheus(payload, status=400), settings=PROM)
    built = build_check({"name": "p", "prometheus": {"query": "up{", "below": 1}})
    obs = await observe_bounded(built, env, 5.0)
    assert obs == Observation(False, "HTTP 400", "Prometheus: bad_data: parse error at char 3")
    await env.clients.aclose()


async def test_a_range_vector_is_refused() -> None:
    payload = {"status": "success", "data": {"resultType": "matrix", "result": []}}
    obs = await check(payload, below=1)
    assert obs.passed is False and "result type 'matrix' is not supported" in obs.error


async def test_a_per_gate_address_must_be_allowed_by_the_operator() -> None:
    obs = await check(vector("0"), address="http://prom.example.test:9090", below=1)
    assert obs.passed is False and obs.final
    assert "Prometheus address http://prom.example.test:9090 is not allowed" in obs.error


async def test_an_allowed_per_gate_address_must_also_pass_the_guard() -> None:
    settings = GateSettings(
        prometheus_allowed_addresses=("http://prom.example.test:9090/", "http://127.0.0.1:9090")
    )
    ok = await check(vector("0"), settings, address="http://prom.example.test:9090", below=1)
    assert ok.passed
    refused = await check(vector("0"), settings, address="http://127.0.0.1:9090", below=1)
    assert refused.passed is False and "refused: 127.0.0.1 is a loopback address" in refused.error


async def test_no_prometheus_at_all_is_a_clear_error() -> None:
    obs = await check(vector("0"), GateSettings(), below=1)
    assert obs.final and "no Prometheus configured" in obs.error


async def test_a_prometheus_timeout_is_a_failure() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    env = make_env(slow, settings=PROM)  # type: ignore[arg-type]
    built = build_check({"name": "p", "prometheus": {"query": "up", "below": 1}})
    assert await observe_bounded(built, env, 0.05) == Observation(False, "", "timed out after 0.05s")
    await env.clients.aclose()

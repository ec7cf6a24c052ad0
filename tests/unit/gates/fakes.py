"""Shared fakes for the gate tests: an env over httpx.MockTransport (or the real network when the handler is
None), a fake resolver and a jumping clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from deployreq.gates import GateEnv, GateError, GateSettings, Guard, make_clients

Handler = Callable[[httpx.Request], httpx.Response]


class FakeResolver:
    """Names to addresses, as an injected resolver; unknown names do not resolve."""

    def __init__(self, table: Mapping[str, list[str]] | None = None) -> None:
        self.table = dict(table or {})
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise GateError(f"cannot resolve {host}")
        return self.table[host]


class JumpClock:
    """Wall time that jumps forward when slept on: waits cost no real time."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)


def make_env(
    handler: Handler | None,
    *,
    settings: GateSettings | None = None,
    resolver: FakeResolver | None = None,
    secrets: Mapping[tuple[str, str], str] | None = None,
    pods: Callable[[], list[dict[str, Any]]] | None = None,
) -> GateEnv:
    settings = settings or GateSettings()
    resolver = resolver or FakeResolver({"app.example.test": ["10.0.0.5"], "prom.example.test": ["10.0.0.9"]})
    guard = Guard.from_flags(settings.allow_cidrs, settings.deny_cidrs, resolver=resolver)
    table = dict(secrets or {})

    async def secret_value(name: str, key: str) -> str:
        if (name, key) not in table:
            raise LookupError(f"secret {name} has no key {key}")
        return table[(name, key)]

    async def new_pods() -> list[dict[str, Any]]:
        return pods() if pods else []

    async def service_url(name: str, port: int | str, scheme: str, path: str) -> str:
        number = port if isinstance(port, int) else {"http": 80, "https": 443}[port]
        return f"{scheme}://{name}.ns.svc:{number}{path}"

    return GateEnv(
        namespace="ns",
        clients=make_clients(settings, transport=httpx.MockTransport(handler) if handler else None),
        guard=guard,
        settings=settings,
        secret_value=secret_value,
        new_pods=new_pods,
        service_url=service_url,
    )


def no_http(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no HTTP expected, got {request.url}")


def http_gate(name: str = "g", **http: Any) -> dict[str, Any]:
    return {"name": name, "http": http}

"""The shared HTTP clients of all gates: one verifying TLS, one for ``insecureSkipTLSVerify`` gates.

One pool per process (not a client per call, Flagger's counter-example). ``trust_env`` is off: a proxy from
the environment would connect somewhere else than the address the guard checked. Redirects are never
followed by httpx: :mod:`deployreq.gates.fetch` follows them itself so that each hop is checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from deployreq.gates.settings import GateSettings


@dataclass(frozen=True)
class GateClients:
    verified: httpx.AsyncClient
    insecure: httpx.AsyncClient

    def pick(self, insecure_skip_tls_verify: bool) -> httpx.AsyncClient:
        return self.insecure if insecure_skip_tls_verify else self.verified

    async def aclose(self) -> None:
        await self.verified.aclose()
        await self.insecure.aclose()


def make_client(
    settings: GateSettings, *, verify: bool = True, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """A pooled client; ``transport`` is the test seam (``httpx.MockTransport``)."""
    limits = httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=max(1, settings.max_connections // 2),
    )
    return httpx.AsyncClient(
        verify=verify,
        limits=limits,
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        headers={"User-Agent": settings.user_agent},
        timeout=httpx.Timeout(30.0),
    )


def make_clients(settings: GateSettings, transport: httpx.AsyncBaseTransport | None = None) -> GateClients:
    """The two shared clients; close them with :meth:`GateClients.aclose` at shutdown."""
    return GateClients(
        verified=make_client(settings, verify=True, transport=transport),
        insecure=make_client(settings, verify=False, transport=transport),
    )

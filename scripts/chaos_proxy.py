"""A reverse proxy between the operators and kubesim that loses responses: for a share of the writes it forwards
the request, lets kubesim commit it, and then drops the client's connection instead of answering. The client sees a
broken connection and cannot tell whether its write happened, which is what a network failure after the commit
looks like. The lost writes carry ``chaos/response-lost`` in their User-Agent, so kubesim's audit trail says which
accepted writes were never acknowledged. Everything else (watches included) streams through unchanged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import random
import ssl
import threading
from typing import Any

import aiohttp
from aiohttp import web

LOST_MARK = "chaos/response-lost"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HOP_BY_HOP = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
)


class LossyProxy:
    def __init__(
        self,
        upstream: str,
        rate: float,
        seed: int,
        resources: tuple[str, ...] = (),
        upstream_ssl: ssl.SSLContext | None = None,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.upstream_ssl = upstream_ssl
        """For an HTTPS upstream (the real API server): its CA and the client certificate the proxy presents."""
        self.rate = rate
        self.rng = random.Random(seed)
        self.resources = resources
        """Only writes whose path contains one of these (e.g. ``/deployments/``) lose responses; all when empty."""
        self.lost = 0
        self.active = True
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> str:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the lossy proxy did not start")
        return self.url

    def stop(self) -> None:
        """Close the upstream connections (open watches end), stop listening; bounded, never waits for clients."""
        if not self._thread.is_alive():
            return  # never started (or already stopped)
        if self._runner is not None:
            future = asyncio.run_coroutine_threadsafe(self._close(), self._loop)
            with contextlib.suppress(TimeoutError, concurrent.futures.TimeoutError):
                future.result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _close(self) -> None:
        await self.session.close()
        if self._runner is not None:
            await self._runner.shutdown()
            for site in list(self._runner.sites):
                await site.stop()
        # Handlers still streaming a watch end here, so that none is left pending when the loop stops.
        handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in handlers:
            task.cancel()
        if handlers:
            await asyncio.wait(handlers, timeout=2)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def _loses(self, request: web.Request) -> bool:
        if not self.active or request.method not in WRITES:
            return False
        if self.resources and not any(r in request.path for r in self.resources):
            return False
        return self.rng.random() < self.rate

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        lose = self._loses(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        if lose:
            headers["User-Agent"] = f"{headers.get('User-Agent', '')} {LOST_MARK}"
        url = f"{self.upstream}{request.path_qs}"
        try:
            async with self.session.request(
                request.method, url, headers=headers, data=body or None, ssl=self.upstream_ssl or True
            ) as upstream:
                return await self._answer(request, upstream, lose)
        except aiohttp.ClientConnectionError as exc:  # the upstream is down (a killed API server)
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=503)
            status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 503}
            return web.json_response(
                {**status, "reason": "ServiceUnavailable", "message": f"chaos proxy: upstream: {exc}"},
                status=503,
                dumps=json.dumps,
            )

    async def _answer(
        self, request: web.Request, upstream: aiohttp.ClientResponse, lose: bool
    ) -> web.StreamResponse:
        if lose:
            await upstream.read()  # committed upstream; the client never hears of it
            self.lost += 1
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        response = web.StreamResponse(
            status=upstream.status,
            headers={k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP},
        )
        try:
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
        except (ConnectionError, aiohttp.ClientError):
            pass  # the client went away (a watch it ended, an operator killed)
        return response


def proxied_kubeconfig(config: dict[str, Any], url: str) -> dict[str, Any]:
    """The same kubeconfig with every cluster's server replaced by the proxy's address."""
    return {
        **config,
        "clusters": [{**c, "cluster": {**c["cluster"], "server": url}} for c in config.get("clusters") or []],
    }

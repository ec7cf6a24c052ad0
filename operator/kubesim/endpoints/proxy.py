"""The API server's service proxy: ``/api/v1/namespaces/{ns}/services/[scheme:]{name}[:port]/proxy/{path}``.

kubesim has no pod network, so a Service names its backend with the annotation
``kubesim.deployreq.dev/proxy-to: http://127.0.0.1:PORT`` (a local test server); requests are forwarded there with
their method, path, query and body, and the answer comes back unchanged. A Service without the annotation answers
as a real server does for a Service without ready endpoints: 503 ``no endpoints available for service "name"``.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

from kubesim.api import errors
from kubesim.storage.store import Store

PROXY_ANNOTATION = "kubesim.deployreq.dev/proxy-to"
_HOP_HEADERS = frozenset(
    {"host", "authorization", "connection", "transfer-encoding", "content-length", "keep-alive", "upgrade"}
)


class ServiceProxy:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def handle(
        self, request: web.Request, namespace: str | None, name_port: str, rest: str
    ) -> web.Response:
        parts = name_port.split(":")
        if parts[0] in ("http", "https"):
            parts = parts[1:]
        name = parts[0]
        services = self.store.require("", "services")
        service = self.store.peek(services, namespace, name)
        if service is None:
            raise errors.not_found("services", "", name)
        backend = (service["metadata"].get("annotations") or {}).get(PROXY_ANNOTATION)
        if not backend:
            raise errors.unavailable(f'no endpoints available for service "{name}"')
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        url = f"{backend.rstrip('/')}/{rest}"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        body = await request.read()
        try:
            async with self._session.request(
                request.method,
                url,
                params=request.query,
                data=body or None,
                headers=headers,
                allow_redirects=False,
            ) as upstream:
                data = await upstream.read()
                out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS}
                return web.Response(status=upstream.status, body=data, headers=out_headers)
        except aiohttp.ClientError as exc:
            raise errors.ApiError(
                503, "ServiceUnavailable", f"error trying to reach service: {exc.__class__.__name__}"
            ) from None

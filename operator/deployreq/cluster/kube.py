"""The one place that talks to the Kubernetes API.

Credentials come from :mod:`deployreq.cluster.credentials` (kubeconfig or in-cluster); requests go through one
shared ``aiohttp.ClientSession`` so the event loop never blocks. Transient failures (5xx, 429 with Retry-After,
connection errors) are retried here with backoff, and error statuses are translated into :mod:`deployreq.errors`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
import httpx
import orjson
import yarl

from deployreq import errors
from deployreq.api.names import GROUP, PLURAL, VERSION
from deployreq.cluster.credentials import Credentials

log = logging.getLogger(__name__)


JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"

Obj = dict[str, Any]


def request_path(namespace: str, name: str | None = None, subresource: str | None = None) -> str:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace)}/{PLURAL}"
    if name:
        path += f"/{quote(name)}"
    if subresource:
        path += f"/{subresource}"
    return path


def deployment_path(namespace: str, name: str | None = None) -> str:
    path = f"/apis/apps/v1/namespaces/{quote(namespace)}/deployments"
    return f"{path}/{quote(name)}" if name else path


WORKLOAD_PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}


def workload_path(namespace: str, kind: str, name: str) -> str:
    """A Deployment, StatefulSet or DaemonSet (``kind`` as the API names it)."""
    return f"/apis/apps/v1/namespaces/{quote(namespace)}/{WORKLOAD_PLURALS[kind]}/{quote(name)}"


def replicasets_path(namespace: str) -> str:
    return f"/apis/apps/v1/namespaces/{quote(namespace)}/replicasets"


def pods_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace)}/pods"


def collection_path(api: str, plural: str, namespace: str | None = None) -> str:
    """A collection under an API prefix (``/api/v1``, ``/apis/apps/v1``): cluster-wide, or in one namespace."""
    return f"{api}/namespaces/{quote(namespace)}/{plural}" if namespace else f"{api}/{plural}"


def lease_path(namespace: str, name: str | None = None) -> str:
    path = f"/apis/coordination.k8s.io/v1/namespaces/{quote(namespace)}/leases"
    return f"{path}/{quote(name)}" if name else path


def secret_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace)}/secrets/{quote(name)}"


def events_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace)}/events"


TOKEN_REREAD_SECONDS = 60.0


class _BearerAuth(httpx.Auth):
    """The current token on each request of the gates' httpx client."""

    def __init__(self, header: Callable[[], dict[str, str]]) -> None:
        self._header = header

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._header())
        yield request


_BY_CODE: dict[int, type[errors.ApiError]] = {
    404: errors.NotFound,
    409: errors.Conflict,
    422: errors.Invalid,
    403: errors.Forbidden,
}


def _translate(status: int, reason: str, headers: Mapping[str, str], content: bytes) -> errors.ApiError:
    text = content.decode(errors="replace")
    message = text[:500]
    try:
        body = json.loads(text)
        reason = body.get("reason") or reason
        message = body.get("message") or message
    except (ValueError, AttributeError):
        pass
    retry_after = None
    if "Retry-After" in headers:
        try:
            retry_after = float(headers["Retry-After"])
        except ValueError:
            retry_after = None
    cls = _BY_CODE.get(status, errors.ApiError)
    return cls(status, reason, message, retry_after)


def ssl_context(credentials: Credentials) -> ssl.SSLContext | None:
    """The TLS context for an https server (CA, client certificate, verification as configured)."""
    if not credentials.server.startswith("https"):
        return None
    context = ssl.create_default_context(cafile=credentials.ca_file if credentials.verify else None)
    if not credentials.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if credentials.cert_file:
        context.load_cert_chain(credentials.cert_file, credentials.key_file)
    return context


class Kube:
    """An async API client with retries; one per operator process.

    API calls go through aiohttp (already kopf's transport): under load, httpx cost the operator about ten times
    more CPU per call (see docs/performance.md). The httpx client in :attr:`http` serves the gates' calls through
    the API server's service proxy, where the volume is small and the gates' code is written against httpx.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        attempts: int = 5,
        backoff: float = 0.2,
        user_agent: str = "deployreq",
    ) -> None:
        self.credentials = credentials
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._headers = {"Accept": "application/json", "User-Agent": user_agent}
        self._token = credentials.token
        self._token_read = time.monotonic()
        self._ssl = ssl_context(credentials)
        self._session: aiohttp.ClientSession | None = None
        self._http: httpx.AsyncClient | None = None
        self.on_error: Callable[[errors.ApiError], None] | None = None
        self.on_retry: Callable[[], None] | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        """An authenticated httpx client (for the API server's own service proxy, used by gates)."""
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.credentials.server,
                headers=self._headers,
                auth=_BearerAuth(self.authorization),
                verify=self._ssl if self._ssl is not None else True,
                timeout=httpx.Timeout(30.0, connect=5.0),
            )
        return self._http

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:  # created on first use, inside the running event loop
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                connector=aiohttp.TCPConnector(limit=50, ssl=self._ssl if self._ssl is not None else True),
                timeout=aiohttp.ClientTimeout(total=30.0, sock_connect=5.0),
            )
        return self._session

    def token(self) -> str | None:
        """The bearer token; a projected token is re-read each minute (the kubelet rotates it)."""
        if self.credentials.token_file and time.monotonic() - self._token_read > TOKEN_REREAD_SECONDS:
            self._token_read = time.monotonic()
            try:
                with open(self.credentials.token_file) as handle:  # a small file on a tmpfs: no real blocking
                    self._token = handle.read().strip() or self._token
            except OSError as exc:
                log.warning("could not re-read the service account token: %s", exc.strerror)
        return self._token

    def authorization(self) -> dict[str, str]:
        """The Authorization header with the current token (none without a token)."""
        token = self.token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _url(self, path: str) -> yarl.URL:
        return yarl.URL(
            self.credentials.server + path, encoded=True
        )  # paths are quoted by the *_path helpers

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._http is not None:
            await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
    ) -> Obj:
        """One API call, retried while the failure is transient; returns the decoded JSON body."""
        content = None if body is None else orjson.dumps(body)
        headers = {"Content-Type": content_type} if content is not None else {}
        headers.update(self.authorization())
        delay = self.backoff
        session = self._open()
        for attempt in range(1, self.attempts + 1):
            try:
                async with session.request(
                    method, self._url(path), data=content, headers=headers, params=params
                ) as response:
                    payload = await response.read()
                    status, reason, response_headers = (
                        response.status,
                        response.reason or "",
                        response.headers,
                    )
            except (TimeoutError, aiohttp.ClientError) as exc:
                error: errors.ApiError = errors.TransportError(f"{method} {path}: {exc!r}")
            else:
                if status < 400:
                    return orjson.loads(payload) if payload else {}  # type: ignore[no-any-return,unused-ignore]
                error = _translate(status, reason, response_headers, payload)
            if self.on_error is not None:
                self.on_error(error)
            if not error.transient or attempt == self.attempts:
                raise error
            if self.on_retry is not None:
                self.on_retry()
            wait = error.retry_after if error.retry_after is not None else delay
            log.debug("retrying %s %s after %s (attempt %d): %s", method, path, wait, attempt, error.reason)
            await asyncio.sleep(wait)
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Obj:
        return await self.request("GET", path, params=params)

    async def get_or_none(self, path: str) -> Obj | None:
        try:
            return await self.get(path)
        except errors.NotFound:
            return None

    async def create(self, path: str, body: Obj) -> Obj:
        return await self.request("POST", path, body=body)

    async def replace(self, path: str, body: Obj) -> Obj:
        return await self.request("PUT", path, body=body)

    async def patch(
        self, path: str, body: Any, content_type: str = MERGE_PATCH, params: Mapping[str, str] | None = None
    ) -> Obj:
        return await self.request("PATCH", path, body=body, content_type=content_type, params=params)

    async def watch(self, path: str, params: Mapping[str, str]) -> AsyncIterator[Obj]:
        """The events of one watch request (``{"type", "object"}``), until the server ends the stream."""
        query = {**params, "watch": "true"}
        session = self._open()
        async with session.get(
            self._url(path),
            params=query,
            headers=self.authorization(),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5.0),
        ) as response:
            if response.status >= 400:
                raise _translate(
                    response.status, response.reason or "", response.headers, await response.read()
                )
            pending = b""
            async for chunk in response.content.iter_any():  # no line-length limit: objects can be large
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield orjson.loads(line)
            if pending.strip():
                yield orjson.loads(pending)

    async def delete(self, path: str, preconditions: Obj | None = None) -> Obj:
        """DELETE; ``preconditions`` (uid, resourceVersion) make the server refuse it (409) for a changed object."""
        body = {"preconditions": preconditions} if preconditions else None
        return await self.request("DELETE", path, body=body)

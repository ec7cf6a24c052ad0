"""The one place gates send HTTP requests: guard check, pinned connection, hand-followed redirects, body cap.

Redirects are followed here (at most :data:`MAX_REDIRECTS`), each hop checked by the guard again, because a
harmless URL may redirect into the metadata service or the API server. Only the shared clients, which carry no
credentials, ever follow one: a request sent through the API server's service proxy with the operator's token
is never followed (see :func:`fetch`). On a redirect to another origin the gate's headers (which may carry
Secrets) are dropped, and 301/302 after POST and every 303 continue as GET without body, as browsers do.
Errors are translated here into :class:`GateError` with messages that never contain header values, response
bodies or redirect targets.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from deployreq.gates.base import GateEnv, GateError
from deployreq.gates.guard import Target, literal_address

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Fetched:
    """A response as gates judge it: status, the first ``max_body_bytes`` of the body, the final URL."""

    status: int
    body: bytes
    url: str
    truncated: bool = False

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; GateError when it is not."""
        try:
            return json.loads(self.body)
        except ValueError:
            cut = " (cut at the size limit)" if self.truncated else ""
            raise GateError(f"the response is not JSON{cut}") from None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _check_header_values(headers: Mapping[str, str]) -> None:
    for name, value in headers.items():
        if any(c in value for c in "\r\n\0"):
            raise GateError(f"header {name} has a line break or NUL in its value", final=True)


async def fetch(
    env: GateEnv,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    insecure: bool = False,
    trusted: bool = False,
    api_client: httpx.AsyncClient | None = None,
    stop_at: Collection[int] = (),
    request_timeout: float = 5.0,
) -> Fetched:
    """Send ``method url`` through the guard and return the final response.

    - ``trusted``: the first URL's origin was configured by the cluster admin (``--prometheus-url``): the guard
      does not check it, also on same-origin redirects; any other origin is checked.
    - ``api_client``: ``url`` is the API server's service proxy, built by the operator, and the client carries
      the operator's API credentials. Nothing is followed then: a redirect answer is a failure, never a second
      request with those credentials (a backend could name any API path, or the API server itself).
    - otherwise every hop is resolved, checked and pinned by the guard, with the shared clients, which carry
      no credentials; on a redirect to another origin the gate's headers are dropped.

    ``json_body`` None sends no body. ``stop_at`` are statuses returned as they are even when they are
    redirects (a gate expecting 302).
    """
    user_headers = dict(headers or {})
    _check_header_values(user_headers)
    if api_client is not None:
        return await _fetch_via_api_server(
            api_client, method, url, user_headers, json_body, stop_at, request_timeout, env
        )
    shared = env.clients.pick(insecure)
    checked: Target | None = None
    if trusted:
        current = _parse_url(url)
    else:
        checked = await env.guard.check_url(url)  # names the rule even for spellings httpx refuses
        current = checked.url
    first_origin = _origin(current)
    body = json_body
    for hop in range(MAX_REDIRECTS + 1):
        pinned = checked if hop == 0 else None
        request = await _hop_request(
            env, shared, current, first_origin, trusted, pinned, method, user_headers, body, request_timeout
        )
        status, data, truncated, location = await _send(shared, request, env.settings.max_body_bytes)
        if status in REDIRECT_STATUSES and location and status not in stop_at:
            if hop == MAX_REDIRECTS:
                raise GateError(f"more than {MAX_REDIRECTS} redirects")
            current = _redirect_target(current, location)
            if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
            log.debug("gate request redirected (%d)", status)
            continue
        return Fetched(status=status, body=data, url=str(current), truncated=truncated)
    raise AssertionError("unreachable")  # pragma: no cover


async def _hop_request(
    env: GateEnv,
    shared: httpx.AsyncClient,
    current: httpx.URL,
    first_origin: tuple[str, str, int | None],
    trusted: bool,
    pinned: Target | None,
    method: str,
    user_headers: dict[str, str],
    body: Any,
    request_timeout: float,
) -> httpx.Request:
    """One hop's request: checked and pinned by the guard (unless a trusted origin), the gate's headers only to the
    first origin, the URL's own host in ``Host`` and as the TLS server name."""
    same_origin = _origin(current) == first_origin
    if trusted and same_origin:
        connect_url, sni = current, None
    else:
        target = pinned if pinned is not None else await env.guard.check_url(current)
        connect_url = target.connect_url
        sni = target.host if current.scheme == "https" and literal_address(target.host) is None else None
    send_headers = dict(user_headers) if same_origin else {}
    send_headers["Host"] = current.netloc.decode("ascii")
    extensions: dict[str, Any] = {"sni_hostname": sni} if sni else {}
    return shared.build_request(
        method,
        connect_url,
        headers=send_headers,
        json=body,
        timeout=httpx.Timeout(request_timeout),
        extensions=extensions,
    )


async def _fetch_via_api_server(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    json_body: Any,
    stop_at: Collection[int],
    request_timeout: float,
    env: GateEnv,
) -> Fetched:
    """One request through the API server's service proxy, with the operator's credentials; no redirects."""
    request = client.build_request(
        method, _parse_url(url), headers=headers, json=json_body, timeout=httpx.Timeout(request_timeout)
    )
    status, data, truncated, location = await _send(client, request, env.settings.max_body_bytes)
    if status in REDIRECT_STATUSES and location and status not in stop_at:
        raise GateError(
            f"the Service answered with a redirect ({status}); redirects are not followed through the "
            "API server's service proxy (--gate-service-transport proxy): point the gate at the final path",
            final=True,
        )
    return Fetched(status=status, body=data, url=url, truncated=truncated)


_BAD_LOCATION = "redirect to an invalid URL (the Location header does not parse)"


def _parse_url(url: str) -> httpx.URL:
    try:
        return httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise GateError(f"invalid URL: {exc}", final=True) from None


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    """The URL a ``Location`` names, relative to ``current``; GateError for one that is not a plain URL."""
    if any(c in location for c in "\\\r\n\t\0") or not location.isprintable():
        raise GateError("redirect to an invalid URL (a backslash or control character in Location)")
    try:
        target = current.join(location)
        target.netloc.decode("ascii")
    except (httpx.InvalidURL, ValueError) as exc:
        raise GateError(f"redirect to an invalid URL ({type(exc).__name__})") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise GateError("redirect to a URL that is not http(s) with a host")
    return target


async def _send(http: httpx.AsyncClient, request: httpx.Request, limit: int) -> tuple[int, bytes, bool, str]:
    try:
        response = await http.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            size = 0
            truncated = False
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    truncated = size > limit
                    break
            data = b"".join(chunks)[:limit]
        finally:
            await response.aclose()
    except httpx.InvalidURL:  # httpx reads a redirect's Location even when it follows none
        raise GateError(_BAD_LOCATION) from None
    except httpx.RemoteProtocolError as exc:
        if isinstance(exc.__context__, httpx.InvalidURL):
            raise GateError(_BAD_LOCATION) from None
        raise GateError("bad response (RemoteProtocolError)") from None
    except httpx.TimeoutException as exc:
        raise GateError(f"timed out ({type(exc).__name__})") from None
    except (httpx.LocalProtocolError, httpx.DecodingError) as exc:
        raise GateError(f"bad request or response ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise GateError(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return response.status_code, data, truncated, response.headers.get("location", "")

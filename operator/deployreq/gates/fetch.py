"""The one place gates send HTTP requests: guard check, pinned connection, hand-followed redirects, body cap.

Redirects are followed here (at most :data:`MAX_REDIRECTS`), each hop checked by the guard again, because a
harmless URL may redirect into the metadata service. On a redirect to another origin the gate's headers
(which may carry Secrets) are dropped, and 301/302 after POST and every 303 continue as GET without body,
as browsers do.
Errors are translated here into :class:`GateError` with messages that never contain header values.
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
    client: httpx.AsyncClient | None = None,
    stop_at: Collection[int] = (),
    request_timeout: float = 5.0,
) -> Fetched:
    """Send ``method url`` through the guard and return the final response.

    ``trusted`` skips the guard for the first URL's origin (URLs the operator built or an admin configured),
    also on same-origin redirects; ``client`` (e.g. one carrying API credentials for the service proxy) is
    used only for that origin too: any other origin gets the shared clients, no gate headers, and the guard.
    ``json_body`` None sends no body. ``stop_at`` are statuses returned as they are even when they are
    redirects (a gate expecting 302).
    """
    user_headers = dict(headers or {})
    _check_header_values(user_headers)
    shared = env.clients.pick(insecure)
    checked: Target | None = None
    if trusted:
        try:
            current = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise GateError(f"invalid URL: {exc}", final=True) from None
    else:
        checked = await env.guard.check_url(url)  # names the rule even for spellings httpx refuses
        current = checked.url
    first_origin = _origin(current)
    body = json_body
    for hop in range(MAX_REDIRECTS + 1):
        same_origin = _origin(current) == first_origin
        http = (client or shared) if same_origin else shared
        if trusted and same_origin:
            connect_url, host, sni = current, current.host, None
        else:
            target = checked if hop == 0 and checked is not None else await env.guard.check_url(current)
            connect_url, host = target.connect_url, target.host
            sni = host if current.scheme == "https" and literal_address(host) is None else None
        send_headers = dict(user_headers) if same_origin else {}
        send_headers["Host"] = current.netloc.decode("ascii")
        extensions: dict[str, Any] = {"sni_hostname": sni} if sni else {}
        request = http.build_request(
            method,
            connect_url,
            headers=send_headers,
            json=body,
            timeout=httpx.Timeout(request_timeout),
            extensions=extensions,
        )
        status, data, truncated, location = await _send(http, request, env.settings.max_body_bytes)
        if status in REDIRECT_STATUSES and location and status not in stop_at:
            if hop == MAX_REDIRECTS:
                raise GateError(f"more than {MAX_REDIRECTS} redirects (last to {location})")
            try:
                current = current.join(location)
            except httpx.InvalidURL as exc:
                raise GateError(f"redirect to an invalid URL: {exc}") from None
            if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
            log.debug("gate request redirected (%d) to %s", status, current)
            continue
        return Fetched(status=status, body=data, url=str(current), truncated=truncated)
    raise AssertionError("unreachable")  # pragma: no cover


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
    except httpx.TimeoutException as exc:
        raise GateError(f"timed out ({type(exc).__name__})") from None
    except (httpx.LocalProtocolError, httpx.DecodingError) as exc:
        raise GateError(f"bad request or response ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise GateError(f"{type(exc).__name__}: {exc}") from None
    return response.status_code, data, truncated, response.headers.get("location", "")

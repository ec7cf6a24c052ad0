"""The ``http`` gate: call a URL or a Service and judge status, body text, regex or one JSON value.

With ``body`` set the call sends it as JSON, so the same gate serves as a webhook gate. Header values may come
from Secrets of the request's own namespace labelled ``deployreq.dev/gate-secret=true``; they are sent and
never logged nor written to status (the runner masks them wherever a target echoes them).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from deployreq.gates import jsonpath
from deployreq.gates.base import GateEnv, GateError, Observation
from deployreq.gates.fetch import Fetched, fetch
from deployreq.gates.redact import excerpt

GATE_SECRET_LABEL = "deployreq.dev/gate-secret"
"""Only Secrets labelled ``deployreq.dev/gate-secret=true`` are read for gate headers: whoever may create a
request must not be able to send any Secret of the namespace to a URL of their choice."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeaderSource:
    name: str
    value: str | None = None
    secret_name: str | None = None
    secret_key: str | None = None


class HttpCheck:
    """One ``http`` gate; built by :func:`from_spec`."""

    kind = "http"

    def __init__(self, spec: Any, timeout: float) -> None:
        self.spec = spec
        self.timeout = timeout
        try:
            self.regex = re.compile(spec.body_regex) if spec.body_regex else None
        except re.error as exc:
            raise GateError(f"bodyRegex does not compile: {exc}", final=True) from None
        try:
            self.json_steps = jsonpath.parse(spec.json_path) if spec.json_path else None
        except jsonpath.JsonPathError as exc:
            raise GateError(str(exc), final=True) from None
        self.headers = tuple(_header_source(h) for h in spec.headers)

    @classmethod
    def from_spec(cls, gate: Any) -> HttpCheck:
        if gate.http.url is None and gate.http.service is None:
            raise GateError("an http gate needs exactly one of url or service", final=True)
        return cls(gate.http, float(gate.timeout_seconds))

    async def observe(self, env: GateEnv) -> Observation:
        spec = self.spec
        headers = {h.name: await _header_value(env, h) for h in self.headers}
        if spec.service is not None:
            path = spec.service.path or "/"
            _check_service_path(path)
            # The operator builds the URL and checks where it leads: by cluster DNS the guard resolves and
            # pins it like any URL; through the API server's proxy the backend was checked by service_url.
            url = await env.service_url(spec.service.name, spec.service.port, spec.service.scheme, path)
            api_client = env.service_client
        else:
            url, api_client = spec.url, None
        expected = list(spec.expected_status or [200])
        response = await fetch(
            env,
            str(spec.method),
            url,
            headers=headers,
            json_body=spec.body,
            insecure=spec.insecure_skip_tls_verify,
            api_client=api_client,
            stop_at=expected,
            request_timeout=self.timeout,
        )
        matched = None
        if self.regex is not None and response.status in expected:
            # A user's regex may backtrack for long: search in a thread so the event loop never stalls. The
            # check's timeout still ends the gate's wait; the thread finishes on its own (bodies are capped).
            matched = await asyncio.to_thread(self.regex.search, response.text()) is not None
        return self.judge(response, expected, regex_matched=matched)

    def judge(
        self, response: Fetched, expected: list[int], *, regex_matched: bool | None = None
    ) -> Observation:
        """Pass when the status is expected and every body condition holds; the value says what was seen."""
        value = f"HTTP {response.status}"
        if response.status not in expected:
            return Observation(False, value, f"status {response.status}, expected {_statuses(expected)}")
        spec = self.spec
        if spec.body_contains is not None and spec.body_contains not in response.text():
            return Observation(False, value, f"the body does not contain {excerpt(spec.body_contains)!r}")
        if self.regex is not None and regex_matched is None:
            regex_matched = self.regex.search(response.text()) is not None
        if self.regex is not None and not regex_matched:
            return Observation(False, value, f"the body does not match {excerpt(self.regex.pattern)!r}")
        if self.json_steps is not None:
            try:
                found = jsonpath.as_string(jsonpath.lookup(response.json(), self.json_steps))
            except jsonpath.MissingValueError as exc:
                return Observation(False, value, f"jsonPath {spec.json_path}: {exc}")
            except GateError as exc:
                return Observation(False, value, str(exc))
            # What the target returned is shown only as a short excerpt (masked by the runner).
            value = excerpt(found)
            if found != spec.json_value:
                return Observation(
                    False,
                    value,
                    f"{spec.json_path} is {excerpt(found)!r}, expected {excerpt(spec.json_value)!r}",
                )
        return Observation(True, value)


def _header_source(header: Any) -> HeaderSource:
    ref = header.value_from.secret_key_ref if header.value_from is not None else None
    if ref is None and header.value is None:
        raise GateError(f"header {header.name} needs value or valueFrom", final=True)
    return HeaderSource(header.name, header.value, ref.name if ref else None, ref.key if ref else None)


async def _header_value(env: GateEnv, header: HeaderSource) -> str:
    if header.secret_name is None or header.secret_key is None:
        return header.value or ""
    try:
        value = await env.secret_value(header.secret_name, header.secret_key)
    except (LookupError, GateError):
        # One message whatever was wrong: it must not tell whether the Secret exists or which keys it has.
        raise GateError(
            f"header {header.name}: {secret_rule(header.secret_name, header.secret_key, env.namespace)}"
        ) from None
    env.redact.remember(value)
    return value


def secret_rule(name: str, key: str, namespace: str) -> str:
    """What a Secret must be for a gate to send one of its keys."""
    return (
        f'Secret "{name}" key "{key}" is not available to gates: it must exist in namespace {namespace}, '
        f"carry the label {GATE_SECRET_LABEL}=true and hold that key"
    )


def _check_service_path(path: str) -> None:
    """A Service path must not climb out of the Service (matters for the API server's service proxy)."""
    lowered = path.lower()
    segments = lowered.split("?", 1)[0].split("/")
    if ".." in segments or "%2e" in lowered or "%2f" in lowered or "\\" in path:
        raise GateError(f"service path {path!r} may not contain '..', encoded dots or slashes", final=True)


def _statuses(expected: list[int]) -> str:
    return json.dumps(expected)

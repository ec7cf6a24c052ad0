"""The health gates of a request's spec: one model per gate kind (http, prometheus, pods; job in
:mod:`deployreq.api.job_spec`), a gate, the stages."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, model_validator

from deployreq.api.base import DNS_LABEL, DNS_SUBDOMAIN, Model
from deployreq.api.job_spec import JobGate

# An IANA service name (RFC 6335): a-z, 0-9 and '-', a letter somewhere, no '-' at either end or twice (and at most
# 15 characters, said by maxLength).
PORT_NAME = r"^([0-9]+-)*[0-9]*[a-z][a-z0-9]*(-[a-z0-9]+)*$"
PORT_MESSAGE = (
    "port must be a number from 1 to 65535 or a port name (up to 15 of a-z, 0-9, '-', with a letter)"
)
MAX_BODY_BYTES = 16 * 1024
"""The largest http gate body, encoded as JSON."""


class SecretKeyRef(Model):
    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)
    """Name of a Secret in the request's namespace; it must carry the label deployreq.dev/gate-secret=true."""
    key: str = Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")
    """Key of the Secret whose value is sent."""


class HeaderValueFrom(Model):
    secret_key_ref: SecretKeyRef
    """The Secret key holding the header's value (never written to status, Events or logs)."""


class Header(Model):
    name: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
    """HTTP header name."""
    value: str | None = Field(None, max_length=4096)
    """A literal value (not secret: use valueFrom for credentials)."""
    value_from: HeaderValueFrom | None = None
    """Take the value from a Secret of the request's namespace."""

    @model_validator(mode="after")
    def _one_source(self) -> Header:
        if (self.value is None) == (self.value_from is None):
            raise ValueError("a header needs exactly one of value or valueFrom")
        return self

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.value) != has(self.valueFrom)",
                    "message": "a header needs exactly one of value or valueFrom",
                }
            ]
        }
    )


class Scheme(StrEnum):
    HTTP = "http"
    HTTPS = "https"


class ServiceRef(Model):
    """A Service of the request's namespace, reached by cluster DNS or through the API server's proxy."""

    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL)
    """A Service in the request's namespace."""
    port: int | str = Field(
        json_schema_extra={
            # Plain schema bounds, which the API server applies to whichever type the value has (minimum and
            # maximum to a number, maxLength and pattern to a name). A CEL rule saying the same was refused by
            # kube-apiserver v1.36 for its estimated cost: an int-or-string is costed at the largest value.
            "x-kubernetes-int-or-string": True,
            "minimum": 1,
            "maximum": 65535,
            "maxLength": 15,
            "pattern": PORT_NAME,
        }
    )
    """The Service port: its number (1-65535) or its name (an IANA service name: up to 15 of a-z, 0-9 and '-',
    with a letter, no '-' at either end or twice)."""
    path: str = Field("/", max_length=2048, pattern=r"^/")
    """Path and query sent to the Service; may not contain '..' or encoded dots and slashes."""
    scheme: Scheme = Scheme.HTTP
    """http or https."""

    @model_validator(mode="after")
    def _port(self) -> ServiceRef:
        if isinstance(self.port, int):
            if not 1 <= self.port <= 65535:
                raise ValueError(PORT_MESSAGE)
        elif len(self.port) > 15 or not re.fullmatch(PORT_NAME, self.port):
            raise ValueError(PORT_MESSAGE)
        return self


class HttpMethod(StrEnum):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    HEAD = "HEAD"


class HttpGate(Model):
    url: str | None = Field(None, max_length=2048, pattern=r"^https?://")
    """The URL to call (http or https); it must pass the operator's SSRF guard. Exactly one of url and service."""
    service: ServiceRef | None = None
    """A Service of the request's namespace to call instead of a URL."""
    method: HttpMethod = HttpMethod.GET
    """HTTP method."""
    body: Any = Field(None, json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})
    """A JSON body to send (turns the gate into a webhook); at most 16 KiB once encoded."""
    expected_status: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=lambda: [200], min_length=1, max_length=16, json_schema_extra={"default": [200]}
    )
    """Status codes that count as passing."""
    body_contains: str | None = Field(None, max_length=1024)
    """The body must contain this text."""
    body_regex: str | None = Field(None, max_length=1024)
    """The body must match this regular expression (Python syntax)."""
    json_path: str | None = Field(None, max_length=256)
    """A JSONPath into the JSON body (e.g. $.status); its value must equal jsonValue."""
    json_value: str | None = Field(None, max_length=1024)
    """The value jsonPath must yield, compared as a string."""
    headers: list[Header] = Field(default_factory=list, max_length=16)
    """Request headers, literal or from Secrets."""
    insecure_skip_tls_verify: bool = False
    """Do not verify the server's TLS certificate."""

    @model_validator(mode="after")
    def _one_target(self) -> HttpGate:
        if (self.url is None) == (self.service is None):
            raise ValueError("an http gate needs exactly one of url or service")
        if (self.json_path is None) != (self.json_value is None):
            raise ValueError("jsonPath and jsonValue go together")
        if self.body is not None and len(json.dumps(self.body).encode()) > MAX_BODY_BYTES:
            raise ValueError(f"body is larger than {MAX_BODY_BYTES // 1024} KiB once encoded as JSON")
        return self

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.url) != has(self.service)",
                    "message": "an http gate needs exactly one of url or service",
                },
                {
                    "rule": "has(self.jsonPath) == has(self.jsonValue)",
                    "message": "jsonPath and jsonValue go together",
                },
            ]
        }
    )


class EmptyResult(StrEnum):
    FAIL = "Fail"
    PASS = "Pass"
    INCONCLUSIVE = "Inconclusive"


class PrometheusGate(Model):
    query: str = Field(min_length=1, max_length=4096)
    """An instant PromQL query; every series of the result must pass."""
    address: str | None = Field(None, max_length=2048, pattern=r"^https?://")
    """Prometheus to query; must be allowed by the operator's --prometheus-allowed-address (default: the operator's --prometheus-url)."""
    above: float | None = None
    """Pass only when every value is above this."""
    below: float | None = None
    """Pass only when every value is below this."""
    empty_result: EmptyResult = EmptyResult.FAIL
    """How an empty result counts: Fail, Pass or Inconclusive."""

    @model_validator(mode="after")
    def _a_threshold(self) -> PrometheusGate:
        if self.above is None and self.below is None:
            raise ValueError("a prometheus gate needs above or below")
        return self

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.above) || has(self.below)",
                    "message": "a prometheus gate needs above or below",
                }
            ]
        }
    )


class PodsGate(Model):
    max_restarts: int = Field(0, ge=0, le=1000)
    """Fail when a container of the new pods restarted more often than this."""


class Gate(Model):
    """A health check; exactly one of http, prometheus, pods or job."""

    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL)
    """The gate's name, unique within its stage."""
    interval_seconds: int = Field(10, ge=1, le=3600)
    """Seconds between checks."""
    timeout_seconds: int = Field(5, ge=1, le=300)
    """Seconds one check may take; a timeout counts as a failure."""
    initial_delay_seconds: int = Field(0, ge=0, le=3600)
    """Seconds to wait before the first check."""
    success_threshold: int = Field(1, ge=1, le=100)
    """Consecutive passing checks needed to pass."""
    failure_threshold: int = Field(3, ge=1, le=100)
    """Consecutive failing checks that fail the gate."""
    http: HttpGate | None = None
    """An HTTP check of a URL or a Service."""
    prometheus: PrometheusGate | None = None
    """A Prometheus query with thresholds."""
    pods: PodsGate | None = None
    """A check of the new pods' restarts."""
    job: JobGate | None = None
    """A Job the operator runs to completion (e.g. a database migration); the gate passes when it completes."""

    @model_validator(mode="after")
    def _one_kind(self) -> Gate:
        if sum(x is not None for x in (self.http, self.prometheus, self.pods, self.job)) != 1:
            raise ValueError("exactly one of http, prometheus, pods, job must be set")
        return self

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "[has(self.http), has(self.prometheus), has(self.pods), has(self.job)]"
                    ".filter(x, x).size() == 1",
                    "message": "exactly one of http, prometheus, pods, job must be set",
                }
            ]
        }
    )


class Gates(Model):
    pre: list[Gate] = Field(
        default_factory=list,
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    """Gates that must pass before anything changes."""
    post: list[Gate] = Field(
        default_factory=list,
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    """Gates that must hold through the verification window."""
    skip: bool = Field(False, description="Emergency: run no gates (refused unless the operator allows it).")

    @model_validator(mode="after")
    def _unique_names(self) -> Gates:
        for stage in (self.pre, self.post):
            names = [g.name for g in stage]
            if len(names) != len(set(names)):
                raise ValueError("gate names must be unique within a stage")
        return self

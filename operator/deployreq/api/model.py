"""The DeploymentRequest API: the one source of the CRD schema (``make crds``), its defaults and its validation.

Fields are snake_case in Python and camelCase in YAML. Kubernetes-only schema facts (list types, CEL rules,
preserve-unknown-fields) ride along as ``json_schema_extra`` and are kept by :mod:`deployreq.api.crdgen`.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from deployreq.api.names import API_VERSION, KIND
from deployreq.api.phases import Phase

HISTORY_LIMIT = 20
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# registry[:port]/path[:tag][@digest], lower-case path components, as the distribution reference grammar.
IMAGE_REFERENCE = (
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]+)?/)?"
    r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)


# An IANA service name (RFC 6335): a-z, 0-9 and '-', a letter somewhere, no '-' at either end or twice (and at most
# 15 characters, said by maxLength).
PORT_NAME = r"^([0-9]+-)*[0-9]*[a-z][a-z0-9]*(-[a-z0-9]+)*$"
PORT_MESSAGE = (
    "port must be a number from 1 to 65535 or a port name (up to 15 of a-z, 0-9, '-', with a letter)"
)
MAX_BODY_BYTES = 16 * 1024
"""The largest http gate body, encoded as JSON."""


class Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", use_attribute_docstrings=True
    )


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ImageUpdate(Model):
    """One container's new image."""

    container: str = Field(
        min_length=1,
        max_length=63,
        pattern=DNS_LABEL,
        description="Name of a container in the Deployment's pod template.",
    )
    image: str = Field(
        min_length=1,
        max_length=512,
        pattern=IMAGE_REFERENCE,
        description="The image reference to set, e.g. registry.example/web:1.2.",
    )


class RolloutSpec(Model):
    timeout_seconds: int = Field(
        600, ge=10, le=86400, description="Fail the rollout when not complete by then."
    )


class RollbackSpec(Model):
    enabled: bool = Field(
        True, description="Undo the change (as kubectl rollout undo) when the rollout fails."
    )


class RetrySpec(Model):
    attempts: int = Field(
        3, ge=0, le=20, description="Retries of transient failures before anything changed."
    )
    backoff_seconds: int = Field(
        10, ge=1, le=3600, description="First backoff between retries; doubles each time."
    )


class VerificationSpec(Model):
    duration_seconds: int = Field(
        0, ge=0, le=86400, description="How long the rollout must stay healthy after it completes."
    )


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
    """A health check; exactly one of http, prometheus or pods."""

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

    @model_validator(mode="after")
    def _one_kind(self) -> Gate:
        if sum(x is not None for x in (self.http, self.prometheus, self.pods)) != 1:
            raise ValueError("exactly one of http, prometheus, pods must be set")
        return self

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "[has(self.http), has(self.prometheus), has(self.pods)].filter(x, x).size() == 1",
                    "message": "exactly one of http, prometheus, pods must be set",
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


class DeploymentRequestSpec(Model):
    deployment: str = Field(
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN,
        description="Name of a Deployment in the request's own namespace.",
    )
    images: list[ImageUpdate] = Field(
        min_length=1,
        max_length=32,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["container"]},
    )
    """The containers' new images."""
    priority: Priority = Priority.NORMAL
    """Queue order within the namespace: urgent, high, normal, low (then arrival)."""
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)
    """How long the rollout may take."""
    rollback: RollbackSpec = Field(default_factory=RollbackSpec)
    """Whether a failed rollout is undone."""
    retry: RetrySpec = Field(default_factory=RetrySpec)
    """Retries of failures that waiting can cure, before anything changed."""
    verification: VerificationSpec = Field(default_factory=VerificationSpec)
    """How long the new version must stay healthy."""
    gates: Gates = Field(default_factory=Gates)
    """Health gates before and after the change."""

    @model_validator(mode="after")
    def _unique_containers(self) -> DeploymentRequestSpec:
        containers = [i.container for i in self.images]
        if len(containers) != len(set(containers)):
            raise ValueError("each container may appear once in images")
        return self


class Condition(Model):
    type: str
    """Condition type: Complete, Succeeded, Ready, Reconciling or Stalled."""
    status: str = Field(pattern=r"^(True|False|Unknown)$")
    """True, False or Unknown."""
    reason: str | None = None
    """A CamelCase reason for the last transition."""
    message: str | None = None
    """A human-readable explanation."""
    last_transition_time: str | None = None
    """When the status last changed."""
    observed_generation: int | None = None
    """The request's generation the condition describes."""


class HistoryEntry(Model):
    phase: Phase
    """The phase entered."""
    time: str
    """When it was entered."""
    message: str | None = None
    """What happened."""


class GateStage(StrEnum):
    PRE = "pre"
    POST = "post"


class GatePhase(StrEnum):
    PENDING = "Pending"
    PASSING = "Passing"
    PASSED = "Passed"
    FAILED = "Failed"


class GateStatus(Model):
    name: str
    """The gate's name."""
    stage: GateStage
    """pre or post."""
    kind: str
    """http, prometheus or pods."""
    phase: GatePhase
    """Pending, Passing, Passed or Failed."""
    consecutive_successes: int = 0
    """Passing checks in a row."""
    consecutive_failures: int = 0
    """Failing checks in a row."""
    last_value: str | None = None
    """What the last check saw: a status code, a number, or a short excerpt (Secret values masked)."""
    last_error: str | None = None
    """Why the last check failed."""
    last_check_time: str | None = None
    """When the gate was last checked."""
    final: bool | None = None
    """True when the gate failed for a cause waiting cannot cure (a refused address, a check that cannot be
    carried out as written): the request ends Failed at once instead of retrying."""


class RollbackStatus(Model):
    target_revision: int | None = None
    """The Deployment revision the rollback restores."""
    patched_generation: int | None = None
    """The Deployment's generation after the rollback patch."""
    patched_at: str | None = None
    """When the rollback patch was written."""


class AvailabilityStatus(Model):
    """How long the workload ran below its desired available replicas while this run deployed, verified and rolled
    back (from the workload's status as the operator saw it)."""

    degraded_seconds: float | None = None
    """Seconds with fewer available replicas than desired (down time included)."""
    down_seconds: float | None = None
    """Seconds with no available replica while some were desired."""
    degraded_since: str | None = None
    """Since when the workload is below its desired available replicas (unset while it is not)."""
    down_since: str | None = None
    """Since when the workload has no available replica (unset while it has one)."""


class DeploymentRequestStatus(Model):
    phase: Phase | None = None
    """Where the request stands: Pending, Queued, Checking, Deploying, Verifying, Succeeded, RollingBack, RolledBack, Failed, Cancelled or Superseded."""
    queue_position: int | None = None
    """Position in the namespace's queue while waiting (1 is next)."""
    observed_generation: int | None = None
    """The generation of the spec this status describes."""
    observed_rerun: str | None = None
    """The rerun annotation value this run answers."""
    attempt: int | None = None
    """The current attempt, from 1."""
    images: list[ImageUpdate] | None = None
    """The images this run sets."""
    previous_images: list[ImageUpdate] | None = None
    """The images before this run (what a rollback restores)."""
    previous_revision: int | None = None
    """The Deployment revision before this run."""
    revision: int | None = None
    """The Deployment revision this run created."""
    started_at: str | None = Field(None, json_schema_extra={"format": "date-time"})
    """When this run started."""
    completed_at: str | None = Field(None, json_schema_extra={"format": "date-time"})
    """When the request reached its final phase."""
    next_attempt_at: str | None = None
    """When a waiting retry runs next."""
    message: str | None = None
    """What is happening now, or why it ended."""
    failure: str | None = None
    """What failed, in words (the rollout's verdict, the gate's error)."""
    reason: str | None = None
    """Why the run ended, as a CamelCase reason (RolledOut, Verified, AlreadyInPlace, RolledBack, GateFailed,
    RetriesExhausted, InvalidRequest, ...): what deployreq report counts failures by."""
    history: list[HistoryEntry] | None = Field(
        None, max_length=HISTORY_LIMIT, description="The latest phase changes, oldest first."
    )
    conditions: list[Condition] | None = None
    """Conditions for kubectl wait and kstatus."""
    gates: list[GateStatus] | None = None
    """Every gate of the current run."""
    lock_holder: str | None = None
    """The operator that holds the namespace lock for this request."""
    deployment_uid: str | None = Field(None, alias="deploymentUID")
    """The uid of the Deployment patched, so a recreated one is not mistaken for it."""
    patched_generation: int | None = None
    """The Deployment's generation after the image patch."""
    patched_at: str | None = None
    """When the image patch was written."""
    verifying_since: str | None = None
    """When the verification window began."""
    failure_detected_at: str | None = None
    """When the failure was detected."""
    rollback: RollbackStatus | None = None
    """The rollback in progress or done."""
    availability: AvailabilityStatus | None = None
    """Degraded and down time of the workload during this run."""


class DeploymentRequest(Model):
    api_version: str = API_VERSION
    kind: str = KIND
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: DeploymentRequestSpec
    status: DeploymentRequestStatus | None = None


PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Deployment", "type": "string", "jsonPath": ".spec.deployment"},
    {"name": "Image", "type": "string", "jsonPath": ".spec.images[0].image"},
    {"name": "Priority", "type": "string", "jsonPath": ".spec.priority"},
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Position", "type": "integer", "jsonPath": ".status.queuePosition"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
]

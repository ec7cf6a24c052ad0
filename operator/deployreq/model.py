"""The DeploymentRequest API: the one source of the CRD schema (``make crds``), its defaults and its validation.

Fields are snake_case in Python and camelCase in YAML. Kubernetes-only schema facts (list types, CEL rules,
preserve-unknown-fields) ride along as ``json_schema_extra`` and are kept by :mod:`deployreq.crdgen`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from deployreq.phases import Phase

GROUP = "deployreq.dev"
VERSION = "v1alpha1"
KIND = "DeploymentRequest"
PLURAL = "deploymentrequests"

HISTORY_LIMIT = 20
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# registry[:port]/path[:tag][@digest], lower-case path components, as the distribution reference grammar.
IMAGE_REFERENCE = (
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]+)?/)?"
    r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


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
    key: str = Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")


class HeaderValueFrom(Model):
    secret_key_ref: SecretKeyRef


class Header(Model):
    name: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
    value: str | None = Field(None, max_length=4096)
    value_from: HeaderValueFrom | None = None

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
    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL)
    port: int | str = Field(json_schema_extra={"x-kubernetes-int-or-string": True})
    path: str = Field("/", max_length=2048, pattern=r"^/")
    scheme: Scheme = Scheme.HTTP


class HttpMethod(StrEnum):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    HEAD = "HEAD"


class HttpGate(Model):
    url: str | None = Field(None, max_length=2048, pattern=r"^https?://")
    service: ServiceRef | None = None
    method: HttpMethod = HttpMethod.GET
    body: Any = Field(None, json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})
    expected_status: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=lambda: [200], min_length=1, max_length=16, json_schema_extra={"default": [200]}
    )
    body_contains: str | None = Field(None, max_length=1024)
    body_regex: str | None = Field(None, max_length=1024)
    json_path: str | None = Field(None, max_length=256)
    json_value: str | None = Field(None, max_length=1024)
    headers: list[Header] = Field(default_factory=list, max_length=16)
    insecure_skip_tls_verify: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> HttpGate:
        if (self.url is None) == (self.service is None):
            raise ValueError("an http gate needs exactly one of url or service")
        if (self.json_path is None) != (self.json_value is None):
            raise ValueError("jsonPath and jsonValue go together")
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
    address: str | None = Field(None, max_length=2048, pattern=r"^https?://")
    above: float | None = None
    below: float | None = None
    empty_result: EmptyResult = EmptyResult.FAIL

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


class Gate(Model):
    """A health check; exactly one of http, prometheus or pods."""

    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL)
    interval_seconds: int = Field(10, ge=1, le=3600)
    timeout_seconds: int = Field(5, ge=1, le=300)
    initial_delay_seconds: int = Field(0, ge=0, le=3600)
    success_threshold: int = Field(1, ge=1, le=100)
    failure_threshold: int = Field(3, ge=1, le=100)
    http: HttpGate | None = None
    prometheus: PrometheusGate | None = None
    pods: PodsGate | None = None

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
    post: list[Gate] = Field(
        default_factory=list,
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
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
    priority: Priority = Priority.NORMAL
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)
    rollback: RollbackSpec = Field(default_factory=RollbackSpec)
    retry: RetrySpec = Field(default_factory=RetrySpec)
    verification: VerificationSpec = Field(default_factory=VerificationSpec)
    gates: Gates = Field(default_factory=Gates)

    @model_validator(mode="after")
    def _unique_containers(self) -> DeploymentRequestSpec:
        containers = [i.container for i in self.images]
        if len(containers) != len(set(containers)):
            raise ValueError("each container may appear once in images")
        return self


class Condition(Model):
    type: str
    status: str = Field(pattern=r"^(True|False|Unknown)$")
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None
    observed_generation: int | None = None


class HistoryEntry(Model):
    phase: Phase
    time: str
    message: str | None = None


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
    stage: GateStage
    kind: str
    phase: GatePhase
    consecutive_successes: int = 0
    consecutive_failures: int = 0
    last_value: str | None = None
    last_error: str | None = None
    last_check_time: str | None = None


class RollbackStatus(Model):
    target_revision: int | None = None
    patched_generation: int | None = None
    patched_at: str | None = None


class DeploymentRequestStatus(Model):
    phase: Phase | None = None
    queue_position: int | None = None
    observed_generation: int | None = None
    observed_rerun: str | None = None
    attempt: int | None = None
    images: list[ImageUpdate] | None = None
    previous_images: list[ImageUpdate] | None = None
    previous_revision: int | None = None
    revision: int | None = None
    started_at: str | None = Field(None, json_schema_extra={"format": "date-time"})
    completed_at: str | None = Field(None, json_schema_extra={"format": "date-time"})
    next_attempt_at: str | None = None
    message: str | None = None
    failure: str | None = None
    history: list[HistoryEntry] | None = Field(
        None, max_length=HISTORY_LIMIT, description="The latest phase changes, oldest first."
    )
    conditions: list[Condition] | None = None
    gates: list[GateStatus] | None = None
    lock_holder: str | None = None
    deployment_uid: str | None = Field(None, alias="deploymentUID")
    patched_generation: int | None = None
    patched_at: str | None = None
    verifying_since: str | None = None
    failure_detected_at: str | None = None
    rollback: RollbackStatus | None = None


class DeploymentRequest(Model):
    api_version: str = f"{GROUP}/{VERSION}"
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

"""The ``job`` gate: a Kubernetes JobSpec the operator runs as a Job, and how long the gate waits for it.

The JobSpec is what the user would write under a Job's ``spec``. The schema checks the fields a Job cannot do
without and the bounds the API server applies (a container list, ``restartPolicy`` Never or OnFailure, non-negative
counts and deadlines) and keeps every other field as written (``x-kubernetes-preserve-unknown-fields``): the API
server validates the whole Job when the operator creates it (with ``fieldValidation=Strict``), and a Job it refuses
ends the request Failed at once with the server's message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field

from deployreq.api.base import DNS_LABEL, DNS_SUBDOMAIN, Model

MIN_TTL_SECONDS = 60
"""The smallest ``ttlSecondsAfterFinished``: a finished Job must outlive an operator restart, or the restarted
operator, not finding it, would run it again."""
DEFAULT_TTL_SECONDS = 3600
"""``ttlSecondsAfterFinished`` when the JobSpec sets none."""

_OPEN = ConfigDict(extra="allow", json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})


class JobContainer(Model):
    """A container of the Job's pods; fields not listed here are kept as written and checked by the API server."""

    model_config = _OPEN
    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL)
    """The container's name (a DNS label)."""
    image: str = Field(min_length=1, max_length=512)
    """The image to run, e.g. registry.example/migrate:2.0."""


class RestartPolicy(StrEnum):
    NEVER = "Never"
    ON_FAILURE = "OnFailure"


class JobPodSpec(Model):
    """The Job's pod spec; fields not listed here are kept as written and checked by the API server."""

    model_config = _OPEN
    containers: list[JobContainer] = Field(min_length=1, max_length=32)
    """The containers of the Job's pods (at least one)."""
    restart_policy: RestartPolicy
    """Never or OnFailure, as a Job requires."""
    service_account_name: str | None = Field(None, max_length=253, pattern=DNS_SUBDOMAIN)
    """A ServiceAccount of the request's namespace to run as (default: the namespace's default one); never the
    operator's own."""


class JobPodTemplate(Model):
    """The Job's pod template."""

    model_config = _OPEN
    metadata: Any = Field(
        None, json_schema_extra={"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    )
    """Labels and annotations of the Job's pods."""
    spec: JobPodSpec
    """The pods' spec."""


class JobSpec(Model):
    """A Job's spec as written for kubectl; fields not listed here are kept as written and checked by the API
    server when the operator creates the Job."""

    model_config = _OPEN
    template: JobPodTemplate
    """The pod template of the Job."""
    backoff_limit: int | None = Field(None, ge=0, le=2147483647)
    """Retries before the Job fails (the API server's default: 6)."""
    active_deadline_seconds: int | None = Field(None, ge=1)
    """Seconds the Job may be active before it fails with DeadlineExceeded."""
    ttl_seconds_after_finished: int | None = Field(None, ge=MIN_TTL_SECONDS)
    """Seconds a finished Job is kept before it is deleted (default 3600; at least 60, so that an operator restart
    finds the finished Job instead of running it again)."""
    completions: int | None = Field(None, ge=0)
    """Successful pods needed (default 1)."""
    parallelism: int | None = Field(None, ge=0)
    """Pods run at once (default 1)."""


class JobGate(Model):
    spec: JobSpec
    """The Job's spec, as under a Job's spec: the operator creates the Job in the request's namespace (named after
    the request, gate and run, owned by the request) and waits for its Complete or Failed condition."""
    timeout_seconds: int = Field(1800, ge=10, le=86400)
    """The most seconds the gate waits for the Job from its creation (an outer bound: the Job's own
    activeDeadlineSeconds and backoffLimit end it first); a Job still running then is deleted and the gate fails."""

"""The DeployPolicy API (issue 19): guardrails a platform team sets once for the namespaces a policy selects.

Cluster-scoped, ``deployreq.dev/v1alpha1``, plural ``deploypolicies``. The model is the source of the schema and of
what the decisions in :mod:`deployreq.decide.policy` read. Several policies may select one namespace: all of them
apply, so the strictest wins (each budget must have a slot, every policy's windows must be open, any freeze holds,
approval is needed when any policy asks for it, the smallest limit counts).

Served from ``crds/deploypolicies.deployreq.dev.yaml`` (``make crds``); the rules pydantic checks are CEL rules
(``x-kubernetes-validations``) in the schema, whether a time zone exists included (a policy stored before that rule
with a zone the operator does not know is reported and ignored).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ConfigDict, Field, ValidationError, model_validator

from deployreq.api.model import Model, Priority

CLOCK_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
ZONE_NAME = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"
"""The shape of an IANA time zone name."""
ZONE_KNOWN = "self != 'Local' && timestamp('2000-01-01T00:00:00Z').getHours(self) >= 0"
"""Whether the name exists: CEL's getHours(zone) fails on a zone the API server's database does not hold, and a rule
that fails refuses the object. ``Local`` (the server's own zone in Go) is no IANA name."""
ZONE_UNKNOWN = "timeZone must be an IANA time zone name such as Europe/Berlin or UTC"


def _cel(rule: str, message: str) -> ConfigDict:
    """A rule the API server checks at admission (x-kubernetes-validations), saying what pydantic's validator says."""
    return ConfigDict(json_schema_extra={"x-kubernetes-validations": [{"rule": rule, "message": message}]})


class Weekday(StrEnum):
    MON = "Mon"
    TUE = "Tue"
    WED = "Wed"
    THU = "Thu"
    FRI = "Fri"
    SAT = "Sat"
    SUN = "Sun"

    @property
    def weekday(self) -> int:
        """Monday 0 to Sunday 6, as :meth:`datetime.weekday`."""
        return list(Weekday).index(self)


class SelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class SelectorRequirement(Model):
    """One label requirement, as in a Kubernetes label selector."""

    key: str = Field(min_length=1, max_length=317, description="The label key.")
    operator: SelectorOperator = Field(description="In, NotIn, Exists or DoesNotExist.")
    values: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="The values for In and NotIn (at least one); empty for Exists and DoesNotExist.",
    )

    model_config = _cel(
        "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) "
        ": (!has(self.values) || size(self.values) == 0)",
        "In and NotIn need at least one value; Exists and DoesNotExist take none",
    )

    @model_validator(mode="after")
    def _values_fit_operator(self) -> SelectorRequirement:
        needs = self.operator in (SelectorOperator.IN, SelectorOperator.NOT_IN)
        if needs and not self.values:
            raise ValueError(f"{self.operator} needs at least one value")
        if not needs and self.values:
            raise ValueError(f"{self.operator} takes no values")
        return self


class NamespaceSelector(Model):
    """Which namespaces the policy governs, by their labels. An empty selector ({}) selects every namespace."""

    match_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels a namespace must carry, each with this value."
    )
    match_expressions: list[SelectorRequirement] = Field(
        default_factory=list,
        max_length=32,
        description="Further requirements on the namespace's labels; all must hold.",
    )


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f'unknown time zone "{name}": use an IANA name such as Europe/Berlin or UTC'
        ) from None
    return name


class DeployWindow(Model):
    """When requests may start: on these days, from start to end, in a time zone."""

    days: list[Weekday] = Field(
        min_length=1, max_length=7, description="The days the window opens (Mon to Sun)."
    )
    # maxLength bounds the CEL rule's estimated cost: without it kube-apiserver refuses the CRD (cost over budget).
    start: str = Field(
        pattern=CLOCK_TIME, max_length=5, description="Opening time, HH:MM (24 h) in timeZone."
    )
    end: str = Field(
        pattern=CLOCK_TIME,
        max_length=5,
        description="Closing time, HH:MM (24 h) in timeZone, after start (a window over midnight is two windows).",
    )
    time_zone: Annotated[str, AfterValidator(_known_zone)] = Field(
        "UTC",
        min_length=1,
        max_length=64,
        pattern=ZONE_NAME,
        description="IANA time zone of start and end, e.g. Europe/Berlin; a name the API server's time zone "
        "database does not hold is refused.",
        json_schema_extra={"x-kubernetes-validations": [{"rule": ZONE_KNOWN, "message": ZONE_UNKNOWN}]},
    )

    model_config = _cel("self.end > self.start", "window end must be after start (HH:MM, 24 h)")

    @model_validator(mode="after")
    def _end_after_start(self) -> DeployWindow:
        if self.end <= self.start:
            raise ValueError(f"window end {self.end} must be after start {self.start}")
        return self

    def minutes(self) -> tuple[int, int]:
        """(start, end) as minutes after midnight."""
        h1, m1 = (int(x) for x in self.start.split(":"))
        h2, m2 = (int(x) for x in self.end.split(":"))
        return h1 * 60 + m1, h2 * 60 + m2


class Freeze(Model):
    """A period when requests may not start (for instance holidays)."""

    start: datetime = Field(
        description="When the freeze begins (RFC 3339).", json_schema_extra={"maxLength": 64}
    )
    end: datetime = Field(
        description="When the freeze ends (RFC 3339), after start.", json_schema_extra={"maxLength": 64}
    )
    reason: str = Field(
        "", max_length=256, description="Why: shown in the message of every request it holds."
    )
    allow_urgent: bool = Field(False, description="Let requests of priority urgent start during the freeze.")

    model_config = _cel("timestamp(self.end) > timestamp(self.start)", "freeze end must be after start")

    @model_validator(mode="after")
    def _end_after_start(self) -> Freeze:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("freeze start and end need a time zone offset (e.g. 2026-12-24T00:00:00Z)")
        if self.end <= self.start:
            raise ValueError(
                f"freeze end {self.end.isoformat()} must be after start {self.start.isoformat()}"
            )
        return self


class ApprovalRule(Model):
    """Which requests wait for a second person's approval."""

    required: bool = Field(False, description="Requests need an approval before they start.")
    priorities: list[Priority] = Field(
        default_factory=list,
        max_length=4,
        description="Only requests of these priorities need it (empty: every priority).",
    )


class RequestLimits(Model):
    """Limits on what a request may ask for; a request beyond them ends Failed naming the policy."""

    max_verification_seconds: int | None = Field(
        None, ge=0, le=86400, description="The longest verification window a request may ask for."
    )
    max_rollout_timeout_seconds: int | None = Field(
        None, ge=10, le=86400, description="The longest rollout timeout a request may ask for."
    )
    allowed_priorities: list[Priority] = Field(
        default_factory=list, max_length=4, description="The priorities a request may have (empty: any)."
    )


class DeployPolicySpec(Model):
    namespace_selector: NamespaceSelector = Field(
        description="The namespaces governed, by label; {} selects every namespace (say so on purpose)."
    )
    max_concurrent: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="Requests active at once across all selected namespaces (none: no budget).",
    )
    windows: list[DeployWindow] = Field(
        default_factory=list, max_length=32, description="When requests may start (none: at any time)."
    )
    freezes: list[Freeze] = Field(
        default_factory=list, max_length=64, description="When requests may not start."
    )
    approval: ApprovalRule = Field(
        default_factory=ApprovalRule, description="Which requests need an approval."
    )
    limits: RequestLimits = Field(
        default_factory=RequestLimits, description="Limits on what a request may ask for."
    )


class DeployPolicy(Model):
    """A policy as the operator reads it: its name and its spec."""

    name: str = Field(min_length=1, max_length=253, description="The policy's name.")
    spec: DeployPolicySpec = Field(description="The guardrails.")


def parse(body: dict[str, Any]) -> DeployPolicy | str:
    """A DeployPolicy object as the API returns it, or what is wrong with it (one line, naming the field); never
    raises. The schema refuses most mistakes at admission; an unknown time zone is only found here."""
    name = str((body.get("metadata") or {}).get("name") or "")
    try:
        return DeployPolicy(name=name, spec=DeployPolicySpec.model_validate(body.get("spec") or {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"spec.{where}: {first['msg']}" if where else str(first["msg"])


def parse_time(value: str) -> datetime:
    """An RFC 3339 time, as policies and statuses write them."""
    return datetime.fromisoformat(re.sub(r"Z$", "+00:00", value)).astimezone(UTC)

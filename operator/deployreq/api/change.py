"""A status change: what one step of a run writes into the request's status, as a typed value.

Only the fields set when building :attr:`StatusChange.fields` change (one set to None is cleared); the rest of the
status stays as it is. :func:`deployreq.decide.status.patch` turns a change into the camelCase merge patch that
the engine writes (the one place where a status patch is built).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deployreq.api.phases import Phase
from deployreq.api.status_model import DeploymentRequestStatus

Fields = DeploymentRequestStatus
"""The fields a change sets: a status built with only those (pydantic records which were set)."""


@dataclass(frozen=True)
class StatusChange:
    fields: Fields = field(default_factory=Fields)
    phase: Phase | None = None
    """A phase entered: the message, history and conditions follow it."""
    message: str | None = None
    """The new ``status.message`` (with or without a phase change)."""
    generation: int | None = None
    """The generation the conditions describe (default: the status' observedGeneration, else the request's)."""

"""Pure gate bookkeeping: observations in, phase and counters out, as immutable records.
Rules (docs/gates.md says the same):

- a pass adds to ``consecutiveSuccesses`` and zeroes ``consecutiveFailures``; a failure does the opposite;
- an inconclusive observation (no data yet) changes neither counter, only ``lastValue``/``lastError``;
- phase: ``Failed`` once failures reach ``failureThreshold`` (or at a final failure, e.g. a refused
  address), and it stays Failed; ``Passed`` while successes are at or above ``successThreshold``;
  ``Passing`` with some successes below it; ``Pending`` otherwise (nothing conclusive yet, or failures below
  the threshold);
- ``ever_passed`` remembers that the gate reached Passed once (the post stage's verdict at the window's end);
- the first check is due ``initialDelaySeconds`` after the start, each next ``intervalSeconds`` later.

No I/O here: the module imports nothing from httpx, kopf or kubernetes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from deployreq.api.times import rfc3339

JOB_SLACK_SECONDS = 30
"""Beyond a job gate's ``timeoutSeconds``: the wait ends at the timeout, the slack covers creating the Job and
deleting a late one."""


class GatePhase(StrEnum):
    PENDING = "Pending"
    PASSING = "Passing"
    PASSED = "Passed"
    FAILED = "Failed"


@dataclass(frozen=True)
class Thresholds:
    """A gate's timing and counting parameters (the spec's defaults)."""

    success: int = 1
    failure: int = 3
    interval: float = 10.0
    initial_delay: float = 0.0
    timeout: float = 5.0

    @classmethod
    def from_spec(cls, gate: Any) -> Thresholds:
        """From a pydantic ``Gate`` (snake_case attributes). A ``job`` gate's one observation waits for its Job:
        it is bounded by the job's own ``timeoutSeconds`` (and a little slack), not the per-check timeout."""
        job = getattr(gate, "job", None)
        return cls(
            success=gate.success_threshold,
            failure=gate.failure_threshold,
            interval=float(gate.interval_seconds),
            initial_delay=float(gate.initial_delay_seconds),
            timeout=float(job.timeout_seconds + JOB_SLACK_SECONDS if job else gate.timeout_seconds),
        )


@dataclass(frozen=True)
class GateRecord:
    """One gate's state within a stage run; ``to_status`` renders its ``status.gates[]`` entry."""

    name: str
    stage: str
    kind: str
    phase: GatePhase = GatePhase.PENDING
    consecutive_successes: int = 0
    consecutive_failures: int = 0
    last_value: str | None = None
    last_error: str | None = None
    last_check_time: float | None = None
    next_check_at: float = 0.0
    ever_passed: bool = False
    final: bool = False
    """Failed for a cause that waiting cannot cure (a refused address, a check that cannot be carried out)."""

    def to_status(self) -> dict[str, Any]:
        """The camelCase ``status.gates[]`` entry (lastCheckTime as RFC 3339 UTC)."""
        return {
            "name": self.name,
            "stage": self.stage,
            "kind": self.kind,
            "phase": self.phase.value,
            "consecutiveSuccesses": self.consecutive_successes,
            "consecutiveFailures": self.consecutive_failures,
            "lastValue": self.last_value,
            "lastError": self.last_error,
            "lastCheckTime": rfc3339(self.last_check_time) if self.last_check_time is not None else None,
            **({"final": True} if self.final else {}),
        }


def start(name: str, stage: str, kind: str, thresholds: Thresholds, now: float) -> GateRecord:
    """A fresh record whose first check is due after the initial delay."""
    return GateRecord(name=name, stage=stage, kind=kind, next_check_at=now + thresholds.initial_delay)


def phase_of(successes: int, failures: int, thresholds: Thresholds) -> GatePhase:
    if failures >= thresholds.failure:
        return GatePhase.FAILED
    if successes >= thresholds.success:
        return GatePhase.PASSED
    if successes > 0:
        return GatePhase.PASSING
    return GatePhase.PENDING


def observe(
    record: GateRecord,
    thresholds: Thresholds,
    *,
    passed: bool | None,
    value: str,
    error: str,
    now: float,
    final: bool = False,
) -> GateRecord:
    """The record after one observation at ``now``. A Failed record stays as it is."""
    if record.phase is GatePhase.FAILED:
        return record
    successes, failures = record.consecutive_successes, record.consecutive_failures
    if passed is True:
        successes, failures = successes + 1, 0
    elif passed is False:
        successes, failures = 0, failures + 1
    final = passed is False and final
    phase = GatePhase.FAILED if final else phase_of(successes, failures, thresholds)
    return replace(
        record,
        phase=phase,
        final=final,
        consecutive_successes=successes,
        consecutive_failures=failures,
        last_value=value or None,
        last_error=error or None,
        last_check_time=now,
        next_check_at=now + thresholds.interval,
        ever_passed=record.ever_passed or phase is GatePhase.PASSED,
    )


def visible_change(before: GateRecord, after: GateRecord) -> bool:
    """Whether the status entry changed in anything but its check time (the runner publishes only then)."""
    a, b = before.to_status(), after.to_status()
    a.pop("lastCheckTime")
    b.pop("lastCheckTime")
    return a != b

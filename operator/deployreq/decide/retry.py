"""The retry rule (docs/architecture.md, "What is retried"): a cause that waiting may cure, before anything changed,
sends the run back to the queue for its next attempt; a final cause, or the attempts used up, ends it Failed."""

from __future__ import annotations

from deployreq.api.change import Fields, StatusChange
from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.api.times import rfc3339, rfc3339_ms
from deployreq.decide.steps import Finish, Requeue, finish


def attempts_of(req: Request) -> int:
    """How many times a run is tried in all: the first attempt and ``spec.retry.attempts`` retries."""
    return req.spec.retry.attempts + 1


def retry_message(cause: str, attempt: int, attempts: int, at: float, position: int | None = None) -> str:
    """What a request waiting for its next attempt tells: why, which attempt, and when it tries again."""
    where = f" Position {position} in the queue of its namespace." if position else ""
    return (
        f"Waiting to retry: {cause.rstrip('.')}. Attempt {attempt} of {attempts} failed; attempt {attempt + 1} "
        f"starts at {rfc3339(round(at))}.{where}"
    )


def requeue_or_fail(req: Request, message: str, now: float) -> Requeue | Finish:
    """For a cause that waiting may cure: try again after the backoff, or end Failed once the attempts are used
    up."""
    attempt = req.status.attempt or 1
    if attempt > req.spec.retry.attempts:
        tries = f"{attempt} attempt" if attempt == 1 else f"{attempt} attempts"
        return finish(Phase.FAILED, f"{message} (gave up after {tries})", "RetriesExhausted", now)
    at = now + req.spec.retry.backoff_seconds * (2 ** (attempt - 1))
    attempts = attempts_of(req)
    fields = Fields(next_attempt_at=rfc3339_ms(at), queue_position=None, failure=message)
    waiting = StatusChange(fields, Phase.QUEUED, retry_message(message, attempt, attempts, at))
    return Requeue(message, at, attempt, attempts, waiting)


def final_gate_failure(req: Request, stage: str) -> str | None:
    """The first gate of ``stage`` that failed for a cause waiting cannot cure, as "gate NAME: ERROR"; else None.

    The gate runner marks such a failure ``final`` in ``status.gates[]`` (a URL the SSRF guard refuses, a spec the
    check cannot carry out): repeating the check, or the run, cannot change it. A gate that failed
    ``failureThreshold`` times in a row (an unhealthy or unreachable service, timeouts) may pass later.
    """
    for gate in req.status.gates or []:
        if gate.stage == stage and gate.phase == "Failed" and gate.final:
            return f"gate {gate.name}: {gate.last_error or 'failed'}"
    return None

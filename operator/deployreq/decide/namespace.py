"""The namespace's turn: which request runs now, which starts next, what the waiting ones show, and how a run
starts. Pure: the engine reads the requests and the Lease, asks these, and writes what they say."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from deployreq.api.change import Fields, StatusChange
from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.api.times import epoch, rfc3339_ms
from deployreq.decide import queue, rollback
from deployreq.decide.retry import attempts_of, retry_message
from deployreq.decide.run import fresh_run, needs_run
from deployreq.decide.steps import Note, Obj, image_list

EMPTY: Mapping[str, StatusChange | None] = {}


def is_waiting(req: Request) -> bool:
    """Whether the request waits in the queue for a run (new, re-queued, changed after it ended, or re-run)."""
    if req.deleting:
        return False
    if req.phase in (Phase.PENDING, Phase.QUEUED, Phase.AWAITING_APPROVAL):
        return True
    return needs_run(req)


def entry(req: Request) -> queue.QueueEntry:
    return queue.QueueEntry(
        namespace=req.namespace,
        name=req.name,
        uid=req.uid,
        priority=req.priority,
        created=req.created,
        phase=Phase.QUEUED.value if is_waiting(req) else req.phase.value,
        deployment=req.deployment,
        containers=frozenset(req.spec_images),
    )


@dataclass(frozen=True)
class Drive:
    """Drive this active request (its lock held, or to be taken)."""

    request: Request


@dataclass(frozen=True)
class Release:
    """Our lock's request is over: remove its finalizer (``stale``, when it still has one), then hand the lock to
    the next request or release it."""

    stale: Request | None


@dataclass(frozen=True)
class StartNext:
    """Nothing runs: start the next due request, if any."""


Turn = Drive | Release | StartNext


def turn(reqs: list[Request], holder_uid: str | None, holder_is_us: bool) -> Turn:
    """What the namespace does now, given its requests and the Lease's holder (its request's uid)."""
    active = [r for r in reqs if r.active]
    current = next((r for r in active if r.uid == holder_uid), None) if holder_uid is not None else None
    if current is None and active:
        current = min(active, key=lambda r: (r.status.started_at or "", r.created, r.name))
    if current is not None:
        return Drive(current)
    if holder_uid is not None and holder_is_us:
        stale = next((r for r in reqs if r.uid == holder_uid), None)
        return Release(stale if stale is not None and stale.has_finalizer and stale.terminal else None)
    return StartNext()


@dataclass(frozen=True)
class Upkeep:
    """The queue's writes: requests superseded by newer ones, and each waiting request's position."""

    waiting: int
    superseded: list[tuple[Request, StatusChange, Note]] = field(default_factory=list)
    queued: list[tuple[Request, StatusChange]] = field(default_factory=list)


def upkeep(
    reqs: list[Request], starting: str | None, now: float, held: Mapping[str, StatusChange | None] = EMPTY
) -> Upkeep:
    """The queue's writes; ``starting`` (about to start) is not marked Queued: that write would be undone at once.
    ``held``: waiting requests a policy holds back (decide/approval.py), with the status each shows instead of a
    queue position (None: none to write); they may still be superseded, and take no position."""
    waiting = [r for r in reqs if is_waiting(r)]
    plan = queue.plan([entry(r) for r in waiting], None)
    by_name = {r.name: r for r in waiting}
    result = Upkeep(len(plan.positions))
    for name, newer in plan.superseded.items():
        req = by_name.pop(name, None)
        if req is not None:
            message = f'Superseded by the newer request "{newer}".'
            ended = ended_waiting(req, Phase.SUPERSEDED, message, now)
            result.superseded.append((req, ended, Note(Phase.SUPERSEDED.value, message)))
    in_line = [n for n in sorted(plan.positions, key=plan.positions.__getitem__) if n not in held]
    for name, hold in held.items():
        req = by_name.get(name)
        if req is not None and hold is not None:
            result.queued.append((req, hold))
    for position, name in enumerate(in_line, start=1):
        req = by_name.get(name)
        if req is None or name == starting:
            continue
        change = queued(req, position, now)
        if change is not None:
            result.queued.append((req, change))
    return result


def ended_waiting(req: Request, phase: Phase, message: str, now: float) -> StatusChange:
    fields = Fields(
        queue_position=None,
        completed_at=rfc3339_ms(now),
        observed_generation=req.generation,
        observed_rerun=req.rerun or None,
        reason=phase.value,
    )
    return StatusChange(fields, phase, message, req.generation)


def queued(req: Request, position: int, now: float) -> StatusChange | None:
    """A waiting request's position (and, for a new run, its fresh run records); None when it shows it already."""
    fresh = fresh_run(req)
    stale_hold = req.status.held_by is not None  # a policy held it before; it waits for its turn now
    if not fresh and not stale_hold and req.phase == Phase.QUEUED and req.status.queue_position == position:
        return None
    message = f"Waiting in the queue of namespace {req.namespace} at position {position}."
    retry_at = epoch(req.status.next_attempt_at)
    if not fresh and retry_at > now:
        cause = req.status.failure or "The last attempt failed"
        message = retry_message(cause, req.status.attempt or 1, attempts_of(req), retry_at, position)
    if fresh:
        fields = Fields(
            queue_position=position,
            observed_generation=req.generation,
            observed_rerun=req.rerun or None,
            attempt=None,
            next_attempt_at=None,
            completed_at=None,
            held_by=None,
        )
        return StatusChange(fields, Phase.QUEUED, message, req.generation)
    waiting = Fields(queue_position=position, held_by=None) if stale_hold else Fields(queue_position=position)
    if req.phase != Phase.QUEUED:
        return StatusChange(waiting, Phase.QUEUED, message, req.generation)
    return StatusChange(waiting, message=message)


@dataclass(frozen=True)
class Due:
    """The next request to start (None when none is due yet), and when the earliest not yet due one is."""

    request: Request | None
    wake_at: float | None
    any_waiting: bool


def next_due(reqs: list[Request], now: float, held: Collection[str] = frozenset()) -> Due:
    """The next request to start: queue order, skipping retries not yet due and requests ``held`` by a policy."""
    waiting = [r for r in reqs if is_waiting(r)]
    plan = queue.plan([entry(r) for r in waiting], None)
    by_name = {r.name: r for r in waiting if r.name not in held}
    wake_at: float | None = None
    for name in sorted(plan.positions, key=plan.positions.__getitem__):
        req = by_name.get(name)
        if req is None:
            continue
        due = epoch(req.status.next_attempt_at)
        if due > now:
            wake_at = due if wake_at is None else min(wake_at, due)
            continue
        return Due(req, wake_at, True)
    return Due(None, wake_at, bool(plan.positions))


@dataclass(frozen=True)
class Start:
    """A run's start: its status (records of the last run cleared), the phase it enters, its attempt, and the
    Events it records."""

    status: StatusChange
    phase: Phase
    attempt: int
    notes: tuple[Note, ...]


def start(req: Request, deployment: Obj | None, lock_holder: str | None, now: float) -> Start:
    """How ``req`` starts: Checking with pre-gates (or gates skipped), else Deploying. When it deploys at once,
    what the Patch step records is written with the start (one status write fewer)."""
    skipping = req.spec.gates.skip
    has_pre = bool(req.gates_of("pre")) or skipping
    new_run = req.terminal or (req.status.observed_generation or 0) != req.generation
    attempt = 1 if new_run else (req.status.attempt or 0) + 1
    fields = _run_records(req, attempt, lock_holder, now)
    phase = Phase.CHECKING if has_pre else Phase.DEPLOYING
    if phase == Phase.DEPLOYING and deployment is not None:
        current = rollback.images_of((deployment.get("spec") or {}).get("template") or {})
        fields = fields.model_copy(
            update={
                "previous_images": image_list({c: current[c] for c in req.spec_images if c in current}),
                "previous_revision": rollback.revision_of(deployment) or None,
                "deployment_uid": deployment.get("metadata", {}).get("uid"),
            }
        )
    doing = "gates skipped on request (emergency)." if skipping else "running pre-deploy gates."
    message = f"Holds the lock of namespace {req.namespace}; " + (doing if has_pre else "deploying.")
    started = Note("Started", f"Run started (attempt {attempt}).")
    skipped = Note("GatesSkipped", "spec.gates.skip is set: no gate runs for this request.", warning=True)
    notes = (skipped, started) if skipping else (started,)
    return Start(StatusChange(fields, phase, message, req.generation), phase, attempt, notes)


def _run_records(req: Request, attempt: int, lock_holder: str | None, now: float) -> Fields:
    """A new attempt's records: the last attempt's cleared."""
    return Fields(
        queue_position=None,  # the active request has no queue position (POSITION stays empty)
        held_by=None,
        observed_generation=req.generation,
        observed_rerun=req.rerun or None,
        attempt=attempt,
        images=image_list(req.spec_images),
        lock_holder=lock_holder,
        started_at=rfc3339_ms(now),
        completed_at=None,
        next_attempt_at=None,
        patched_generation=None,
        patched_at=None,
        verifying_since=None,
        failure_detected_at=None,
        failure=None,
        rollback=None,
        previous_images=None,
        previous_revision=None,
        revision=None,
        gates=None,
        target=req.target or None,
        workloads=None,
    )

"""What the active request of a namespace may do next, as values: each step carries the status change it makes.

:func:`deployreq.decide.progress.next_step` returns one of these; the engine carries it out and writes its
:class:`~deployreq.api.change.StatusChange` (a step that writes the Deployment first says what to record once the
write is done: :meth:`Patch.recorded`, :meth:`Undo.recorded`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deployreq.api.base import ImageUpdate
from deployreq.api.change import Fields, StatusChange
from deployreq.api.phases import Phase
from deployreq.api.status_model import AvailabilityStatus, RollbackStatus
from deployreq.api.times import rfc3339_ms
from deployreq.decide import rollback
from deployreq.durations import format_seconds

Obj = dict[str, Any]


def image_list(images: dict[str, str]) -> list[ImageUpdate]:
    return [ImageUpdate(container=c, image=i) for c, i in images.items()]


@dataclass(frozen=True)
class GateOutcome:
    """The verdict of a stage of gates."""

    passed: bool
    message: str


@dataclass(frozen=True)
class World:
    """What the cluster shows about the request's Deployment, and how its gates stand."""

    deployment: Obj | None
    replicasets: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    pre_gates: GateOutcome | None = None
    post_gates: GateOutcome | None = None
    gate_problems: tuple[str, ...] = ()
    skip_refused: str | None = None
    over_limits: tuple[str, ...] = ()
    """What the request asks beyond the operator's limits (:func:`deployreq.decide.semantic.over_limits`)."""


@dataclass(frozen=True)
class Note:
    """An Event a step records on the request."""

    reason: str
    message: str
    warning: bool = False


@dataclass(frozen=True)
class Wait:
    """Nothing to do until an event arrives or ``until`` (epoch seconds) passes."""

    until: float | None = None


@dataclass(frozen=True)
class Finish:
    """End the run in a terminal phase."""

    phase: Phase
    message: str
    reason: str
    status: StatusChange = field(default_factory=StatusChange, compare=False)

    @property
    def note(self) -> Note:
        return Note(self.reason, self.message, warning=self.phase != Phase.SUCCEEDED)

    def closing(self, availability: AvailabilityStatus) -> Finish:
        """This end, also recording the run's final degraded and down time."""
        fields = self.status.fields.model_copy(update={"availability": availability})
        return Finish(self.phase, self.message, self.reason, StatusChange(fields, self.phase, self.message))


def finish(phase: Phase, message: str, reason: str, now: float, revision: int | None = None) -> Finish:
    """The step that ends the run in ``phase``; a success records the revision it created."""
    fields = Fields(completed_at=rfc3339_ms(now), queue_position=None, next_attempt_at=None, reason=reason)
    if phase == Phase.SUCCEEDED:
        fields = fields.model_copy(update={"revision": revision})
    return Finish(phase, message, reason, StatusChange(fields, phase, message))


@dataclass(frozen=True)
class Requeue:
    """A failure that waiting may cure, before anything changed: back to the queue until ``at`` (epoch seconds).

    ``attempt`` is the attempt that failed, of ``attempts`` in all (the first run plus ``spec.retry.attempts``).
    """

    message: str
    at: float
    attempt: int = 1
    attempts: int = 1
    status: StatusChange = field(default_factory=StatusChange, compare=False)

    def note(self, now: float) -> Note:
        waiting = (self.status.message or "").removesuffix(".")
        return Note("RetryScheduled", f"{waiting} (in {format_seconds(self.at - now)}).", warning=True)


@dataclass(frozen=True)
class StartDeploy:
    """Pre-deploy checks done: enter Deploying."""

    status: StatusChange = field(
        default_factory=lambda: StatusChange(
            phase=Phase.DEPLOYING, message="Pre-deploy checks passed; deploying."
        ),
        compare=False,
    )


@dataclass(frozen=True)
class Patch:
    """Patch the Deployment's images, recording what was there before (``before``, written first: nothing when the
    start recorded the same) and the patch once written (:meth:`recorded`)."""

    images: dict[str, str]
    previous_images: dict[str, str]
    previous_revision: int
    before: StatusChange = field(default_factory=StatusChange, compare=False)

    @property
    def note(self) -> Note:
        return Note("Patched", "Patched " + ", ".join(f"{c}={i}" for c, i in self.images.items()))

    def recorded(self, generation: int, at: float) -> StatusChange:
        return StatusChange(
            Fields(patched_generation=generation, patched_at=rfc3339_ms(at)),
            message="Patched the images; waiting for the rollout.",
        )


def patch(
    images: dict[str, str], previous: dict[str, str], revision: int, deployment_uid: str | None
) -> Patch:
    before = Fields(
        previous_images=image_list(previous),
        previous_revision=revision or None,
        deployment_uid=deployment_uid,
    )
    return Patch(images, previous, revision, StatusChange(before))


@dataclass(frozen=True)
class Adopt:
    """Our patch is already on the Deployment (the operator restarted after patching): record it, do not repeat it."""

    generation: int
    previous_images: dict[str, str]
    status: StatusChange = field(default_factory=StatusChange, compare=False)


def adopt(generation: int, previous_images: dict[str, str], now: float) -> Adopt:
    fields = Fields(patched_generation=generation, patched_at=rfc3339_ms(now))
    message = "Found this run's patch already applied; waiting for the rollout."
    return Adopt(generation, previous_images, StatusChange(fields, message=message))


@dataclass(frozen=True)
class Verify:
    """The rollout completed: start the verification window."""

    status: StatusChange = field(default_factory=StatusChange, compare=False)


def verify(now: float, revision: int | None) -> Verify:
    fields = Fields(verifying_since=rfc3339_ms(now), revision=revision)
    return Verify(StatusChange(fields, Phase.VERIFYING, "Rolled out; verifying."))


@dataclass(frozen=True)
class StartRollback:
    message: str
    status: StatusChange = field(default_factory=StatusChange, compare=False)

    @property
    def note(self) -> Note:
        return Note("RollingBack", self.message, warning=True)


def start_rollback(message: str, now: float) -> StartRollback:
    fields = Fields(failure_detected_at=rfc3339_ms(now), failure=message)
    return StartRollback(message, StatusChange(fields, Phase.ROLLING_BACK, f"Rolling back: {message}"))


@dataclass(frozen=True)
class Undo:
    """Apply ``kubectl rollout undo``'s patch (none when ``plan.skipped``), then record it (:meth:`recorded`)."""

    plan: rollback.UndoPlan

    def recorded(self, generation: int, at: float) -> StatusChange:
        target = self.plan.target_revision
        return StatusChange(
            Fields(rollback=_rollback(target, generation, at)),
            message=f"Rolled back to revision {target}; waiting for it to be available.",
        )


def _rollback(target: int | None, generation: int, at: float) -> RollbackStatus:
    return RollbackStatus(target_revision=target, patched_generation=generation, patched_at=rfc3339_ms(at))


@dataclass(frozen=True)
class AdoptUndo:
    """Our undo is already on the Deployment (the operator restarted after patching it): record it."""

    generation: int
    status: StatusChange = field(default_factory=StatusChange, compare=False)


def adopt_undo(generation: int, target: int | None, now: float) -> AdoptUndo:
    message = "Found this run's rollback already applied; waiting for it to be available."
    return AdoptUndo(
        generation, StatusChange(Fields(rollback=_rollback(target, generation, now)), message=message)
    )


Recorded = StartDeploy | Adopt | Verify | StartRollback | AdoptUndo
"""The steps that only write the request's status."""
Step = Wait | Finish | Requeue | StartDeploy | Patch | Adopt | Verify | StartRollback | Undo | AdoptUndo

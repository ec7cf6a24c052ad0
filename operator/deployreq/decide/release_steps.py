"""The steps of a request of several workloads (``spec.workloads``) beyond those every run shares
(:mod:`deployreq.decide.steps`), and the per-workload records (``status.workloads``) they write.

Each record is written into the request's status before the next step is decided, so an operator that restarts
(or is killed) at any point decides the same thing again: a workload's patch is recognised by its run annotation,
its undo by its result, and neither is sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deployreq.api.change import Fields, StatusChange
from deployreq.api.request import Request
from deployreq.api.times import rfc3339_ms
from deployreq.api.workload import WorkloadRollback, WorkloadSpec, WorkloadStatus
from deployreq.decide import kinds
from deployreq.decide.steps import Note, image_list

Obj = dict[str, Any]
Key = tuple[str, str]


def key_of(item: WorkloadSpec | WorkloadStatus) -> Key:
    return (item.kind.value, item.name)


def entries_of(req: Request) -> dict[Key, WorkloadStatus]:
    """What this run recorded of each workload so far."""
    return {key_of(e): e for e in req.status.workloads or []}


def _entry(req: Request, target: WorkloadSpec) -> WorkloadStatus:
    return entries_of(req).get(key_of(target)) or WorkloadStatus(kind=target.kind, name=target.name)


def with_entry(req: Request, entry: WorkloadStatus) -> list[WorkloadStatus]:
    """``status.workloads`` with ``entry`` in place, in the order of spec.workloads."""
    entries = {**entries_of(req), key_of(entry): entry}
    ordered = [entries.pop(key_of(t)) for t in req.targets if key_of(t) in entries]
    return ordered + list(entries.values())


def update(req: Request, target: WorkloadSpec, **changes: Any) -> WorkloadStatus:
    """The workload's record with ``changes`` (snake_case fields)."""
    return _entry(req, target).model_copy(update=changes)


def record_change(req: Request, entry: WorkloadStatus, message: str | None = None) -> StatusChange:
    return StatusChange(Fields(workloads=with_entry(req, entry)), message=message)


@dataclass(frozen=True)
class Record:
    """A step that only writes the request's status (a workload's record), with an optional Event."""

    status: StatusChange
    note: Note | None = None


@dataclass(frozen=True)
class PatchWorkload:
    """Set the images of one workload (strategic merge by container name, fenced by the resourceVersion judged),
    after recording what it ran before (``before``); :meth:`recorded` once the write is done."""

    target: WorkloadSpec
    seen_rv: str
    before: WorkloadStatus
    request: Request = field(compare=False)

    @property
    def images(self) -> dict[str, str]:
        return self.target.image_map

    @property
    def before_change(self) -> StatusChange:
        return record_change(self.request, self.before)

    @property
    def note(self) -> Note:
        images = ", ".join(f"{c}={i}" for c, i in self.images.items())
        return Note("Patched", f"Patched {self.target.ref}: {images}")

    def recorded(self, generation: int, at: float) -> StatusChange:
        done = self.before.model_copy(update={"patched_generation": generation, "patched_at": rfc3339_ms(at)})
        message = f"Patched {self.target.ref}; waiting for its rollout."
        return StatusChange(Fields(workloads=_replaced(self.request, done)), message=message)


@dataclass(frozen=True)
class UndoWorkload:
    """Send ``kubectl rollout undo``'s patch for one workload (none when ``plan.skipped``), fenced by what was
    judged, then record it (:meth:`recorded`)."""

    target: WorkloadSpec
    plan: kinds.UndoPlan
    seen_generation: int
    seen_rv: str
    request: Request = field(compare=False)

    def recorded(self, generation: int, at: float) -> StatusChange:
        entry = _entry(self.request, self.target)
        rollback = WorkloadRollback(
            target_revision=self.plan.target_revision,
            patched_generation=generation,
            patched_at=rfc3339_ms(at),
        )
        message = f"Rolled {self.target.ref} back to revision {self.plan.target_revision}; waiting for it to be available."
        return record_change(self.request, entry.model_copy(update={"rollback": rollback}), message)


def _replaced(req: Request, entry: WorkloadStatus) -> list[WorkloadStatus]:
    return with_entry(req, entry)


def before_patch(req: Request, view: kinds.View) -> PatchWorkload:
    """The patch of ``view``'s workload, recording first its images, revision and uid."""
    current = view.images
    before = update(
        req,
        view.spec,
        uid=view.uid or None,
        previous_images=image_list({c: current.get(c, "") for c in view.spec.image_map}),
        previous_revision=kinds.revision(view),
    )
    return PatchWorkload(view.spec, view.resource_version, before, req)


def adopt(req: Request, view: kinds.View, now: float) -> Record:
    entry = update(req, view.spec, patched_generation=view.generation, patched_at=rfc3339_ms(now))
    message = f"Found this run's patch of {view.ref} already applied; waiting for its rollout."
    return Record(record_change(req, entry, message))


def unchanged(req: Request, view: kinds.View) -> Record:
    entry = update(req, view.spec, unchanged=True)
    note = Note("AlreadyInPlace", f"{view.ref} already runs the images asked for; not patched.")
    return Record(record_change(req, entry, note.message), note)


def rolled_out(req: Request, view: kinds.View, now: float) -> Record:
    entry = update(req, view.spec, rolled_out_at=rfc3339_ms(now), revision=kinds.revision(view))
    note = Note("RolledOut", f"{view.ref} rolled out and available.")
    return Record(record_change(req, entry, note.message), note)


def adopt_undo(req: Request, view: kinds.View, target_revision: int | None, now: float) -> Record:
    rollback = WorkloadRollback(
        target_revision=target_revision, patched_generation=view.generation, patched_at=rfc3339_ms(now)
    )
    entry = update(req, view.spec, rollback=rollback)
    message = f"Found this run's rollback of {view.ref} already applied; waiting for it to be available."
    return Record(record_change(req, entry, message))


def rolled_back(req: Request, view: kinds.View, now: float) -> Record:
    entry = _entry(req, view.spec)
    rollback = (entry.rollback or WorkloadRollback()).model_copy(update={"available_at": rfc3339_ms(now)})
    done = entry.model_copy(update={"rollback": rollback, "revision": kinds.revision(view)})
    note = Note(
        "WorkloadRolledBack", f"{view.ref} is back on revision {rollback.target_revision} and available."
    )
    return Record(record_change(req, done, note.message), note)


def left_alone(req: Request, target: WorkloadSpec, why: str) -> Record:
    entry = update(req, target, left_alone=why)
    note = Note("LeftAlone", f"Not rolling back {target.ref}: {why}", warning=True)
    return Record(record_change(req, entry, note.message), note)

"""What a request of several workloads (``spec.workloads``) does next: a pure decision, as
:mod:`deployreq.decide.progress` is for one Deployment.

- **Deploying**: the workloads are patched in the listed order, each judged complete (as ``kubectl rollout status``)
  before the next is patched. Before the first patch every workload must exist and fit the request, so a bad
  request changes nothing; a workload missing then is retried as a missing Deployment is.
- **Verifying**: post gates and the verification window once, after all; every changed workload must stay complete.
- **RollingBack**: every workload this run changed is undone in reverse order, each as ``kubectl rollout undo
  KIND/NAME --to-revision N`` (N: its revision before the run), and judged available before the next; one that
  someone else changed since (or deleted) is left alone. The request ends RolledBack only when all are back and
  available, else Failed naming those left alone.

Checking (pre gates) and the deletion of a request that changed nothing are the one-Deployment path's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.api.times import epoch
from deployreq.api.workload import WorkloadStatus
from deployreq.decide import kinds, progress, rollback, rollout, steps
from deployreq.decide import release_steps as rs
from deployreq.decide.retry import requeue_or_fail
from deployreq.decide.steps import Finish, Wait, World, finish

Step = steps.Step | rs.Record | rs.PatchWorkload | rs.UndoWorkload


@dataclass(frozen=True)
class ReleaseWorld:
    """The request's gates and refusals (``base``) and each of its workloads, in order."""

    base: World
    views: list[kinds.View] = field(default_factory=list)
    mirrored: bool = True
    """Whether the StatefulSet, DaemonSet and ControllerRevision mirrors have listed once."""


def next_step(req: Request, world: ReleaseWorld, now: float, thresholds: rollout.Thresholds) -> Step:
    phase = req.phase
    if phase not in (Phase.DEPLOYING, Phase.VERIFYING, Phase.ROLLING_BACK):
        return progress.next_step(req, world.base, now, thresholds)
    if not world.mirrored:
        return Wait()
    if phase == Phase.DEPLOYING:
        return _deploying(req, world, now, thresholds)
    if phase == Phase.VERIFYING:
        return _verifying(req, world, now, thresholds)
    return _rolling_back(req, world, now, thresholds)


def _changed(req: Request) -> list[WorkloadStatus]:
    return [e for e in req.status.workloads or [] if e.patched_generation]


def _first_refusal(req: Request, world: ReleaseWorld, now: float) -> Step | None:
    """Before anything changed: what the operator refuses, a missing workload (retried), one that cannot take it."""
    base = world.base
    if req.problem:
        return finish(Phase.FAILED, req.problem, "InvalidRequest", now)
    problems = (
        ("OverLimit", "; ".join(base.over_limits)),
        ("GateSkipRefused", base.skip_refused or ""),
        ("InvalidGates", "; ".join(base.gate_problems)),
    )
    for reason, message in problems:
        if message:
            return finish(Phase.FAILED, message, reason, now)
    for view in world.views:
        if view.obj is None:
            message = (
                f'{view.kind.value} "{view.spec.name}" not found in namespace "{req.namespace}" '
                "(it may not be created or synced yet)"
            )
            return requeue_or_fail(req, message, now)
    unfit = [p for p in map(kinds.unfit, world.views) if p]
    if unfit:
        return finish(Phase.FAILED, "; ".join(unfit), "InvalidRequest", now)
    return None


def _failed(req: Request, message: str, reason: str, now: float) -> Step:
    """A failure after something changed: undo it all, or end Failed when rollback is disabled."""
    if req.spec.rollback.enabled:
        return steps.start_rollback(message, now)
    return finish(Phase.FAILED, f"{message} (rollback disabled)", reason, now)


def _deploying(req: Request, world: ReleaseWorld, now: float, thresholds: rollout.Thresholds) -> Step:
    changed = _changed(req)
    if req.deleting:
        if not changed:
            return finish(
                Phase.CANCELLED, "The request was deleted before it changed anything.", "Deleted", now
            )
        return _failed(req, "The request was deleted during the rollout; undoing its change.", "Deleted", now)
    if not changed:
        refused = _first_refusal(req, world, now)
        if refused is not None:
            return refused
    entries = rs.entries_of(req)
    for view in world.views:
        entry = entries.get(rs.key_of(view.spec))
        if entry is None or not (entry.patched_generation or entry.unchanged):
            return _before_patch(req, view, now)
        if entry.unchanged or entry.rolled_out_at:
            continue
        return _rolling_out(req, view, entry, now, thresholds)
    if not changed:
        return finish(
            Phase.SUCCEEDED, "The images are already in place; nothing was changed.", "AlreadyInPlace", now
        )
    if req.spec.verification.duration_seconds > 0 or req.has_gates("post"):
        return steps.verify(now, None)
    return finish(Phase.SUCCEEDED, f"Rolled out {req.target} and all are available.", "RolledOut", now)


def _before_patch(req: Request, view: kinds.View, now: float) -> Step:
    """The next workload, not patched yet: the patch, or its adoption after a restart, or nothing to do."""
    if view.obj is None:
        return _failed(req, f'{view.kind.value} "{view.spec.name}" not found', "WorkloadDeleted", now)
    problem = kinds.unfit(view)
    if problem:
        return _failed(req, problem, "InvalidRequest", now)
    current = view.images
    in_place = all(current.get(c) == i for c, i in view.spec.image_map.items())
    if in_place and view.run_annotation == progress.run_id(req):
        return rs.adopt(req, view, now)
    if in_place:
        return rs.unchanged(req, view)
    return rs.before_patch(req, view)


def _moved(view: kinds.View, entry: WorkloadStatus) -> str | None:
    """Why the workload no longer shows this run's patch: deleted, or changed by someone else; None when it does."""
    if view.obj is None:
        return "deleted during the rollout"
    if entry.uid and view.uid != entry.uid:
        return "deleted and created again during the rollout"
    if view.generation > (entry.patched_generation or 0):
        return (
            f"changed by someone else during the rollout (generation {view.generation}, expected "
            f"{entry.patched_generation})"
        )
    return None


def _rolling_out(
    req: Request, view: kinds.View, entry: WorkloadStatus, now: float, thresholds: rollout.Thresholds
) -> Step:
    moved = _moved(view, entry)
    if moved:
        return _failed(req, f"{view.ref} was {moved}", "ChangedElsewhere", now)
    if view.generation < (entry.patched_generation or 0):
        return Wait()  # our view has not caught up with our own patch yet
    since = epoch(entry.patched_at)
    timeout = req.spec.rollout.timeout_seconds
    verdict = kinds.verdict(view, now, since, timeout, thresholds)
    if verdict.state == "Failed":
        return _failed(req, f"{view.ref}: {verdict.message}", verdict.reason or "RolloutFailed", now)
    if verdict.state == "Complete":
        return rs.rolled_out(req, view, now)
    return Wait(since + timeout + 0.5)


def _verifying(req: Request, world: ReleaseWorld, now: float, thresholds: rollout.Thresholds) -> Step:
    """Verifying: every changed workload stays complete for the whole window, and the post gates pass."""
    if req.deleting:
        return _failed(
            req, "The request was deleted during verification; undoing its change.", "Deleted", now
        )
    seconds = req.spec.verification.duration_seconds
    until = epoch(req.status.verifying_since) + seconds
    post = req.has_gates("post")
    if post and world.base.post_gates is not None and not world.base.post_gates.passed:
        return steps.start_rollback(f"Post-deploy gates failed: {world.base.post_gates.message}", now)
    entries = rs.entries_of(req)
    healthy = True
    for view in world.views:
        entry = entries.get(rs.key_of(view.spec))
        if entry is None or not entry.patched_generation:
            continue
        moved = _moved(view, entry)
        if moved:
            return _failed(req, f"{view.ref} was {moved}", "ChangedElsewhere", now)
        verdict = kinds.verdict(view, now, 0.0, 0.0, thresholds)
        if verdict.state == "Failed":
            return _failed(req, f"{view.ref}: {verdict.message}", verdict.reason or "RolloutFailed", now)
        healthy = healthy and verdict.state == "Complete"
    if not healthy:
        return Wait(until)
    if now >= until and (not post or world.base.post_gates is not None):
        gates_note = " and its post-deploy gates passed" if post else ""
        message = f"Rolled out {req.target} and all stayed healthy for {seconds}s{gates_note}."
        return finish(Phase.SUCCEEDED, message, "Verified", now)
    return Wait(until if now < until else None)


def _rolling_back(req: Request, world: ReleaseWorld, now: float, thresholds: rollout.Thresholds) -> Step:
    entries = rs.entries_of(req)
    for view in reversed(world.views):
        entry = entries.get(rs.key_of(view.spec))
        if entry is None or not entry.patched_generation or entry.left_alone:
            continue
        if entry.rollback is not None and entry.rollback.available_at:
            continue
        return _undo_one(req, view, entry, now, thresholds)
    return _rolled_back(req, now)


def _undo_one(
    req: Request, view: kinds.View, entry: WorkloadStatus, now: float, thresholds: rollout.Thresholds
) -> Step:
    """The next workload to undo: its undo (or the adoption of one already written), then its verdict."""
    patched = entry.patched_generation or 0
    if view.obj is None or (entry.uid and view.uid != entry.uid):
        return rs.left_alone(req, view.spec, "it was deleted since this request patched it")
    undo = entry.rollback
    if undo is None or not undo.patched_generation:
        if view.generation < patched:
            return Wait()
        previous = {i.container: i.image for i in entry.previous_images or []}
        if kinds.is_our_undo(view, patched, previous, progress.run_id(req)):
            return rs.adopt_undo(req, view, entry.previous_revision, now)
        if view.generation > patched:
            return rs.left_alone(
                req, view.spec, "it was changed by someone else since this request patched it"
            )
        try:
            plan = kinds.plan_undo(view, entry.previous_revision or 0)
        except rollback.UndoError as exc:
            return rs.left_alone(req, view.spec, f"cannot roll back: {exc}")
        return rs.UndoWorkload(view.spec, plan, view.generation, view.resource_version, req)
    if view.generation < undo.patched_generation:
        return Wait()
    since = epoch(undo.patched_at)
    verdict = kinds.verdict(view, now, since, req.spec.rollout.timeout_seconds, thresholds)
    if verdict.state == "Complete":
        return rs.rolled_back(req, view, now)
    if verdict.state == "Failed":
        return rs.left_alone(req, view.spec, f"its rollback did not become available: {verdict.message}")
    return Wait(since + req.spec.rollout.timeout_seconds + 0.5)


def _rolled_back(req: Request, now: float) -> Finish:
    """Every changed workload undone or left alone: RolledBack when all are back, else Failed naming the others."""
    cause = req.status.failure or req.status.message or ""
    entries = [e for e in req.status.workloads or [] if e.patched_generation]
    left = [e for e in entries if e.left_alone]
    back = ", ".join(f"{e.kind.value.lower()}/{e.name}" for e in entries if not e.left_alone) or "nothing"
    if left:
        named = "; ".join(f"{e.kind.value.lower()}/{e.name}: {e.left_alone}" for e in left)
        changed = all("someone else" in (e.left_alone or "") for e in left)
        message = f"Rolled back {back}; left alone {named}. Cause: {cause}"
        return finish(Phase.FAILED, message, "ChangedElsewhere" if changed else "RollbackFailed", now)
    phase_after = Phase.CANCELLED if req.deleting else Phase.ROLLED_BACK
    return finish(phase_after, f"Rolled back {back}: {cause}", "RolledBack", now)

"""What the active request of a namespace does next: a pure decision over the request and what the cluster shows.

The worker calls :func:`next_step` after every event or timer and carries the step out; each step carries the
status change it makes (:mod:`deployreq.decide.steps`), persisted before the next one is decided, so a restarted
operator decides the same thing from the same data.
"""

from __future__ import annotations

from typing import Any

from deployreq.api.names import REVISION_ANNOTATION, RUN_ANNOTATION
from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.api.times import epoch
from deployreq.decide import availability, rollback, rollout, semantic, steps
from deployreq.decide.retry import final_gate_failure, requeue_or_fail
from deployreq.decide.steps import (
    Finish,
    GateOutcome,
    Patch,
    StartDeploy,
    Step,
    Wait,
    World,
    finish,
)

Obj = dict[str, Any]

__all__ = [
    "GateOutcome",
    "Patch",
    "Step",
    "World",
    "change_cause",
    "next_step",
    "run_id",
    "verification_until",
]


def run_id(req: Request) -> str:
    """Names one run of one request: the value written on the Deployment so a restart recognises its own patch."""
    return f"{req.name}/{req.uid}/{_observed(req)}/{req.status.observed_rerun or ''}"


def change_cause(req: Request) -> str:
    return f"deployreq: {req.namespace}/{req.name} (generation {_observed(req)})"


def _observed(req: Request) -> int:
    observed = req.status.observed_generation
    return req.generation if observed is None else observed


def _generation(obj: Obj) -> int:
    return int(obj.get("metadata", {}).get("generation") or 0)


def verification_until(req: Request) -> float | None:
    """End of the verification window (epoch), or None when there is no window."""
    seconds = req.spec.verification.duration_seconds
    since = req.status.verifying_since
    return epoch(since) + seconds if seconds and since else None


def new_revision(world: World) -> int | None:
    """The revision of the Deployment's new ReplicaSet (None when it has none, or an unparsable one)."""
    dep = world.deployment
    rs = rollout.new_replicaset(dep, world.replicasets) if dep else None
    if rs is None or REVISION_ANNOTATION not in (rs.get("metadata", {}).get("annotations") or {}):
        return None
    return rollback.parse_revision(rs)


def _judge(
    req: Request, world: World, now: float, since: float, thresholds: rollout.Thresholds
) -> rollout.Verdict:
    dep = world.deployment or {}
    new_rs = rollout.new_replicaset(dep, world.replicasets)
    timeout = req.spec.rollout.timeout_seconds
    return rollout.verdict(dep, new_rs, world.pods, now, since, timeout, thresholds)


def next_step(req: Request, world: World, now: float, thresholds: rollout.Thresholds) -> Step:
    """The next thing the active request does. ``now`` is epoch seconds. One function per phase below; a run that
    changed the workload ends with its degraded and down time closed."""
    step = _next(req, world, now, thresholds)
    if isinstance(step, Finish) and req.status.patched_generation:
        return step.closing(availability.close(req.status.availability, now))
    return step


def _next(req: Request, world: World, now: float, thresholds: rollout.Thresholds) -> Step:
    phase = req.phase
    if req.deleting and phase in (Phase.CHECKING, Phase.QUEUED, Phase.PENDING):
        return _deleted_before_change(now)
    if phase == Phase.CHECKING:
        return _checking(req, world, now)
    if phase == Phase.DEPLOYING and not req.status.patched_generation:
        return _before_patch(req, world, now)
    if phase in (Phase.DEPLOYING, Phase.VERIFYING):
        return _rolling_out(req, world, now, thresholds)
    if phase == Phase.ROLLING_BACK:
        return _rolling_back(req, world, now, thresholds)
    return Wait()


def _deleted_before_change(now: float) -> Finish:
    return finish(Phase.CANCELLED, "The request was deleted before it changed anything.", "Deleted", now)


def _refused(req: Request, world: World, now: float) -> Finish | None:
    """The admission checks a run passes before its pre-gates and again before its patch."""
    if req.problem:
        return finish(Phase.FAILED, req.problem, "InvalidRequest", now)
    if world.over_limits:
        return finish(Phase.FAILED, "; ".join(world.over_limits), "OverLimit", now)
    if world.skip_refused:
        return finish(Phase.FAILED, world.skip_refused, "GateSkipRefused", now)
    if world.gate_problems:
        return finish(Phase.FAILED, "; ".join(world.gate_problems), "InvalidGates", now)
    return None


def _checking(req: Request, world: World, now: float) -> steps.Step:
    """Checking: the pre-deploy gates decide whether the patch may go out."""
    refused = _refused(req, world, now)
    if refused is not None:
        return refused
    if not req.has_gates("pre"):
        return StartDeploy()
    if world.pre_gates is None:
        return Wait()
    if world.pre_gates.passed:
        return StartDeploy()
    final = final_gate_failure(req, "pre")
    if final is not None:
        return finish(
            Phase.FAILED,
            f"Pre-deploy {final}. Retrying cannot change this: fix the gate (or the operator's "
            "--gate-allow-cidr) and apply the request again.",
            "GateFailed",
            now,
        )
    return requeue_or_fail(req, f"Pre-deploy gates failed: {world.pre_gates.message}", now)


def _before_patch(req: Request, world: World, now: float) -> Step:
    """Deploying, nothing patched yet: the last checks against the Deployment, then the patch (or its adoption)."""
    dep = world.deployment
    if req.deleting:
        return _deleted_before_change(now)
    if dep is None:
        return requeue_or_fail(
            req,
            f'Deployment "{req.deployment}" not found in namespace "{req.namespace}" '
            "(it may not be created or synced yet)",
            now,
        )
    refused = _refused(req, world, now) or _unfit(req, dep, now)
    if refused is not None:
        return refused
    current = rollback.images_of((dep.get("spec") or {}).get("template") or {})
    wanted = req.run_images
    in_place = all(current.get(c) == i for c, i in wanted.items())
    annotations = dep.get("metadata", {}).get("annotations") or {}
    if in_place and annotations.get(RUN_ANNOTATION) == run_id(req):
        return steps.adopt(_generation(dep), req.previous_images, now)
    if in_place:
        return finish(
            Phase.SUCCEEDED, "The images are already in place; nothing was changed.", "AlreadyInPlace", now
        )
    previous = {c: current.get(c, "") for c in wanted}
    uid = dep.get("metadata", {}).get("uid")
    return steps.patch(wanted, previous, rollback.revision_of(dep), uid)


def _unfit(req: Request, dep: Obj, now: float) -> Finish | None:
    """A request the Deployment cannot take: a container it lacks, or paused."""
    problems = semantic.check_against_deployment(req.spec, dep)
    if problems:
        return finish(Phase.FAILED, "; ".join(problems), "InvalidRequest", now)
    if (dep.get("spec") or {}).get("paused"):
        return finish(
            Phase.FAILED,
            f'Deployment "{req.deployment}" is paused; resume it with '
            f"'kubectl rollout resume deployment/{req.deployment}' and re-run this request",
            "DeploymentPaused",
            now,
        )
    return None


def _rolling_out(req: Request, world: World, now: float, thresholds: rollout.Thresholds) -> Step:
    """Deploying after the patch, or Verifying: judge the rollout; undo it when it fails."""
    dep = world.deployment
    if dep is None:
        message = f'Deployment "{req.deployment}" was deleted during the rollout.'
        return finish(Phase.FAILED, message, "DeploymentDeleted", now)
    patched = req.status.patched_generation or 0
    if _generation(dep) < patched:
        return Wait()  # our view has not caught up with our own patch yet
    if _generation(dep) > patched:
        return finish(
            Phase.FAILED,
            f'Deployment "{req.deployment}" was changed by someone else during the '
            f"rollout (generation {_generation(dep)}, expected {patched}); not rolling back over "
            "their change.",
            "ChangedElsewhere",
            now,
        )
    rollback_enabled = req.spec.rollback.enabled
    if req.deleting:
        if rollback_enabled:
            return steps.start_rollback(
                "The request was deleted during the rollout; undoing its change.", now
            )
        message = "The request was deleted during the rollout; rollback is disabled."
        return finish(Phase.CANCELLED, message, "Deleted", now)
    patched_at = epoch(req.status.patched_at)
    verdict = _judge(req, world, now, patched_at, thresholds)
    if verdict.state == "Failed":
        if rollback_enabled:
            return steps.start_rollback(verdict.message, now)
        message = f"{verdict.message} (rollback disabled)"
        return finish(Phase.FAILED, message, verdict.reason or "RolloutFailed", now)
    if req.phase == Phase.DEPLOYING:
        if verdict.state == "Complete":
            if req.spec.verification.duration_seconds > 0 or req.has_gates("post"):
                return steps.verify(now, new_revision(world))
            return finish(Phase.SUCCEEDED, "Rolled out and available.", "RolledOut", now, new_revision(world))
        return Wait(patched_at + req.spec.rollout.timeout_seconds + 0.5)
    return _verifying(req, world, now, verdict)


def _verifying(req: Request, world: World, now: float, verdict: rollout.Verdict) -> Step:
    """Verifying: the rollout must stay healthy for the whole window, and the post-deploy gates pass."""
    seconds = req.spec.verification.duration_seconds
    until = epoch(req.status.verifying_since) + seconds
    post = req.has_gates("post")
    if post and world.post_gates is not None and not world.post_gates.passed:
        return steps.start_rollback(f"Post-deploy gates failed: {world.post_gates.message}", now)
    if verdict.state != "Complete":
        return Wait(until)
    if now >= until and (not post or world.post_gates is not None):
        gates_note = " and its post-deploy gates passed" if post else ""
        message = f"Rolled out and stayed healthy for {seconds}s{gates_note}."
        return finish(Phase.SUCCEEDED, message, "Verified", now, new_revision(world))
    return Wait(until if now < until else None)


def _rolling_back(req: Request, world: World, now: float, thresholds: rollout.Thresholds) -> Step:
    """RollingBack: write the undo (or adopt one already written), then judge it as a rollout."""
    dep = world.deployment
    if dep is None:
        message = f'Deployment "{req.deployment}" was deleted; nothing to roll back.'
        return finish(Phase.FAILED, message, "DeploymentDeleted", now)
    rb = req.status.rollback
    if rb is None or not rb.patched_generation:
        return _undo(req, world, dep, now)
    if _generation(dep) < rb.patched_generation:
        return Wait()
    since = epoch(rb.patched_at)
    verdict = _judge(req, world, now, since, thresholds)
    if verdict.state == "Complete":
        phase_after = Phase.CANCELLED if req.deleting else Phase.ROLLED_BACK
        cause = req.status.failure or req.status.message or ""
        return finish(
            phase_after, f"Rolled back to revision {rb.target_revision}: {cause}", "RolledBack", now
        )
    if verdict.state == "Failed":
        message = f"The rollback did not become available: {verdict.message}"
        return finish(Phase.FAILED, message, "RollbackFailed", now)
    return Wait(since + req.spec.rollout.timeout_seconds + 0.5)


def _is_our_undo(req: Request, dep: Obj) -> bool:
    """The Deployment shows exactly the images from before our patch, one generation after it, and no longer
    carries our run's annotation: what our own undo leaves."""
    previous = req.previous_images
    current = rollback.images_of((dep.get("spec") or {}).get("template") or {})
    annotations = dep.get("metadata", {}).get("annotations") or {}
    return (
        bool(previous)
        and all(current.get(c) == i for c, i in previous.items())
        and annotations.get(RUN_ANNOTATION) != run_id(req)
    )


def _undo(req: Request, world: World, dep: Obj, now: float) -> Step:
    """The undo of this run's patch, unless someone else changed the Deployment since."""
    patched = req.status.patched_generation or 0
    if _generation(dep) < patched:
        return Wait()
    if _generation(dep) == patched + 1 and _is_our_undo(req, dep):
        return steps.adopt_undo(_generation(dep), req.status.previous_revision, now)
    if _generation(dep) > patched:
        return finish(
            Phase.FAILED,
            f'Deployment "{req.deployment}" was changed by someone else since '
            "this request patched it; not rolling back over their change.",
            "ChangedElsewhere",
            now,
        )
    try:
        plan = rollback.plan_undo(dep, world.replicasets, req.status.previous_revision or 0)
    except rollback.UndoError as exc:
        return finish(Phase.FAILED, f"Cannot roll back: {exc}", "RollbackImpossible", now)
    return steps.Undo(plan)

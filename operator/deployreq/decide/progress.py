"""What the active request of a namespace does next: a pure decision over the request and what the cluster shows.

The worker calls :func:`next_step` after every event or timer and carries the step out; each step is persisted in the
request's status before the next one is decided, so a restarted operator decides the same thing from the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deployreq.api import model
from deployreq.api.names import RUN_ANNOTATION
from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.api.times import epoch
from deployreq.decide import rollback, rollout, semantic

Obj = dict[str, Any]


# The defaults of an unset field, from the model (the CRD's defaults come from the same fields).
_ROLLOUT = model.RolloutSpec()
_ROLLBACK = model.RollbackSpec()
_RETRY = model.RetrySpec()
_VERIFICATION = model.VerificationSpec()


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
class Wait:
    """Nothing to do until an event arrives or ``until`` (epoch seconds) passes."""

    until: float | None = None


@dataclass(frozen=True)
class Finish:
    """End the run in a terminal phase."""

    phase: Phase
    message: str
    reason: str


@dataclass(frozen=True)
class Requeue:
    """A failure that waiting may cure, before anything changed: back to the queue until ``at`` (epoch seconds).

    ``attempt`` is the attempt that failed, of ``attempts`` in all (the first run plus ``spec.retry.attempts``).
    """

    message: str
    at: float
    attempt: int = 1
    attempts: int = 1


@dataclass(frozen=True)
class StartDeploy:
    """Pre-deploy checks done: enter Deploying."""


@dataclass(frozen=True)
class Patch:
    """Patch the Deployment's images, recording what was there before."""

    images: dict[str, str]
    previous_images: dict[str, str]
    previous_revision: int


@dataclass(frozen=True)
class Adopt:
    """Our patch is already on the Deployment (the operator restarted after patching): record it, do not repeat it."""

    generation: int
    previous_images: dict[str, str]


@dataclass(frozen=True)
class Verify:
    """The rollout completed: start the verification window."""


@dataclass(frozen=True)
class StartRollback:
    message: str


@dataclass(frozen=True)
class Undo:
    """Apply ``kubectl rollout undo``'s patch."""

    plan: rollback.UndoPlan


@dataclass(frozen=True)
class AdoptUndo:
    """Our undo is already on the Deployment (the operator restarted after patching it): record it."""

    generation: int


Step = Wait | Finish | Requeue | StartDeploy | Patch | Adopt | Verify | StartRollback | Undo | AdoptUndo


def _is_our_undo(req: Request, dep: Obj) -> bool:
    """The Deployment shows exactly the images from before our patch, one generation after it, and no longer
    carries our run's annotation: what our own undo leaves."""
    template = (dep.get("spec") or {}).get("template") or {}
    previous = {str(p["container"]): str(p["image"]) for p in req.status.get("previousImages") or []}
    annotations = dep.get("metadata", {}).get("annotations") or {}
    current = rollback.images_of(template)
    return (
        bool(previous)
        and all(current.get(c) == i for c, i in previous.items())
        and annotations.get(RUN_ANNOTATION) != run_id(req)
    )


def run_id(req: Request) -> str:
    """Names one run of one request: the value written on the Deployment so a restart recognises its own patch."""
    rerun = req.status.get("observedRerun") or ""
    return f"{req.name}/{req.uid}/{req.status.get('observedGeneration', req.generation)}/{rerun}"


def change_cause(req: Request) -> str:
    return f"deployreq: {req.namespace}/{req.name} (generation {req.status.get('observedGeneration', req.generation)})"


def _revision(obj: Obj | None) -> int:
    return rollback.revision_of(obj) if obj else 0


def _generation(obj: Obj) -> int:
    return int(obj.get("metadata", {}).get("generation") or 0)


def _timeout(req: Request) -> int:
    return int((req.spec.get("rollout") or {}).get("timeoutSeconds") or _ROLLOUT.timeout_seconds)


def _rollback_enabled(req: Request) -> bool:
    return bool((req.spec.get("rollback") or {}).get("enabled", _ROLLBACK.enabled))


def _verification_seconds(req: Request) -> int:
    return int((req.spec.get("verification") or {}).get("durationSeconds") or _VERIFICATION.duration_seconds)


def _attempts(req: Request) -> int:
    return int((req.spec.get("retry") or {}).get("attempts", _RETRY.attempts))


def attempts_of(req: Request) -> int:
    """How many times a run is tried in all: the first attempt and ``spec.retry.attempts`` retries."""
    return _attempts(req) + 1


def _backoff(req: Request) -> int:
    return int((req.spec.get("retry") or {}).get("backoffSeconds") or _RETRY.backoff_seconds)


def has_gates(req: Request, stage: str) -> bool:
    gates = req.spec.get("gates") or {}
    return bool(gates.get(stage)) and not gates.get("skip")


def verification_until(req: Request) -> float | None:
    """End of the verification window (epoch), or None when there is no window."""
    seconds = _verification_seconds(req)
    since = req.status.get("verifyingSince")
    return epoch(since) + seconds if seconds and since else None


def _patched(req: Request) -> bool:
    return bool(req.status.get("patchedGeneration"))


def requeue_or_fail(req: Request, message: str, now: float) -> Requeue | Finish:
    """For a cause that waiting may cure (docs/architecture.md, "What is retried"): try again after the backoff,
    or end Failed once the attempts are used up."""
    attempt = int(req.status.get("attempt") or 1)
    if attempt > _attempts(req):
        tries = f"{attempt} attempt" if attempt == 1 else f"{attempt} attempts"
        return Finish(Phase.FAILED, f"{message} (gave up after {tries})", "RetriesExhausted")
    return Requeue(message, now + _backoff(req) * (2 ** (attempt - 1)), attempt, _attempts(req) + 1)


def final_gate_failure(req: Request, stage: str) -> str | None:
    """The first gate of ``stage`` that failed for a cause waiting cannot cure, as "gate NAME: ERROR"; else None.

    The gate runner marks such a failure ``final`` in ``status.gates[]`` (a URL the SSRF guard refuses, a spec the
    check cannot carry out): repeating the check, or the run, cannot change it. A gate that failed
    ``failureThreshold`` times in a row (an unhealthy or unreachable service, timeouts) may pass later.
    """
    for gate in req.status.get("gates") or []:
        if gate.get("stage") == stage and gate.get("phase") == "Failed" and gate.get("final"):
            return f"gate {gate.get('name')}: {gate.get('lastError') or 'failed'}"
    return None


def _judge(
    req: Request, world: World, now: float, since: float, thresholds: rollout.Thresholds
) -> rollout.Verdict:
    dep = world.deployment or {}
    new_rs = rollout.new_replicaset(dep, world.replicasets)
    return rollout.verdict(dep, new_rs, world.pods, now, since, _timeout(req), thresholds)


def next_step(req: Request, world: World, now: float, thresholds: rollout.Thresholds) -> Step:
    """The next thing the active request does. ``now`` is epoch seconds. One function per phase below."""
    phase = req.phase
    if req.deleting and phase in (Phase.CHECKING, Phase.QUEUED, Phase.PENDING):
        return _deleted_before_change()
    if phase == Phase.CHECKING:
        return _checking(req, world, now)
    if phase == Phase.DEPLOYING and not _patched(req):
        return _before_patch(req, world, now)
    if phase in (Phase.DEPLOYING, Phase.VERIFYING):
        return _rolling_out(req, world, now, thresholds)
    if phase == Phase.ROLLING_BACK:
        return _rolling_back(req, world, now, thresholds)
    return Wait()


def _deleted_before_change() -> Finish:
    return Finish(Phase.CANCELLED, "The request was deleted before it changed anything.", "Deleted")


def _refused(world: World) -> Finish | None:
    """The admission checks a run passes before its pre-gates and again before its patch."""
    if world.over_limits:
        return Finish(Phase.FAILED, "; ".join(world.over_limits), "OverLimit")
    if world.skip_refused:
        return Finish(Phase.FAILED, world.skip_refused, "GateSkipRefused")
    if world.gate_problems:
        return Finish(Phase.FAILED, "; ".join(world.gate_problems), "InvalidGates")
    return None


def _checking(req: Request, world: World, now: float) -> Step:
    """Checking: the pre-deploy gates decide whether the patch may go out."""
    refused = _refused(world)
    if refused is not None:
        return refused
    if not has_gates(req, "pre"):
        return StartDeploy()
    if world.pre_gates is None:
        return Wait()
    if world.pre_gates.passed:
        return StartDeploy()
    final = final_gate_failure(req, "pre")
    if final is not None:
        return Finish(
            Phase.FAILED,
            f"Pre-deploy {final}. Retrying cannot change this: fix the gate (or the operator's "
            "--gate-allow-cidr) and apply the request again.",
            "GateFailed",
        )
    return requeue_or_fail(req, f"Pre-deploy gates failed: {world.pre_gates.message}", now)


def _before_patch(req: Request, world: World, now: float) -> Step:
    """Deploying, nothing patched yet: the last checks against the Deployment, then the patch (or its adoption)."""
    dep = world.deployment
    if req.deleting:
        return _deleted_before_change()
    if dep is None:
        return requeue_or_fail(
            req,
            f'Deployment "{req.deployment}" not found in namespace "{req.namespace}" '
            "(it may not be created or synced yet)",
            now,
        )
    refused = _refused(world)
    if refused is not None:
        return refused
    problems = semantic.check_against_deployment(req.spec, dep)
    if problems:
        return Finish(Phase.FAILED, "; ".join(problems), "InvalidRequest")
    if (dep.get("spec") or {}).get("paused"):
        return Finish(
            Phase.FAILED,
            f'Deployment "{req.deployment}" is paused; resume it with '
            f"'kubectl rollout resume deployment/{req.deployment}' and re-run this request",
            "DeploymentPaused",
        )
    template = (dep.get("spec") or {}).get("template") or {}
    current = rollback.images_of(template)
    wanted = req.run_images
    annotations = dep.get("metadata", {}).get("annotations") or {}
    if annotations.get(RUN_ANNOTATION) == run_id(req) and all(current.get(c) == i for c, i in wanted.items()):
        previous = req.status.get("previousImages") or []
        return Adopt(_generation(dep), {str(p["container"]): str(p["image"]) for p in previous})
    if all(current.get(c) == i for c, i in wanted.items()):
        return Finish(
            Phase.SUCCEEDED, "The images are already in place; nothing was changed.", "AlreadyInPlace"
        )
    return Patch(wanted, {c: current.get(c, "") for c in wanted}, _revision(dep))


def _rolling_out(req: Request, world: World, now: float, thresholds: rollout.Thresholds) -> Step:
    """Deploying after the patch, or Verifying: judge the rollout; undo it when it fails."""
    dep = world.deployment
    if dep is None:
        return Finish(
            Phase.FAILED,
            f'Deployment "{req.deployment}" was deleted during the rollout.',
            "DeploymentDeleted",
        )
    patched = int(req.status.get("patchedGeneration") or 0)
    if _generation(dep) < patched:
        return Wait()  # our view has not caught up with our own patch yet
    if _generation(dep) > patched:
        return Finish(
            Phase.FAILED,
            f'Deployment "{req.deployment}" was changed by someone else during the '
            f"rollout (generation {_generation(dep)}, expected {patched}); not rolling back over "
            "their change.",
            "ChangedElsewhere",
        )
    if req.deleting:
        if _rollback_enabled(req):
            return StartRollback("The request was deleted during the rollout; undoing its change.")
        return Finish(
            Phase.CANCELLED,
            "The request was deleted during the rollout; rollback is disabled.",
            "Deleted",
        )
    verdict = _judge(req, world, now, epoch(req.status.get("patchedAt")), thresholds)
    if verdict.state == "Failed":
        if _rollback_enabled(req):
            return StartRollback(verdict.message)
        return Finish(
            Phase.FAILED, f"{verdict.message} (rollback disabled)", verdict.reason or "RolloutFailed"
        )
    if req.phase == Phase.DEPLOYING:
        if verdict.state == "Complete":
            if _verification_seconds(req) > 0 or has_gates(req, "post"):
                return Verify()
            return Finish(Phase.SUCCEEDED, "Rolled out and available.", "RolledOut")
        return Wait(epoch(req.status.get("patchedAt")) + _timeout(req) + 0.5)
    return _verifying(req, world, now, verdict)


def _verifying(req: Request, world: World, now: float, verdict: rollout.Verdict) -> Step:
    """Verifying: the rollout must stay healthy for the whole window, and the post-deploy gates pass."""
    until = epoch(req.status.get("verifyingSince")) + _verification_seconds(req)
    post = has_gates(req, "post")
    if post and world.post_gates is not None and not world.post_gates.passed:
        return StartRollback(f"Post-deploy gates failed: {world.post_gates.message}")
    if verdict.state != "Complete":
        return Wait(until)
    if now >= until and (not post or world.post_gates is not None):
        gates_note = " and its post-deploy gates passed" if post else ""
        return Finish(
            Phase.SUCCEEDED,
            f"Rolled out and stayed healthy for {_verification_seconds(req)}s{gates_note}.",
            "Verified",
        )
    return Wait(until if now < until else None)


def _rolling_back(req: Request, world: World, now: float, thresholds: rollout.Thresholds) -> Step:
    """RollingBack: write the undo (or adopt one already written), then judge it as a rollout."""
    dep = world.deployment
    if dep is None:
        return Finish(
            Phase.FAILED,
            f'Deployment "{req.deployment}" was deleted; nothing to roll back.',
            "DeploymentDeleted",
        )
    rb = req.status.get("rollback") or {}
    if not rb.get("patchedGeneration"):
        return _undo(req, world, dep)
    if _generation(dep) < int(rb["patchedGeneration"]):
        return Wait()
    since = epoch(rb.get("patchedAt"))
    verdict = _judge(req, world, now, since, thresholds)
    if verdict.state == "Complete":
        phase_after = Phase.CANCELLED if req.deleting else Phase.ROLLED_BACK
        return Finish(
            phase_after,
            f"Rolled back to revision {rb.get('targetRevision')}: "
            f"{req.status.get('failure') or req.status.get('message', '')}",
            "RolledBack",
        )
    if verdict.state == "Failed":
        return Finish(
            Phase.FAILED, f"The rollback did not become available: {verdict.message}", "RollbackFailed"
        )
    return Wait(since + _timeout(req) + 0.5)


def _undo(req: Request, world: World, dep: Obj) -> Step:
    """The undo of this run's patch, unless someone else changed the Deployment since."""
    patched = int(req.status.get("patchedGeneration") or 0)
    if _generation(dep) < patched:
        return Wait()
    if _generation(dep) == patched + 1 and _is_our_undo(req, dep):
        return AdoptUndo(_generation(dep))
    if _generation(dep) > patched:
        return Finish(
            Phase.FAILED,
            f'Deployment "{req.deployment}" was changed by someone else since '
            "this request patched it; not rolling back over their change.",
            "ChangedElsewhere",
        )
    try:
        plan = rollback.plan_undo(dep, world.replicasets, int(req.status.get("previousRevision") or 0))
    except rollback.UndoError as exc:
        return Finish(Phase.FAILED, f"Cannot roll back: {exc}", "RollbackImpossible")
    return Undo(plan)

"""What the active request's next decision sees: its Deployment, ReplicaSets and new Pods from the cache, what the
operator refuses in it, and how its gate stages stand (a stage starts when first asked for)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.decide import progress, rollout, semantic
from deployreq.decide.steps import GateOutcome, World
from deployreq.engine.context import Context
from deployreq.gates import skip_refusal, validate_gates


def refusals(ctx: Context, req: Request, limits: semantic.Limits) -> World:
    """What the operator refuses in the request (limits, a gate skip, gates that cannot run), as a World."""
    gate_runs = ctx.gates
    skip = req.spec.gates.skip
    skip_refused = skip_refusal(skip, gate_runs.settings) if gate_runs is not None else None
    problems = tuple(validate_gates([gate for _, gate in req.gate_specs]))
    over = tuple(semantic.over_limits(req.spec, limits))
    return World(None, gate_problems=problems, skip_refused=skip_refused, over_limits=over)


def gate_outcomes(
    ctx: Context, req: Request, refused: World, wake: Callable[[], None]
) -> tuple[GateOutcome | None, GateOutcome | None]:
    """The pre and post stages' verdicts (None while running or not asked), started when the phase needs them."""
    gate_runs = ctx.gates
    if gate_runs is None or refused.skip_refused or refused.gate_problems:
        return None, None
    if req.phase == Phase.CHECKING and req.has_gates("pre"):
        return gate_runs.outcome(req, "pre", None, wake), None
    if req.phase == Phase.VERIFYING and req.has_gates("post"):
        return None, gate_runs.outcome(req, "post", progress.verification_until(req), wake)
    return None, None


def without_workload(ctx: Context, req: Request, limits: semantic.Limits, wake: Callable[[], None]) -> World:
    """What the operator refuses in ``req`` and how its gates stand, its workloads not yet read (a release reads
    each of its own; a Deployment request adds its Deployment in :func:`observe`)."""
    refused = refusals(ctx, req, limits)
    pre, post = gate_outcomes(ctx, req, refused, wake)
    return replace(refused, pre_gates=pre, post_gates=post)


def observe(ctx: Context, req: Request, limits: semantic.Limits, wake: Callable[[], None]) -> World:
    """The world of ``req`` now."""
    seen = without_workload(ctx, req, limits, wake)
    cache = ctx.cache
    namespace = req.namespace
    dep = cache.deployment(namespace, req.deployment)
    if dep is None:
        return seen
    rses = cache.replicasets_of(namespace, dep.get("metadata", {}).get("uid", ""))
    new_rs = rollout.new_replicaset(dep, rses)
    pods = cache.pods_of(namespace, {new_rs["metadata"]["uid"]} if new_rs else set())
    return replace(seen, deployment=dep, replicasets=rses, pods=pods)

"""Which finished requests the operator deletes, so a namespace's history stays bounded (``--finished-ttl``,
``--finished-history-limit``). A pure decision over the requests as the cluster holds them: after a restart the same
requests give the same answer.

Never deleted: a request that is not finished, or will run again (a new generation or rerun annotation), or still
holds the finalizer; the two newest ``Succeeded`` requests of each workload (``deployreq rollback`` restores their
images); and a request that git manages (Argo CD's or Flux's tracking marks, or ``deployreq.dev/keep``): a GitOps
tool would create it again, and a re-created request runs again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from deployreq.api import times
from deployreq.api.names import KEEP_ANNOTATION
from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.decide import run

KEPT_SUCCEEDED = 2
"""Succeeded requests kept per workload whatever their age: the last good release and the one before it."""
MANAGED_ANNOTATIONS = ("argocd.argoproj.io/tracking-id", KEEP_ANNOTATION)
MANAGED_LABELS = (
    "app.kubernetes.io/instance",  # Argo CD's default tracking label
    "kustomize.toolkit.fluxcd.io/name",
    "helm.toolkit.fluxcd.io/name",
)


@dataclass(frozen=True)
class PrunePlan:
    delete: tuple[Request, ...]
    """The requests to delete now, oldest first."""
    next_at: float | None
    """When the oldest kept request reaches its age limit (epoch seconds); None when nothing will."""


def managed(req: Request) -> bool:
    annotations, labels = req.annotations, req.labels
    return any(a in annotations for a in MANAGED_ANNOTATIONS) or any(x in labels for x in MANAGED_LABELS)


def ended_at(req: Request) -> float:
    """When the request ended (its creation when the status does not say)."""
    return times.parse_or_none(req.summary.completed_at) or times.parse_or_none(req.created) or 0.0


def prunable(req: Request) -> bool:
    return (
        req.terminal
        and not req.deleting
        and not req.has_finalizer
        and not run.needs_run(req)
        and not managed(req)
    )


def _protected(requests: Sequence[Request]) -> set[str]:
    """The uids of the newest Succeeded requests of each workload."""
    by_workload: dict[str, list[Request]] = {}
    for req in requests:
        if req.phase == Phase.SUCCEEDED:
            by_workload.setdefault(req.deployment, []).append(req)
    kept: set[str] = set()
    for group in by_workload.values():
        group.sort(key=ended_at, reverse=True)
        kept.update(r.uid for r in group[:KEPT_SUCCEEDED])
    return kept


def plan(requests: Sequence[Request], now: float, max_age_seconds: float, keep: int) -> PrunePlan:
    """The finished requests of one namespace to delete: older than ``max_age_seconds`` after they ended, or beyond
    the ``keep`` newest finished ones (0 turns either limit off)."""
    protected = _protected([r for r in requests if r.terminal])
    finished = sorted((r for r in requests if prunable(r)), key=ended_at, reverse=True)
    delete: list[Request] = []
    expiries: list[float] = []
    for index, req in enumerate(finished):
        if req.uid in protected:
            continue
        expires = ended_at(req) + max_age_seconds
        if (keep and index >= keep) or (max_age_seconds and expires <= now):
            delete.append(req)
        elif max_age_seconds:
            expiries.append(expires)
    return PrunePlan(tuple(reversed(delete)), min(expiries, default=None))

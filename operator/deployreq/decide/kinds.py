"""The three workload kinds behind one interface: what the cluster shows of one (:class:`View`), whether it can take
a request, its revision, its rollout verdict, and the undo ``kubectl rollout undo KIND/NAME`` would send.

Deployments are judged and undone as the one-Deployment path does (:mod:`deployreq.decide.rollout`,
:mod:`deployreq.decide.rollback`); StatefulSets and DaemonSets by :mod:`deployreq.decide.workloads`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deployreq.api.names import RUN_ANNOTATION
from deployreq.api.workload import WorkloadKind, WorkloadSpec
from deployreq.decide import rollback, rollout, workloads

Obj = dict[str, Any]


@dataclass(frozen=True)
class View:
    """One workload of a request as the cluster shows it."""

    spec: WorkloadSpec
    obj: Obj | None
    owned: list[Obj] = field(default_factory=list)
    """Its ReplicaSets (a Deployment) or ControllerRevisions (a StatefulSet, a DaemonSet)."""
    pods: list[Obj] = field(default_factory=list)
    """The pods that judge its new images (a Deployment's new ReplicaSet's; the workload's own otherwise)."""

    @property
    def kind(self) -> WorkloadKind:
        return self.spec.kind

    @property
    def ref(self) -> str:
        return self.spec.ref

    @property
    def generation(self) -> int:
        return int(((self.obj or {}).get("metadata") or {}).get("generation") or 0)

    @property
    def resource_version(self) -> str:
        return str(((self.obj or {}).get("metadata") or {}).get("resourceVersion") or "")

    @property
    def uid(self) -> str:
        return str(((self.obj or {}).get("metadata") or {}).get("uid") or "")

    @property
    def images(self) -> dict[str, str]:
        return rollback.images_of(((self.obj or {}).get("spec") or {}).get("template") or {})

    @property
    def run_annotation(self) -> str | None:
        value = (((self.obj or {}).get("metadata") or {}).get("annotations") or {}).get(RUN_ANNOTATION)
        return None if value is None else str(value)


def _sts_or_ds(kind: WorkloadKind) -> workloads.Kind:
    return "StatefulSet" if kind == WorkloadKind.STATEFULSET else "DaemonSet"


def unfit(view: View) -> str | None:
    """Why the workload cannot take the request (a container it lacks, paused, no rollout status), else None."""
    obj = view.obj or {}
    spec = obj.get("spec") or {}
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    containers = [str(c.get("name")) for c in pod_spec.get("containers") or []]
    missing = [c for c in view.spec.image_map if c not in containers]
    if missing:
        return (
            f'{view.kind.value} "{view.spec.name}" has no container "{missing[0]}" (its containers: '
            f"{', '.join(containers) or 'none'}); fix spec.workloads"
        )
    if view.kind == WorkloadKind.DEPLOYMENT:
        if spec.get("paused"):
            return (
                f'Deployment "{view.spec.name}" is paused; resume it with '
                f"'kubectl rollout resume deployment/{view.spec.name}' and re-run this request"
            )
        return None
    strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy != "RollingUpdate":
        return (
            f'{view.kind.value} "{view.spec.name}" has updateStrategy {strategy}: its rollout cannot be judged '
            "(kubectl: rollout status is only available for RollingUpdate strategy type)"
        )
    return None


def revision(view: View) -> int | None:
    """The workload's current revision as ``kubectl rollout history`` numbers it (None when not known yet)."""
    obj = view.obj
    if obj is None:
        return None
    if view.kind == WorkloadKind.DEPLOYMENT:
        return rollback.revision_of(obj) or None
    current = workloads.current_revision(obj, view.owned)
    return int(current.get("revision") or 0) or None if current is not None else None


def verdict(
    view: View, now: float, since: float, timeout: float, thresholds: rollout.Thresholds
) -> rollout.Verdict:
    """Complete as ``kubectl rollout status`` says; Failed once a new pod certainly fails, or on timeout."""
    obj = view.obj or {}
    if view.kind == WorkloadKind.DEPLOYMENT:
        new_rs = rollout.new_replicaset(obj, view.owned)
        return rollout.verdict(obj, new_rs, view.pods, now, since, timeout, thresholds)
    try:
        return workloads.verdict(
            _sts_or_ds(view.kind),
            obj,
            view.pods,
            view.owned,
            now=now,
            started_at=since,
            timeout_seconds=timeout,
            thresholds=thresholds,
        )
    except workloads.UnjudgeableWorkload as exc:
        return rollout.Verdict("Failed", "Unjudgeable", str(exc))


@dataclass(frozen=True)
class UndoPlan:
    """What ``kubectl rollout undo KIND/NAME --to-revision N`` sends: a JSON patch (a Deployment) or the
    ControllerRevision's data as a strategic merge patch; nothing when ``skipped``."""

    target_revision: int
    body: Obj | list[Obj] | None
    json_patch: bool
    skipped: bool
    message: str


def plan_undo(view: View, to_revision: int) -> UndoPlan:
    """kubectl's undo of the workload to ``to_revision`` (0: the previous one); raises rollback.UndoError."""
    obj = view.obj or {}
    if view.kind == WorkloadKind.DEPLOYMENT:
        plan = rollback.plan_undo(obj, view.owned, to_revision)
        return UndoPlan(plan.target_revision, plan.ops, True, plan.skipped, plan.message)
    undo = workloads.plan_revision_undo(_sts_or_ds(view.kind), obj, view.owned, to_revision)
    return UndoPlan(undo.target_revision, undo.patch, False, undo.skipped, undo.message)


def is_our_undo(view: View, patched_generation: int, previous: dict[str, str], run: str) -> bool:
    """The workload shows what our own undo leaves: one generation after our patch, the images from before it
    (and, for a Deployment, whose undo replaces its annotations, no longer our run's annotation)."""
    if view.generation != patched_generation + 1 or not previous:
        return False
    current = view.images
    if any(current.get(c) != i for c, i in previous.items()):
        return False
    return view.kind != WorkloadKind.DEPLOYMENT or view.run_annotation != run

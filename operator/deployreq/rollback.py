"""What ``kubectl rollout undo`` computes (kubectl pkg/polymorphichelpers/rollback.go), and the image patch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deployreq.rollout import HASH_LABEL, controlled_by, template_without_hash

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
# Annotations of the Deployment that `rollout undo` keeps rather than taking them from the ReplicaSet.
SKIPPED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)


class UndoError(Exception):
    """kubectl's refusal, with kubectl's message."""


@dataclass(frozen=True)
class UndoPlan:
    target_revision: int
    ops: list[Obj] = field(default_factory=list)
    skipped: bool = False
    message: str = ""


def revision_of(obj: Obj) -> int:
    try:
        return int((obj.get("metadata", {}).get("annotations") or {}).get(REVISION) or 0)
    except ValueError:
        return 0


def plan_undo(deployment: Obj, replicasets: list[Obj], to_revision: int = 0) -> UndoPlan:
    name = deployment.get("metadata", {}).get("name", "")
    if (deployment.get("spec") or {}).get("paused"):
        raise UndoError(
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' "
            "and try again"
        )
    uid = str(deployment.get("metadata", {}).get("uid", ""))
    owned = [rs for rs in replicasets if controlled_by(rs, uid)]
    history = {revision_of(rs): rs for rs in owned}
    if to_revision > 0:
        target = history.get(to_revision)
        if target is None:
            raise UndoError(f"unable to find specified revision {to_revision} in history")
    else:
        revisions = sorted(history)
        if len(revisions) < 2:
            raise UndoError(f'no rollout history found for deployment "{name}"')
        to_revision = revisions[-2]
        target = history[to_revision]
    template = template_without_hash((target.get("spec") or {}).get("template") or {})
    current = template_without_hash((deployment.get("spec") or {}).get("template") or {})
    if template == current:
        return UndoPlan(
            to_revision,
            skipped=True,
            message=f"skipped rollback (current template already matches revision {to_revision})",
        )
    dep_annotations = deployment.get("metadata", {}).get("annotations") or {}
    annotations = {k: v for k, v in dep_annotations.items() if k in SKIPPED_ANNOTATIONS}
    for key, value in (target.get("metadata", {}).get("annotations") or {}).items():
        if key not in SKIPPED_ANNOTATIONS:
            annotations[key] = value
    ops = [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]
    return UndoPlan(to_revision, ops, message=f"deployment.apps/{name} rolled back")


def images_of(template: Obj) -> dict[str, str]:
    spec = template.get("spec") or {}
    return {str(c.get("name")): str(c.get("image")) for c in spec.get("containers") or []}


def image_patch(images: dict[str, str], change_cause: str) -> Obj:
    """A strategic-merge body setting only the named containers' images (merged by name) and the change cause."""
    return {
        "metadata": {"annotations": {"kubernetes.io/change-cause": change_cause}},
        "spec": {"template": {"spec": {"containers": [{"name": c, "image": i} for c, i in images.items()]}}},
    }


__all__ = ["HASH_LABEL", "UndoError", "UndoPlan", "image_patch", "images_of", "plan_undo", "revision_of"]

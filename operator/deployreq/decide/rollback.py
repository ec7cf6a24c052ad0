"""What ``kubectl rollout undo`` computes (kubectl pkg/polymorphichelpers/rollback.go), and the image patch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deployreq.api.names import REVISION_ANNOTATION
from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.decide.rollout import HASH_LABEL, controlled_by, template_without_hash

Obj = dict[str, Any]
# Annotations of the Deployment that `rollout undo` keeps rather than taking them from the ReplicaSet.
SKIPPED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION_ANNOTATION,
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
    """The revision annotation as a number; missing or unparsable counts as 0."""
    return parse_revision(obj) or 0


def parse_revision(obj: Obj) -> int | None:
    """kubectl's rule: a missing revision annotation counts as 0, an unparsable one as no revision at all."""
    value = (obj.get("metadata", {}).get("annotations") or {}).get(REVISION_ANNOTATION)
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        return None


def _target(name: str, replicasets: list[Obj], to_revision: int) -> Obj:
    """kubectl's deploymentRevision: revision N, or the second-highest revision seen, by number only."""
    latest: tuple[int, Obj | None] = (-1, None)
    previous: tuple[int, Obj | None] = (-1, None)
    for rs in replicasets:
        revision = parse_revision(rs)
        if revision is None:
            continue
        if to_revision > 0:
            if revision == to_revision:
                return rs
        elif latest[0] < revision:
            previous, latest = latest, (revision, rs)
        elif previous[0] < revision:
            previous = (revision, rs)
    if to_revision > 0:
        raise UndoError(f"unable to find specified revision {to_revision} in history")
    if previous[1] is None:
        raise UndoError(f'no rollout history found for deployment "{name}"')
    return previous[1]


def plan_undo(deployment: Obj, replicasets: list[Obj], to_revision: int = 0) -> UndoPlan:
    """The patch ``kubectl rollout undo`` would send, or its refusal as :class:`UndoError`."""
    name = deployment.get("metadata", {}).get("name", "")
    if to_revision < 0:
        raise UndoError(f"unable to find specified revision {to_revision} in history")
    uid = str(deployment.get("metadata", {}).get("uid", ""))
    target = _target(name, [rs for rs in replicasets if controlled_by(rs, uid)], to_revision)
    target_revision = revision_of(target)
    if (deployment.get("spec") or {}).get("paused"):
        raise UndoError(
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' "
            "and try again"
        )
    template = template_without_hash((target.get("spec") or {}).get("template") or {})
    current = template_without_hash((deployment.get("spec") or {}).get("template") or {})
    if template == current:
        # kubectl names the revision asked for (0 for "the previous one"), not the one it found.
        return UndoPlan(
            target_revision,
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
    return UndoPlan(target_revision, ops, message=f"deployment.apps/{name} rolled back")


def images_of(template: Obj) -> dict[str, str]:
    spec = template.get("spec") or {}
    return {str(c.get("name")): str(c.get("image")) for c in spec.get("containers") or []}


def image_patch(images: dict[str, str], change_cause: str) -> Obj:
    """A strategic-merge body setting only the named containers' images (merged by name) and the change cause."""
    return {
        "metadata": {"annotations": {"kubernetes.io/change-cause": change_cause}},
        "spec": {"template": {"spec": {"containers": [{"name": c, "image": i} for c, i in images.items()]}}},
    }


__all__ = [
    "HASH_LABEL",
    "UndoError",
    "UndoPlan",
    "image_patch",
    "images_of",
    "parse_revision",
    "plan_undo",
    "revision_of",
]


class NothingToRestore(UndoError):
    """The Deployment already runs the images a rollback would restore."""


@dataclass(frozen=True)
class GoodImages:
    """What ``deployreq rollback`` restores: images, and where they come from (shown to the user before acting)."""

    images: dict[str, str]
    source: str


def _ended_at(req: Request) -> str:
    return req.status.completed_at or req.created


def last_good_images(
    requests: list[Obj], deployment: str, running: dict[str, str], kind: str = "Deployment"
) -> GoodImages:
    """The images of the last release of ``deployment`` that succeeded, as ``deployreq rollback`` means it.

    ``requests``: the namespace's DeploymentRequests as the API lists them; ``running``: the Deployment's images
    now. The newest ``Succeeded`` request is the last good release. If the Deployment already runs its images:
    when it is also the newest request to have ended, the current release is the one to leave, so the good release
    before it (with other images) is chosen, else the images that release replaced; when a later request failed or
    was rolled back, the Deployment is already back on the last good images and there is nothing to restore
    (:class:`UndoError` says so).
    """
    ended = sorted(
        (
            r
            for r in map(Request.parse, requests)
            if r.images_for(kind, deployment) is not None
            and r.phase in (Phase.SUCCEEDED, Phase.FAILED, Phase.ROLLED_BACK)
        ),
        key=_ended_at,
        reverse=True,
    )

    def asked(req: Request) -> dict[str, str]:
        return (req.images_for(kind, deployment) or ({}, {}))[0]

    good = [r for r in ended if r.phase == Phase.SUCCEEDED and asked(r)]
    if not good:
        raise UndoError(
            f'no Succeeded request for {kind.lower()} "{deployment}" to take the last good images from; '
            "name a revision with --to-revision N (or --undo for kubectl rollout undo)"
        )

    def runs(req: Request) -> bool:
        return all(running.get(c) == i for c, i in asked(req).items())

    def describe(req: Request) -> str:
        return f'request "{req.name}" (Succeeded {_ended_at(req)})'

    last = good[0]
    if not runs(last):
        return GoodImages(asked(last), describe(last))
    if ended[0] is not last:
        raise NothingToRestore(
            f'{kind.lower()} "{deployment}" already runs the last good images, those of {describe(last)}: '
            + ", ".join(f"{c}={i}" for c, i in sorted(asked(last).items()))
            + "; nothing to roll back (name an older release with --to-request NAME or --to-revision N)"
        )
    older = next((r for r in good[1:] if not runs(r)), None)
    if older is not None:
        return GoodImages(asked(older), describe(older))
    before = (last.images_for(kind, deployment) or ({}, {}))[1]
    if before and any(running.get(c) != i for c, i in before.items()):
        return GoodImages(before, f"the images from before {describe(last)}")
    raise UndoError(
        f'no Succeeded request for {kind.lower()} "{deployment}" older than {describe(last)} with other images; '
        "name a revision with --to-revision N (or --undo for kubectl rollout undo)"
    )

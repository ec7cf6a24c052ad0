"""StatefulSets and DaemonSets as ``kubectl rollout status`` and ``kubectl rollout undo`` judge and undo them.

Issue 18 extends requests beyond one Deployment. These are the two decisions that differ per kind, kept pure:

- **Complete** exactly when ``kubectl rollout status`` says so (kubectl ``pkg/polymorphichelpers/rollout_status.go``):
  a StatefulSet once observed, all replicas ready, and with a ``RollingUpdate`` strategy the replicas above the
  ``partition`` updated (without one, ``updateRevision == currentRevision``); a DaemonSet once observed with
  ``updatedNumberScheduled`` and ``numberAvailable`` at ``desiredNumberScheduled``. ``OnDelete`` has no rollout
  status (kubectl refuses it), so a request on such a workload cannot be judged: :class:`UnjudgeableWorkload`.
- **Failed** as for Deployments (:func:`deployreq.decide.rollout.pod_failure`): a new pod (one labelled with the
  update revision's ``controller-revision-hash``) that crash-loops or cannot pull, or the rollout timeout.
- **Undo** picks the ControllerRevision ``kubectl rollout undo`` picks (``findHistory``: revision N, or the second
  highest) and sends its ``data`` (a strategic merge patch replacing ``spec.template``) as kubectl does; a template
  that already matches is skipped with kubectl's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from deployreq.decide.rollback import UndoError
from deployreq.decide.rollout import Thresholds, Verdict, controlled_by, pod_failure

Obj = dict[str, Any]
Kind = Literal["StatefulSet", "DaemonSet"]
REVISION_HASH_LABEL = "controller-revision-hash"


class UnjudgeableWorkload(ValueError):
    """The workload's update strategy has no rollout status (``OnDelete``): kubectl's message, for the request."""


def _strategy(obj: Obj) -> Obj:
    return (obj.get("spec") or {}).get("updateStrategy") or {}


def _observed(obj: Obj) -> bool:
    status = obj.get("status") or {}
    generation = int((obj.get("metadata") or {}).get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0)
    return observed > 0 and observed >= generation


def statefulset_progress(sts: Obj) -> tuple[bool, str]:
    """(done, message) as ``kubectl rollout status statefulset/NAME`` prints them."""
    if _strategy(sts).get("type", "RollingUpdate") != "RollingUpdate":
        raise UnjudgeableWorkload("rollout status is only available for RollingUpdate strategy type")
    if not _observed(sts):
        return False, "Waiting for statefulset spec update to be observed..."
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    replicas = int(spec.get("replicas", 1))
    ready, updated = int(status.get("readyReplicas") or 0), int(status.get("updatedReplicas") or 0)
    if ready < replicas:
        return False, f"Waiting for {replicas - ready} pods to be ready..."
    rolling = _strategy(sts).get("rollingUpdate")
    if rolling is not None:
        wanted = replicas - int(rolling.get("partition") or 0)
        if updated < wanted:
            return False, (
                f"Waiting for partitioned roll out to finish: {updated} out of {wanted} new pods have been updated..."
            )
        return True, f"partitioned roll out complete: {updated} new pods have been updated..."
    update, current = status.get("updateRevision"), status.get("currentRevision")
    if update != current:
        return (
            False,
            f"waiting for statefulset rolling update to complete {updated} pods at revision {update}...",
        )
    return (
        True,
        f"statefulset rolling update complete {status.get('currentReplicas') or 0} pods at revision {current}...",
    )


def daemonset_progress(ds: Obj) -> tuple[bool, str]:
    """(done, message) as ``kubectl rollout status daemonset/NAME`` prints them."""
    name = (ds.get("metadata") or {}).get("name", "")
    if _strategy(ds).get("type", "RollingUpdate") != "RollingUpdate":
        raise UnjudgeableWorkload("rollout status is only available for RollingUpdate strategy type")
    if not _observed(ds):
        return False, "Waiting for daemon set spec update to be observed..."
    status = ds.get("status") or {}
    desired = int(status.get("desiredNumberScheduled") or 0)
    updated, available = (
        int(status.get("updatedNumberScheduled") or 0),
        int(status.get("numberAvailable") or 0),
    )
    if updated < desired:
        return False, (
            f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} new pods have been updated...'
        )
    if available < desired:
        return (
            False,
            f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} updated pods are available...',
        )
    return True, f'daemon set "{name}" successfully rolled out'


def new_pods(workload: Obj, pods: list[Obj], update_hash: str) -> list[Obj]:
    """The workload's pods of its update revision (``controller-revision-hash``): only they judge new images."""
    uid = str((workload.get("metadata") or {}).get("uid", ""))
    return [
        p
        for p in pods
        if controlled_by(p, uid)
        and ((p.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH_LABEL) == update_hash
    ]


def update_hash_of(kind: Kind, workload: Obj, revisions: list[Obj]) -> str:
    """The ``controller-revision-hash`` label of the update revision's pods: a StatefulSet labels its pods with the
    revision's name, ``status.updateRevision`` (``NAME-HASH``); a DaemonSet with the hash of the ControllerRevision
    holding its template (:func:`current_revision`)."""
    if kind == "StatefulSet":
        return str((workload.get("status") or {}).get("updateRevision") or "")
    current = current_revision(workload, revisions)
    if current is None:
        return ""
    return str(((current.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH_LABEL, ""))


def current_revision(workload: Obj, revisions: list[Obj]) -> Obj | None:
    """The ControllerRevision whose data is the workload's template now, as the DaemonSet controller matches them
    (not the highest number: after an undo the mirror may not show the old revision renumbered yet); None until the
    controller has created it."""
    wanted = _normal(_template_patch(workload))
    matching = [r for r in owned_revisions(workload, revisions) if _normal(r.get("data") or {}) == wanted]
    return max(matching, key=lambda r: int(r.get("revision") or 0)) if matching else None


def verdict(
    kind: Kind,
    workload: Obj,
    pods: list[Obj],
    revisions: list[Obj],
    *,
    now: float,
    started_at: float,
    timeout_seconds: float,
    thresholds: Thresholds,
) -> Verdict:
    """Complete exactly when kubectl's rollout status is done; Failed once a new pod certainly fails, or on timeout."""
    done, message = (statefulset_progress if kind == "StatefulSet" else daemonset_progress)(workload)
    # Until the controller observed the spec, its status names the revision before it: no pod is new yet.
    update_hash = update_hash_of(kind, workload, revisions) if _observed(workload) else ""
    failure = pod_failure(new_pods(workload, pods, update_hash), thresholds, now) if update_hash else None
    if failure:
        return Verdict("Failed", "PodsFailing", failure)
    if done:
        return Verdict("Complete", "Available", message)
    if started_at and now > started_at + timeout_seconds:
        return Verdict(
            "Failed", "Timeout", f"rollout did not complete within {int(timeout_seconds)}s ({message})"
        )
    return Verdict("Progressing", "Progressing", message)


@dataclass(frozen=True)
class RevisionUndo:
    """What ``kubectl rollout undo`` sends for a StatefulSet or DaemonSet: the revision's data as a strategic merge
    patch, or ``skipped`` (the template already matches) with kubectl's message."""

    target_revision: int
    patch: Obj | None
    skipped: bool
    message: str


def owned_revisions(workload: Obj, revisions: list[Obj]) -> list[Obj]:
    uid = str((workload.get("metadata") or {}).get("uid", ""))
    return [r for r in revisions if controlled_by(r, uid)]


def _find_history(history: list[Obj], to_revision: int) -> Obj:
    """kubectl's findHistory: revision N, or (0) the second highest revision."""
    if to_revision < 0:
        raise UndoError(f"unable to find specified revision {to_revision} in history")
    if to_revision == 0:
        if len(history) <= 1:
            raise UndoError("no last revision to roll back to")
        return sorted(history, key=lambda r: int(r.get("revision") or 0))[-2]
    for revision in history:
        if int(revision.get("revision") or 0) == to_revision:
            return revision
    raise UndoError(f"unable to find specified revision {to_revision} in history")


def _template_patch(workload: Obj) -> Obj:
    """The workload's template in a ControllerRevision's shape (``getStatefulSetPatch``/``getDaemonSetPatch``)."""
    template = dict((workload.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_template(revision: Obj) -> Obj:
    """The pod template a ControllerRevision holds (what ``kubectl rollout history --revision N`` shows)."""
    template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def _normal(data: Obj) -> Obj:
    """A revision's data without what Go's encoding adds to a template (``metadata.creationTimestamp: null``)."""
    template = dict((data.get("spec") or {}).get("template") or {})
    meta = {
        k: v
        for k, v in (template.get("metadata") or {}).items()
        if not (k == "creationTimestamp" and v is None)
    }
    template["metadata"] = meta
    return {**data, "spec": {**(data.get("spec") or {}), "template": template}}


def plan_revision_undo(kind: Kind, workload: Obj, revisions: list[Obj], to_revision: int = 0) -> RevisionUndo:
    """The patch ``kubectl rollout undo KIND/NAME [--to-revision N]`` sends, or its refusal as UndoError."""
    target = _find_history(owned_revisions(workload, revisions), to_revision)
    number = int(target.get("revision") or 0)
    data = target.get("data") or {}
    name = (workload.get("metadata") or {}).get("name", "")
    if _normal(data) == _normal(_template_patch(workload)):
        return RevisionUndo(
            number, None, True, f"skipped rollback (current template already matches revision {to_revision})"
        )
    resource = "statefulset.apps" if kind == "StatefulSet" else "daemonset.apps"
    return RevisionUndo(number, data, False, f"{resource}/{name} rolled back")

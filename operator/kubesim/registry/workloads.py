"""Defaults, create-time preparation and validation of the workload kinds beside Deployments and ReplicaSets:
StatefulSets, DaemonSets, Jobs and ControllerRevisions (``pkg/apis/{apps,batch}/v1/defaults.go``,
``pkg/registry/{apps,batch}/*/strategy.go``, ``pkg/apis/batch/validation``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kubesim.api import errors
from kubesim.registry.pod_defaults import default_template
from kubesim.storage.admission import Operation

Obj = dict[str, Any]
STATEFULSETS = ("apps", "statefulsets")
DAEMONSETS = ("apps", "daemonsets")
JOBS = ("batch", "jobs")
REVISIONS = ("apps", "controllerrevisions")
TEMPLATED = (STATEFULSETS, DAEMONSETS)
"""Kinds whose selector must match the template's labels (checked as for Deployments)."""
JOB_LABELS = (
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "controller-uid",
    "job-name",
)


def default_statefulset(obj: Obj) -> None:
    """SetDefaults_StatefulSet."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("serviceName", "")  # not omitempty
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        strategy.setdefault("rollingUpdate", {})
    if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        strategy["rollingUpdate"].setdefault("partition", 0)
    retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    default_template(spec)


def default_daemonset(obj: Obj) -> None:
    """SetDefaults_DaemonSet."""
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    default_template(spec)


def default_job(obj: Obj) -> None:
    """SetDefaults_Job: completions and parallelism 1, backoffLimit 6, the template's labels on a Job without
    labels, completionMode, suspend, podReplacementPolicy."""
    spec = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6)
    default_template(spec)
    labels = spec["template"]["metadata"].get("labels")
    meta = obj.setdefault("metadata", {})
    if labels and not meta.get("labels"):
        meta["labels"] = dict(labels)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault(
        "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
    )


def default_revision(obj: Obj) -> None:
    """A ControllerRevision: nothing defaulted; its data (a RawExtension) is kept as sent."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for name in ("labels", "annotations"):
            if meta.get(name) == {}:
                del meta[name]


DEFAULTS: dict[tuple[str, str], Callable[[Obj], None]] = {
    STATEFULSETS: default_statefulset,
    DAEMONSETS: default_daemonset,
    JOBS: default_job,
}
_CREATED_STATUS: dict[tuple[str, str], Obj] = {
    STATEFULSETS: {"replicas": 0, "availableReplicas": 0},
    DAEMONSETS: {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    },
    JOBS: {},
}


def admit(op: Operation) -> None:
    """The strategies' PrepareForCreate (status reset, a Job's generated selector) and the checks kubesim makes."""
    key = op.rt.key
    if op.verb == "create" and key in _CREATED_STATUS:
        op.obj["status"] = dict(_CREATED_STATUS[key])
    if key == DAEMONSETS:
        _template_generation(op)
    if key == JOBS:
        if op.verb == "create" and not (op.obj.get("spec") or {}).get("manualSelector"):
            _generate_selector(op.obj)
        _validate_job(op)
    elif key == REVISIONS:
        op.obj.setdefault("revision", 0)  # an int64, not a pointer: absent is 0


def _template_generation(op: Operation) -> None:
    """The DaemonSet strategy: ``deprecated.daemonset.template.generation`` starts at 1 and counts template
    changes."""
    annotation = "deprecated.daemonset.template.generation"
    meta = op.obj.setdefault("metadata", {})
    if op.old is None:
        meta.setdefault("annotations", {})[annotation] = "1"
        return
    old = (op.old["metadata"].get("annotations") or {}).get(annotation, "1")
    changed = (op.obj.get("spec") or {}).get("template") != (op.old.get("spec") or {}).get("template")
    meta.setdefault("annotations", {})[annotation] = str(int(old) + 1) if changed else old


def _generate_selector(job: Obj) -> None:
    """generateSelector: the job-name and controller-uid labels on the template (unless set), and a selector on
    the controller uid."""
    meta = job["metadata"]
    template_meta = job["spec"]["template"].setdefault("metadata", {})
    labels = template_meta.setdefault("labels", {})
    for label in ("job-name", "batch.kubernetes.io/job-name"):
        labels.setdefault(label, meta["name"])
    for label in ("controller-uid", "batch.kubernetes.io/controller-uid"):
        labels.setdefault(label, meta["uid"])
    selector = job["spec"].setdefault("selector", {})
    selector.setdefault("matchLabels", {}).setdefault("batch.kubernetes.io/controller-uid", meta["uid"])


def _validate_job(op: Operation) -> None:
    """ValidateJob's checks kubesim makes: the template's restartPolicy, and what an update may not change."""
    spec = op.obj.get("spec") or {}
    causes: list[errors.Cause] = []
    policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        causes.append(
            errors.Cause(
                "spec.template.spec.restartPolicy",
                f'Unsupported value: {json.dumps(policy)}: supported values: "OnFailure", "Never"',
                "FieldValueNotSupported",
            )
        )
    if op.old is not None:
        old_spec = op.old.get("spec") or {}
        for name in ("selector", "completionMode"):
            if old_spec.get(name) != spec.get(name):
                shown = json.dumps(spec.get(name), separators=(",", ":"))
                causes.append(errors.Cause(f"spec.{name}", f"Invalid value: {shown}: field is immutable"))
    if causes:
        raise errors.invalid(op.rt.kind, op.rt.group, (op.obj.get("metadata") or {}).get("name", ""), causes)

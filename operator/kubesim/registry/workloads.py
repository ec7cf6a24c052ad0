"""Defaults, create-time preparation and validation of the workload kinds beside Deployments and ReplicaSets:
StatefulSets, DaemonSets, Jobs and ControllerRevisions (``pkg/apis/{apps,batch}/v1/defaults.go``,
``pkg/registry/{apps,batch}/*/strategy.go``, ``pkg/apis/batch/validation``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kubesim.api import errors
from kubesim.registry import cronjobs
from kubesim.registry.pod_defaults import default_template
from kubesim.storage.admission import Operation

Obj = dict[str, Any]
STATEFULSETS = ("apps", "statefulsets")
DAEMONSETS = ("apps", "daemonsets")
JOBS = ("batch", "jobs")
CRONJOBS = ("batch", "cronjobs")
REPLICATIONCONTROLLERS = ("", "replicationcontrollers")
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
    spec.setdefault("manualSelector", False)


def default_replicationcontroller(obj: Obj) -> None:
    """SetDefaults_ReplicationController: the template's labels as selector and as labels when they are empty."""
    spec = obj.setdefault("spec", {})
    if isinstance(spec.get("template"), dict):
        default_template(spec)
        labels = (spec["template"].get("metadata") or {}).get("labels")
        if labels:
            if not spec.get("selector"):
                spec["selector"] = dict(labels)
            meta = obj.setdefault("metadata", {})
            if not meta.get("labels"):
                meta["labels"] = dict(labels)
    spec.setdefault("replicas", 1)


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
    CRONJOBS: cronjobs.default_cronjob,
    REPLICATIONCONTROLLERS: default_replicationcontroller,
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
    CRONJOBS: {},
    REPLICATIONCONTROLLERS: {"replicas": 0},
}


def admit(op: Operation) -> None:
    """The strategies' PrepareForCreate (status reset, a Job's generated selector) and the checks kubesim makes."""
    key = op.rt.key
    if op.verb == "create" and key in _CREATED_STATUS:
        op.obj["status"] = dict(_CREATED_STATUS[key])
    if key == STATEFULSETS:  # serviceName is not omitempty: "" is encoded, yet owned by nobody
        op.obj.setdefault("spec", {}).setdefault("serviceName", "")
    if key == DAEMONSETS:
        _template_generation(op)
    if key == CRONJOBS:
        cronjobs.validate(op)
    if key == REPLICATIONCONTROLLERS:
        _validate_replicationcontroller(op)
    if key == JOBS:
        if op.verb == "create" and not (op.obj.get("spec") or {}).get("manualSelector"):
            _generate_selector(op.obj)
        _validate_job(op)
    elif key == REVISIONS:
        op.obj.setdefault("revision", 0)  # an int64, not a pointer: absent is 0
        if op.obj.get("data") is None:
            name = (op.obj.get("metadata") or {}).get("name", "")
            cause = errors.Cause("data", "Required value: data is mandatory", "FieldValueRequired")
            raise errors.invalid(op.rt.kind, op.rt.group, name, [cause])
    elif key == STATEFULSETS and op.old is not None:
        _statefulset_update(op)


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


def _validate_replicationcontroller(op: Operation) -> None:
    """ValidateReplicationControllerSpec's selector checks."""
    spec = op.obj.get("spec") or {}
    selector = spec.get("selector") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    causes: list[errors.Cause] = []
    if not selector:
        causes.append(errors.Cause("spec.selector", "Required value", "FieldValueRequired"))
    elif any(labels.get(k) != v for k, v in selector.items()):
        shown = json.dumps(dict(sorted(labels.items())), separators=(",", ":"))
        message = f"Invalid value: {shown}: `selector` does not match template `labels`"
        causes.append(errors.Cause("spec.template.metadata.labels", message))
    if causes:
        raise errors.invalid(op.rt.kind, op.rt.group, (op.obj.get("metadata") or {}).get("name", ""), causes)


_STATEFULSET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


def _statefulset_update(op: Operation) -> None:
    """ValidateStatefulSetUpdate: only some of the spec may change."""
    assert op.old is not None

    def fixed(spec: Obj) -> Obj:
        return {k: v for k, v in spec.items() if k not in _STATEFULSET_MUTABLE}

    if fixed(op.obj.get("spec") or {}) != fixed(op.old.get("spec") or {}):
        message = (
            "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
            "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
            "'minReadySeconds' are forbidden"
        )
        cause = errors.Cause("spec", message, "FieldValueForbidden")
        raise errors.invalid(op.rt.kind, op.rt.group, op.obj["metadata"].get("name", ""), [cause])


def _generate_selector(job: Obj) -> None:
    """generateSelector: the job-name and controller-uid labels on the template (unless set), and a selector on
    the controller uid."""
    meta = job["metadata"]
    template_meta = job["spec"]["template"].setdefault("metadata", {})
    labels = template_meta.setdefault("labels", {})
    original = dict(labels)
    for label in ("job-name", "batch.kubernetes.io/job-name"):
        labels.setdefault(label, meta["name"])
    for label in ("controller-uid", "batch.kubernetes.io/controller-uid"):
        labels.setdefault(label, meta["uid"])
    if (
        not meta.get("labels") or meta["labels"] == original
    ):  # the Job takes its template's labels, as generated
        meta["labels"] = dict(labels)
    selector = job["spec"].setdefault("selector", {})
    selector.setdefault("matchLabels", {}).setdefault("batch.kubernetes.io/controller-uid", meta["uid"])


def _validate_job(op: Operation) -> None:
    """ValidateJob's checks kubesim makes: the template's restartPolicy, and what an update may not change."""
    spec = op.obj.get("spec") or {}
    causes: list[errors.Cause] = []
    policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        message = 'Required value: valid values: "OnFailure", "Never"'
        causes.append(errors.Cause("spec.template.spec.restartPolicy", message, "FieldValueRequired"))
    if op.old is not None:
        old_spec = op.old.get("spec") or {}
        for name in ("selector", "completionMode"):
            if old_spec.get(name) == spec.get(name):
                continue
            shown = json.dumps(spec.get(name), separators=(",", ":"), sort_keys=True)
            if name == "selector" and not spec.get("manualSelector"):
                causes.append(
                    errors.Cause("spec.selector", f"Invalid value: {shown}: `selector` not auto-generated")
                )
            causes.append(errors.Cause(f"spec.{name}", f"Invalid value: {shown}: field is immutable"))
    if causes:
        raise errors.invalid(op.rt.kind, op.rt.group, (op.obj.get("metadata") or {}).get("name", ""), causes)

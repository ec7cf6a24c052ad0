"""``fieldValidation=Strict`` for built-in kinds: unknown fields in the parts of the built-in types kubesim knows
(object metadata, Deployments, ReplicaSets, Jobs, pod templates, Pods, containers, ConfigMaps, Secrets, Namespaces) are
rejected with the real server's strict decoding error. Deeper structures (probes, volumes, affinity...) are not
checked."""

from __future__ import annotations

from typing import Any

from kubesim.api import errors

Obj = dict[str, Any]
Shape = dict[str, "Shape | None"]  # field -> its shape (None: not checked further)

OBJECT_META = frozenset(
    [
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ]
)
CONTAINER = frozenset(
    [
        "name",
        "image",
        "command",
        "args",
        "workingDir",
        "ports",
        "envFrom",
        "env",
        "resources",
        "resizePolicy",
        "restartPolicy",
        "volumeMounts",
        "volumeDevices",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "lifecycle",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "imagePullPolicy",
        "securityContext",
        "stdin",
        "stdinOnce",
        "tty",
    ]
)
POD_SPEC = frozenset(
    [
        "volumes",
        "initContainers",
        "containers",
        "ephemeralContainers",
        "restartPolicy",
        "terminationGracePeriodSeconds",
        "activeDeadlineSeconds",
        "dnsPolicy",
        "nodeSelector",
        "serviceAccountName",
        "serviceAccount",
        "automountServiceAccountToken",
        "nodeName",
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "shareProcessNamespace",
        "securityContext",
        "imagePullSecrets",
        "hostname",
        "subdomain",
        "affinity",
        "schedulerName",
        "tolerations",
        "hostAliases",
        "priorityClassName",
        "priority",
        "dnsConfig",
        "readinessGates",
        "runtimeClassName",
        "enableServiceLinks",
        "preemptionPolicy",
        "overhead",
        "topologySpreadConstraints",
        "setHostnameAsFQDN",
        "os",
        "hostUsers",
        "schedulingGates",
        "resourceClaims",
        "resources",
    ]
)
TEMPLATE = frozenset({"metadata", "spec"})
DEPLOYMENT_SPEC = frozenset(
    [
        "replicas",
        "selector",
        "template",
        "strategy",
        "minReadySeconds",
        "revisionHistoryLimit",
        "paused",
        "progressDeadlineSeconds",
    ]
)
REPLICASET_SPEC = frozenset({"replicas", "minReadySeconds", "selector", "template"})
JOB_SPEC = frozenset(
    [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "podFailurePolicy",
        "successPolicy",
        "backoffLimit",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
        "selector",
        "manualSelector",
        "template",
        "ttlSecondsAfterFinished",
        "completionMode",
        "suspend",
        "podReplacementPolicy",
        "managedBy",
    ]
)
TOP = frozenset({"apiVersion", "kind", "metadata"})


def _check(value: Any, path: str, known: frozenset[str], found: list[str]) -> None:
    if not isinstance(value, dict):
        return
    for key in value:
        if key not in known:
            found.append(f"{path}{key}" if path else key)


def _pod_spec(spec: Any, path: str, found: list[str]) -> None:
    _check(spec, path, POD_SPEC, found)
    if not isinstance(spec, dict):
        return
    for field in ("containers", "initContainers"):
        for i, container in enumerate(spec.get(field) or []):
            _check(container, f"{path}{field}[{i}].", CONTAINER, found)


def _template(template: Any, path: str, found: list[str]) -> None:
    _check(template, path, TEMPLATE, found)
    if isinstance(template, dict):
        _check(template.get("metadata"), f"{path}metadata.", OBJECT_META, found)
        _pod_spec(template.get("spec"), f"{path}spec.", found)


def unknown_fields(key: tuple[str, str], obj: Obj) -> list[str]:
    """The unknown field paths of a built-in object, for the kinds covered here (else none)."""
    found: list[str] = []
    tops: dict[tuple[str, str], frozenset[str]] = {
        ("apps", "deployments"): TOP | {"spec", "status"},
        ("apps", "replicasets"): TOP | {"spec", "status"},
        ("", "pods"): TOP | {"spec", "status"},
        ("batch", "jobs"): TOP | {"spec", "status"},
        ("", "configmaps"): TOP | {"data", "binaryData", "immutable"},
        ("", "secrets"): TOP | {"data", "stringData", "type", "immutable"},
        ("", "namespaces"): TOP | {"spec", "status"},
    }
    if key not in tops:
        return found
    _check(obj, "", tops[key], found)
    _check(obj.get("metadata"), "metadata.", OBJECT_META, found)
    spec = obj.get("spec")
    if key == ("apps", "deployments"):
        _check(spec, "spec.", DEPLOYMENT_SPEC, found)
        if isinstance(spec, dict):
            _template(spec.get("template"), "spec.template.", found)
            _check(spec.get("strategy"), "spec.strategy.", frozenset({"type", "rollingUpdate"}), found)
    elif key == ("apps", "replicasets"):
        _check(spec, "spec.", REPLICASET_SPEC, found)
        if isinstance(spec, dict):
            _template(spec.get("template"), "spec.template.", found)
    elif key == ("batch", "jobs"):
        _check(spec, "spec.", JOB_SPEC, found)
        if isinstance(spec, dict):
            _template(spec.get("template"), "spec.template.", found)
    elif key == ("", "pods"):
        _pod_spec(spec, "spec.", found)
    elif key == ("", "namespaces"):
        _check(spec, "spec.", frozenset({"finalizers"}), found)
    return found


def reject_unknown(key: tuple[str, str], kind: str, version: str, obj: Obj) -> None:
    """400 with the real strict decoding error when ``obj`` has unknown fields."""
    found = unknown_fields(key, obj)
    if found:
        detail = ", ".join(f'unknown field "{path}"' for path in found)
        raise errors.bad_request(
            f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: {detail}'
        )

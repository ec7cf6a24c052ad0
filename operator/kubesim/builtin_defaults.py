"""Defaulting and validation the real server applies to the built-in types kubesim serves (pkg/apis/*/v1/defaults.go,
pkg/apis/apps/validation), as far as the operator, kubectl and the controllers can observe them."""

from __future__ import annotations

import ipaddress
from typing import Any

from kubesim import errors
from kubesim.selectors import matches_label_selector
from kubesim.store import Operation

Obj = dict[str, Any]


def default_pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            image = str(container.get("image", ""))
            tag = image.rsplit("/", 1)[-1]
            untagged_or_latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
            container.setdefault("imagePullPolicy", "Always" if untagged_or_latest else "IfNotPresent")
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})
            for port in container.get("ports") or []:
                port.setdefault("protocol", "TCP")


def _template(spec: Obj) -> None:
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {})
    default_pod_spec(template.setdefault("spec", {}))


def default_deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(spec)


def _invalid(op: Operation, field: str, message: str) -> errors.ApiError:
    name = op.obj.get("metadata", {}).get("name", "")
    return errors.invalid(op.rt.kind, op.rt.group, name, [errors.Cause(field, message)])


def _go_labels(labels: dict[str, str]) -> str:
    inner = ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items()))
    return f"map[string]string{{{inner}}}"


def validate_workload(op: Operation) -> None:
    spec = op.obj.get("spec") or {}
    selector = spec.get("selector")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        raise _invalid(op, "spec.selector", "Required value")
    if not matches_label_selector(selector, labels):
        raise _invalid(
            op,
            "spec.template.metadata.labels",
            f"Invalid value: {_go_labels(labels)}: `selector` does not match template `labels`",
        )
    if int(spec.get("replicas", 1)) < 0:
        raise _invalid(
            op, "spec.replicas", f"Invalid value: {spec['replicas']}: must be greater than or equal to 0"
        )
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    if not containers:
        raise _invalid(op, "spec.template.spec.containers", "Required value")
    for i, container in enumerate(containers):
        if not container.get("image"):
            raise _invalid(op, f"spec.template.spec.containers[{i}].image", "Required value")
    if (
        op.old is not None
        and op.rt.group == "apps"
        and (op.old.get("spec") or {}).get("selector") != selector
    ):
        raise _invalid(op, "spec.selector", f"Invalid value: {_selector_go(selector)}: field is immutable")


def _selector_go(selector: Obj) -> str:
    return f"v1.LabelSelector{{MatchLabels:{_go_labels(selector.get('matchLabels') or {})}, MatchExpressions:[]}}"


_next_ip = [ipaddress.ip_address("10.96.0.10")]


def drop_nulls(value: Any) -> Any:
    """What decoding into typed Go structs does: a null field is the zero value, i.e. absent from the JSON."""
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for v in value.values():
            drop_nulls(v)
    elif isinstance(value, list):
        for v in value:
            drop_nulls(v)
    return value


def admit_builtin(op: Operation) -> None:
    """The admission hook for built-ins: defaults on create and update, then validation."""
    if op.verb == "delete" or op.rt.is_custom:
        return
    drop_nulls(op.obj)
    if op.subresource == "status":
        return
    key = op.rt.key
    if key == ("apps", "deployments"):
        default_deployment(op.obj)
        validate_workload(op)
    elif key == ("apps", "replicasets"):
        op.obj.setdefault("spec", {}).setdefault("replicas", 1)
        _template(op.obj["spec"])
        validate_workload(op)
    elif key == ("", "pods"):
        default_pod_spec(op.obj.setdefault("spec", {}))
        if op.verb == "create":
            op.obj.setdefault("status", {}).setdefault("phase", "Pending")
            op.obj["status"].setdefault("qosClass", "BestEffort")
    elif key == ("", "namespaces"):
        op.obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        if op.verb == "create":
            op.obj.setdefault("status", {})["phase"] = "Active"
        labels = op.obj.setdefault("metadata", {}).setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = op.obj["metadata"].get("name", "")
    elif key == ("", "services"):
        spec = op.obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if op.verb == "create" and spec.get("clusterIP") != "None":
            if not spec.get("clusterIP"):
                _next_ip[0] += 1
                spec["clusterIP"] = str(_next_ip[0])
            spec["clusterIPs"] = [spec["clusterIP"]]
        elif op.old is not None:
            spec.setdefault("clusterIP", (op.old.get("spec") or {}).get("clusterIP"))
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    elif key == ("", "secrets") and not op.obj.get("type"):
        op.obj["type"] = "Opaque"

"""Defaulting and validation the real server applies to the built-in types kubesim serves (pkg/apis/*/v1/defaults.go,
pkg/apis/apps/validation), as far as the operator, kubectl and the controllers can observe them."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from typing import Any

from kubesim.api import errors
from kubesim.api.label_validation import label_key_error
from kubesim.api.selectors import matches_label_selector
from kubesim.registry import workloads
from kubesim.registry.pod_defaults import default_pod_spec, default_template
from kubesim.storage.admission import Operation

Obj = dict[str, Any]


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
    default_template(spec)


def _go_labels(labels: dict[str, str]) -> str:
    """A map as v1.36's field errors print a value: JSON."""
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":"))


def validate_workload(op: Operation) -> None:
    """The checks ValidateDeploymentSpec / ValidateReplicaSetSpec make that matter here, all reported at once in
    the real order, then selector immutability on update."""
    spec = op.obj.get("spec") or {}
    selector = spec.get("selector")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    causes: list[errors.Cause] = []

    def add(field: str, message: str, reason: str = "FieldValueInvalid") -> None:
        causes.append(errors.Cause(field, message, reason))

    replicas = spec.get("replicas", 1)
    if isinstance(replicas, int) and replicas < 0:
        add("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        add("spec.selector", "Required value", "FieldValueRequired")
    elif not matches_label_selector(selector, labels):
        add(
            "spec.template.metadata.labels",
            f"Invalid value: {_go_labels(labels)}: `selector` does not match template `labels`",
        )
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    if not containers:
        add("spec.template.spec.containers", "Required value", "FieldValueRequired")
    for i, container in enumerate(containers):
        if not container.get("image"):
            add(f"spec.template.spec.containers[{i}].image", "Required value", "FieldValueRequired")
    if (
        op.old is not None
        and op.rt.group == "apps"
        and selector
        and (op.old.get("spec") or {}).get("selector") != selector
    ):
        add("spec.selector", f"Invalid value: {_selector_go(selector)}: field is immutable")
    if causes:
        name = op.obj.get("metadata", {}).get("name", "")
        raise errors.invalid(op.rt.kind, op.rt.group, name, causes)


def _selector_go(selector: Obj) -> str:
    """The selector as v1.36's field errors print a value: its JSON."""
    shown = {k: selector[k] for k in ("matchLabels", "matchExpressions") if selector.get(k)}
    return json.dumps(shown, separators=(",", ":"))


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


# Maps of the built-in Go types that are `omitempty`: an empty one is absent once decoded and encoded again.
_OMITEMPTY_MAPS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "configmaps"): ("data", "binaryData"),
    ("", "secrets"): ("data", "stringData"),
}


def drop_empty_maps(key: tuple[str, str], obj: Obj) -> None:
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for name in ("labels", "annotations"):
            if meta.get(name) == {}:
                del meta[name]
    for name in _OMITEMPTY_MAPS.get(key, ()):
        if obj.get(name) == {}:
            del obj[name]


def scheme_defaults(key: tuple[str, str], obj: Obj) -> None:
    """What decoding does to a built-in before the field manager sees it (conversion and SetDefaults_*): these
    fields are owned by the writer's managedFields entry. Allocations and strategies come later
    (:func:`admit_builtin`)."""
    if key == workloads.REVISIONS:
        return workloads.default_revision(obj)  # its data is a raw document, kept as written
    drop_nulls(obj)
    drop_empty_maps(key, obj)
    if key in workloads.DEFAULTS:
        workloads.DEFAULTS[key](obj)
    elif key == ("apps", "deployments"):
        default_deployment(obj)
    elif key == ("apps", "replicasets"):
        obj.setdefault("spec", {}).setdefault("replicas", 1)
        default_template(obj["spec"])
    elif key == ("", "pods"):
        default_pod_spec(obj.setdefault("spec", {}))
        obj["spec"].setdefault("enableServiceLinks", True)
    elif key == ("", "services"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        if spec["type"] != "ExternalName":
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
    elif key == ("", "secrets"):
        if not obj.get("type"):
            obj["type"] = "Opaque"
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict) and string_data:  # the v1 -> internal conversion merges stringData
            data = obj.setdefault("data", {})
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()


_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def validate_meta_and_keys(op: Operation) -> None:
    """ValidateObjectMeta's label checks and ValidateConfigMap's key check, with the real messages."""
    causes: list[errors.Cause] = []
    labels = (op.obj.get("metadata") or {}).get("labels") or {}
    for key, value in labels.items():
        problem = label_key_error(str(key))
        if problem is not None:
            causes.append(errors.Cause("metadata.labels", problem.split(": ", 1)[1]))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                errors.Cause(
                    "metadata.labels",
                    f"Invalid value: {json.dumps(value)}: a valid label must be an empty string or consist of "
                    "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                    "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                )
            )
    if op.rt.key in (("", "configmaps"), ("", "secrets")):
        for part in ("data", "binaryData") if op.rt.key == ("", "configmaps") else ("data",):
            for key in op.obj.get(part) or {}:
                if not _CONFIG_KEY.match(str(key)) or len(str(key)) > 253:
                    causes.append(
                        errors.Cause(
                            f"{part}[{key}]",
                            f"Invalid value: {json.dumps(key)}: a valid config key must consist of alphanumeric "
                            "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', "
                            "regex used for validation is '[-._a-zA-Z0-9]+')",
                        )
                    )
    if causes:
        raise errors.invalid(op.rt.kind, op.rt.group, (op.obj.get("metadata") or {}).get("name", ""), causes)


_TOKEN_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
_RANDOM_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's rand alphabet


def admit_pod(pod: Obj) -> None:
    """What a new pod gets from the admission plugins (ServiceAccount: the account and its token volume;
    DefaultTolerationSeconds; Priority), after the field manager, so nobody owns these fields."""
    spec = pod.setdefault("spec", {})
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = spec["serviceAccount"] = account
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    mounted = any(m.get("mountPath") == _TOKEN_MOUNT for c in containers for m in c.get("volumeMounts") or [])
    if spec.get("automountServiceAccountToken") is not False and not mounted:
        seed = int(hashlib.sha256(str((pod.get("metadata") or {}).get("uid", "")).encode()).hexdigest(), 16)
        suffix = "".join(_RANDOM_CHARS[(seed >> (8 * i)) % len(_RANDOM_CHARS)] for i in range(5))
        name = f"kube-api-access-{suffix}"
        spec.setdefault("volumes", []).append(
            {
                "name": name,
                "projected": {
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {
                            "configMap": {
                                "name": "kube-root-ca.crt",
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                            }
                        },
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "path": "namespace",
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                    }
                                ]
                            }
                        },
                    ],
                    "defaultMode": 420,
                },
            }
        )
        for container in containers:
            container.setdefault("volumeMounts", []).append(
                {"name": name, "readOnly": True, "mountPath": _TOKEN_MOUNT}
            )
    tolerations = spec.setdefault("tolerations", [])
    for taint in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == taint and t.get("effect") in (None, "", "NoExecute") for t in tolerations):
            tolerations.append(
                {"key": taint, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def admit_builtin(op: Operation) -> None:
    """The admission hook for built-ins: defaults on create and update, then validation."""
    if op.verb == "delete" or op.rt.is_custom:
        return
    if op.subresource == "status":
        if op.rt.key == workloads.REVISIONS:
            return
        drop_nulls(op.obj)
        drop_empty_maps(op.rt.key, op.obj)
        return
    key = op.rt.key
    scheme_defaults(key, op.obj)
    validate_meta_and_keys(op)
    workloads.admit(op)
    if key in (("apps", "deployments"), ("apps", "replicasets"), *workloads.TEMPLATED):
        validate_workload(op)
    if key == ("", "pods"):
        if op.verb == "create":
            admit_pod(op.obj)
            op.obj.setdefault("status", {}).setdefault("phase", "Pending")
            op.obj["status"].setdefault("qosClass", "BestEffort")
    elif key == ("", "namespaces"):
        op.obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        if op.verb == "create":
            op.obj.setdefault("status", {})["phase"] = "Active"
        labels = op.obj.setdefault("metadata", {}).setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = op.obj["metadata"].get("name", "")
    elif key == ("apps", "deployments") and op.verb == "create":
        op.obj["status"] = {}  # the strategy resets status; the controller fills it in
    elif key == ("apps", "replicasets") and op.verb == "create":
        op.obj["status"] = {"replicas": 0}
    elif key == ("policy", "poddisruptionbudgets") and op.verb == "create":
        op.obj["status"] = {
            "disruptionsAllowed": 0,
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "expectedPods": 0,
        }
    elif key == ("", "services"):
        _allocate_service(op)


def _allocate_service(op: Operation) -> None:
    """The Service REST storage: cluster IPs, IP families, node ports, an empty load-balancer status."""
    spec = op.obj.setdefault("spec", {})
    old_spec = (op.old or {}).get("spec") or {}
    if spec["type"] == "ExternalName":
        pass
    elif op.verb == "create" and spec.get("clusterIP") != "None":
        if not spec.get("clusterIP"):
            _next_ip[0] += 1
            spec["clusterIP"] = str(_next_ip[0])
        spec["clusterIPs"] = [spec["clusterIP"]]
    elif op.verb == "create":
        spec["clusterIPs"] = ["None"]
    elif op.old is not None:
        for name in ("clusterIP", "clusterIPs"):
            if name in old_spec:
                spec.setdefault(name, old_spec[name])
    if spec["type"] != "ExternalName":
        spec.setdefault("ipFamilies", old_spec.get("ipFamilies", ["IPv4"]))
        spec.setdefault("ipFamilyPolicy", old_spec.get("ipFamilyPolicy", "SingleStack"))
    if spec["type"] in ("NodePort", "LoadBalancer"):
        old_ports = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
        for port in spec.get("ports") or []:
            if not port.get("nodePort"):
                port["nodePort"] = old_ports.get(port.get("port")) or _next_node_port()
    status = op.obj.get("status")
    if op.verb == "create" or not isinstance(status, dict):
        op.obj["status"] = {"loadBalancer": {}}
    else:
        status.setdefault("loadBalancer", {})


_node_ports = [30000]


def _next_node_port() -> int:
    _node_ports[0] = 30000 + (_node_ports[0] - 30000 + 1) % 2768
    return _node_ports[0]

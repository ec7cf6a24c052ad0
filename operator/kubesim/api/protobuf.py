"""Just enough of the Kubernetes protobuf wire format to read the bodies ``kubectl create namespace|configmap|
secret|deployment|serviceaccount|role|clusterrole|rolebinding|clusterrolebinding`` and ``kubectl auth can-i``
send (typed clients in kubectl encode built-ins as protobuf): only the fields those commands set are read. Other
kinds are answered 415."""

from __future__ import annotations

import base64
from typing import Any

MAGIC = b"k8s\x00"

# field number -> (json name, kind); kinds: str, int, bool, bytes, a nested schema name, "map", "mapbytes",
# "list:<kind>"
Schema = dict[int, tuple[str, str]]
SCHEMAS: dict[str, Schema] = {
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", "bytes"), 3: ("contentEncoding", "str")},
    "TypeMeta": {1: ("apiVersion", "str"), 2: ("kind", "str")},
    "ObjectMeta": {
        1: ("name", "str"),
        2: ("generateName", "str"),
        3: ("namespace", "str"),
        5: ("uid", "str"),
        6: ("resourceVersion", "str"),
        11: ("labels", "map"),
        12: ("annotations", "map"),
        14: ("finalizers", "list:str"),
    },
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec")},
    "Deployment": {1: ("metadata", "ObjectMeta"), 2: ("spec", "DeploymentSpec")},
    "DeploymentSpec": {
        1: ("replicas", "int0"),
        2: ("selector", "LabelSelector"),
        3: ("template", "PodTemplateSpec"),
        4: ("strategy", "DeploymentStrategy"),
        5: ("minReadySeconds", "int"),
        6: ("revisionHistoryLimit", "int0"),
        7: ("paused", "bool"),
        9: ("progressDeadlineSeconds", "int0"),
    },
    "DeploymentStrategy": {1: ("type", "str")},
    "LabelSelector": {1: ("matchLabels", "map")},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "PodSpec": {2: ("containers", "list:Container"), 3: ("restartPolicy", "str")},
    "Container": {
        1: ("name", "str"),
        2: ("image", "str"),
        3: ("command", "list:str"),
        4: ("args", "list:str"),
        6: ("ports", "list:ContainerPort"),
        8: ("resources", "Empty"),
        14: ("imagePullPolicy", "str"),
    },
    "ContainerPort": {1: ("name", "str"), 3: ("containerPort", "int"), 4: ("protocol", "str")},
    "Empty": {},
    "NamespaceSpec": {1: ("finalizers", "list:str")},
    "ConfigMap": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "map"),
        3: ("binaryData", "mapbytes"),
        4: ("immutable", "bool"),
    },
    "Secret": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "mapbytes"),
        3: ("type", "str"),
        4: ("stringData", "map"),
        5: ("immutable", "bool"),
    },
    # kubectl create serviceaccount|role|clusterrole|rolebinding|clusterrolebinding (k8s.io/api rbac/v1, core/v1)
    "ServiceAccount": {1: ("metadata", "ObjectMeta"), 4: ("automountServiceAccountToken", "bool")},
    "PolicyRule": {
        1: ("verbs", "list:str"),
        2: ("apiGroups", "list:str"),
        3: ("resources", "list:str"),
        4: ("resourceNames", "list:str"),
        5: ("nonResourceURLs", "list:str"),
    },
    "Role": {1: ("metadata", "ObjectMeta"), 2: ("rules", "list:PolicyRule")},
    "ClusterRole": {1: ("metadata", "ObjectMeta"), 2: ("rules", "list:PolicyRule")},
    "Subject": {1: ("kind", "str"), 2: ("apiGroup", "str"), 3: ("name", "str"), 4: ("namespace", "str")},
    "RoleRef": {1: ("apiGroup", "str"), 2: ("kind", "str"), 3: ("name", "str")},
    "RoleBinding": {
        1: ("metadata", "ObjectMeta"),
        2: ("subjects", "list:Subject"),
        3: ("roleRef", "RoleRef"),
    },
    "ClusterRoleBinding": {
        1: ("metadata", "ObjectMeta"),
        2: ("subjects", "list:Subject"),
        3: ("roleRef", "RoleRef"),
    },
    # kubectl auth can-i [--list] (authorization/v1)
    "ResourceAttributes": {
        1: ("namespace", "str"),
        2: ("verb", "str"),
        3: ("group", "str"),
        4: ("version", "str"),
        5: ("resource", "str"),
        6: ("subresource", "str"),
        7: ("name", "str"),
    },
    "NonResourceAttributes": {1: ("path", "str"), 2: ("verb", "str")},
    "SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes"),
        2: ("nonResourceAttributes", "NonResourceAttributes"),
    },
    "SubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes"),
        2: ("nonResourceAttributes", "NonResourceAttributes"),
        3: ("user", "str"),
        4: ("groups", "list:str"),
        6: ("uid", "str"),
    },
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "SelfSubjectAccessReviewSpec")},
    "SubjectAccessReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "SubjectAccessReviewSpec")},
    "LocalSubjectAccessReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "SubjectAccessReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "str")},
    "SelfSubjectRulesReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "SelfSubjectRulesReviewSpec")},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta")},
}
TOP_LEVEL = frozenset(
    {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "ServiceAccount",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
        "SelfSubjectAccessReview",
        "SubjectAccessReview",
        "LocalSubjectAccessReview",
        "SelfSubjectRulesReview",
        "SelfSubjectReview",
    }
)


class Unsupported(ValueError):
    """The body is protobuf of a kind this module cannot read."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise Unsupported("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _varint(data, pos)
            out.append((number, data[pos : pos + size]))
            pos += size
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise Unsupported(f"wire type {wire}")
    return out


def _scalar(kind: str, value: int | bytes) -> Any:
    if kind == "str":
        return value.decode() if isinstance(value, bytes) else str(value)
    if kind == "bool":
        return bool(value)
    if kind in ("int", "int0"):
        return value
    if kind == "bytes":
        return value
    return _message(kind, value if isinstance(value, bytes) else b"")


def _message(name: str, data: bytes) -> dict[str, Any]:
    schema = SCHEMAS[name]
    out: dict[str, Any] = {}
    for number, value in _fields(data):
        if number not in schema:
            continue
        key, kind = schema[number]
        if kind in ("map", "mapbytes"):
            entry = dict(_fields(value if isinstance(value, bytes) else b""))
            k = entry.get(1, b"")
            v = entry.get(2, b"")
            text_key = k.decode() if isinstance(k, bytes) else str(k)
            raw = v if isinstance(v, bytes) else b""
            out.setdefault(key, {})[text_key] = (
                base64.b64encode(raw).decode() if kind == "mapbytes" else raw.decode()
            )
        elif kind.startswith("list:"):
            out.setdefault(key, []).append(_scalar(kind[5:], value))
        else:
            scalar = _scalar(kind, value)
            # Go's omitempty: zero values of plain fields are absent in JSON ("int0": a pointer, 0 is kept)
            if kind == "int0" or not (
                scalar in ("", b"") or scalar is False or (kind == "int" and scalar == 0)
            ):
                out[key] = scalar
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded object as the JSON-shaped dict; ``Unsupported`` for kinds not in SCHEMAS."""
    if not body.startswith(MAGIC):
        raise Unsupported("missing the k8s protobuf prefix")
    envelope = _message("Unknown", body[len(MAGIC) :])
    type_meta = envelope.get("typeMeta") or {}
    kind = type_meta.get("kind", "")
    if kind not in TOP_LEVEL:
        raise Unsupported(kind)
    obj = _message(kind, envelope.get("raw", b""))
    return {"apiVersion": type_meta.get("apiVersion", "v1"), "kind": kind, **obj}

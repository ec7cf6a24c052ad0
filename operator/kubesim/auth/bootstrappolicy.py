"""The bootstrap RBAC policy, created at start as kube-apiserver's RBAC post-start hook creates it: the ClusterRoles
and ClusterRoleBindings of ``bootstrappolicy.yaml`` (read from a v1.36 control plane), labelled
``kubernetes.io/bootstrapping: rbac-defaults``, owned by the manager ``kube-apiserver``. The authorizer reads them
from the store like any other binding, so they can be listed, described and (as on a real server) changed."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from kubesim.storage.objects import clone, now_rfc3339
from kubesim.storage.store import Store

Obj = dict[str, Any]
GROUP = "rbac.authorization.k8s.io"
PLURALS = {"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}


@cache
def _policy() -> tuple[Obj, ...]:
    text = resources.files("kubesim.auth").joinpath("bootstrappolicy.yaml").read_text()
    return tuple(doc for doc in yaml.safe_load_all(text) if doc)


def policy() -> list[Obj]:
    """The bootstrap ClusterRoles, then the ClusterRoleBindings (copies)."""
    return [clone(obj) for obj in _policy()]


def _fields(obj: Obj) -> Obj:
    """kube-apiserver's FieldsV1 for a bootstrap object: its labels and annotations, the other top-level fields
    whole."""
    meta = obj["metadata"]
    metadata: Obj = {}
    for part in ("annotations", "labels"):
        if meta.get(part):
            metadata[f"f:{part}"] = {".": {}, **{f"f:{key}": {} for key in sorted(meta[part])}}
    fields: Obj = {f"f:{key}": {} for key in obj if key not in ("kind", "apiVersion", "metadata")}
    if "aggregationRule" in obj:  # a struct of its own (roleRef is atomic, rules and subjects are lists)
        fields["f:aggregationRule"] = {".": {}, **{f"f:{key}": {} for key in obj["aggregationRule"]}}
    fields["f:metadata"] = metadata
    return dict(sorted(fields.items()))


def create(store: Store) -> None:
    """Create every bootstrap object the store does not have yet."""
    stamp = now_rfc3339(store.clock)
    for obj in policy():
        rt = store.require(GROUP, PLURALS[obj["kind"]])
        if store.peek(rt, None, obj["metadata"]["name"]) is not None:
            continue
        obj["metadata"]["managedFields"] = [
            {
                "manager": "kube-apiserver",
                "operation": "Update",
                "apiVersion": f"{GROUP}/v1",
                "time": stamp,
                "fieldsType": "FieldsV1",
                "fieldsV1": _fields(obj),
            }
        ]
        store.create(rt, None, obj, owned=True)

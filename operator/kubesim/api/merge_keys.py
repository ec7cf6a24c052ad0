"""Patch merge keys of the built-in types, from the ``patchMergeKey``/``patchStrategy`` tags of k8s.io/api.

Keys are field names wherever they appear in a built-in object; lists not named here are replaced whole, as the
real strategic merge does for lists without a merge strategy.
"""

from __future__ import annotations

# field name -> merge key ("" for a merged list of primitives)
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "conditions": "type",
    "ownerReferences": "uid",
    "finalizers": "",
    "resourceClaims": "name",
    "schedulingGates": "name",
    # PodStatus.podIPs / hostIPs carry patchMergeKey "ip"
    "podIPs": "ip",
    "hostIPs": "ip",
    # ServiceAccount.secrets: patchMergeKey "name"
    "secrets": "name",
    # ValidatingAdmissionPolicySpec.matchConditions / .variables: patchMergeKey "name"
    "matchConditions": "name",
    "variables": "name",
}
# PodSpec.readinessGates and .tolerations carry no patch strategy: they are replaced whole.
# ports merge by containerPort in containers, by port in services
PORTS_KEY_BY_PARENT = {"spec": "port"}
DEFAULT_PORTS_KEY = "containerPort"

# Server-side apply keys list items by the OpenAPI x-kubernetes-list-map-keys, which for these lists name more
# fields than the patch merge key; a key field the item leaves out counts with its schema default.
APPLY_EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "ports": ("protocol",),
    "topologySpreadConstraints": ("whenUnsatisfiable",),
}
APPLY_KEY_DEFAULTS: dict[str, object] = {"protocol": "TCP"}


def apply_item_key(field: str, merge_key: str, item: dict[str, object]) -> dict[str, object]:
    """The key of an associative list item as FieldsV1 writes it (``k:{...}``), fields in name order."""
    key: dict[str, object] = {merge_key: item[merge_key]}
    for name in APPLY_EXTRA_KEYS.get(field, ()):
        if name in item:
            key[name] = item[name]
        elif name in APPLY_KEY_DEFAULTS:
            key[name] = APPLY_KEY_DEFAULTS[name]
    return dict(sorted(key.items()))

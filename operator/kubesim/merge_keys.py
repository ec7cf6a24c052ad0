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
}
# PodSpec.readinessGates and .tolerations carry no patch strategy: they are replaced whole.
# ports merge by containerPort in containers, by port in services
PORTS_KEY_BY_PARENT = {"spec": "port"}
DEFAULT_PORTS_KEY = "containerPort"

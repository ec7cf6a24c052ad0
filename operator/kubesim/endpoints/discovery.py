"""API discovery: the legacy lists kopf reads, and aggregated discovery v2 when a client asks for it."""

from __future__ import annotations

from typing import Any

from kubesim.api.resources import ResourceType

Obj = dict[str, Any]
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-kubesim",
    "gitCommit": "kubesim",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def wants_aggregated(accept: str) -> bool:
    return "as=APIGroupDiscoveryList" in accept and "g=apidiscovery.k8s.io" in accept


def _group_versions(types: list[ResourceType]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for rt in types:
        versions = groups.setdefault(rt.group, [])
        for v in rt.served_versions or (rt.version,):
            if v not in versions:
                versions.append(v)
    return groups


def api_versions() -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    }


# The order kube-apiserver lists built-in groups in (the aggregator's group priorities); custom resource groups
# follow, by name.
_GROUP_ORDER = (
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "resource.k8s.io",
    "flowcontrol.apiserver.k8s.io",
)


def _group_rank(group: str) -> tuple[int, str]:
    return (_GROUP_ORDER.index(group), "") if group in _GROUP_ORDER else (len(_GROUP_ORDER), group)


def api_group_list(types: list[ResourceType]) -> Obj:
    groups = []
    for group, versions in sorted(_group_versions(types).items(), key=lambda item: _group_rank(item[0])):
        if not group:
            continue
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


# Each subresource's entry: its group and version when not the resource's, its kind (None: the resource's) and
# verbs. ``finalize`` is the namespaces' own.
_SUBRESOURCES: dict[str, tuple[Obj, str | None, list[str]]] = {
    "status": ({}, None, ["get", "patch", "update"]),
    "scale": ({"group": "autoscaling", "version": "v1"}, "Scale", ["get", "patch", "update"]),
    "token": ({"group": "authentication.k8s.io", "version": "v1"}, "TokenRequest", ["create"]),
    "proxy": ({}, "ServiceProxyOptions", ["create", "delete", "get", "patch", "update"]),
    "finalize": ({}, "Namespace", ["update"]),
}


def _subresource_entry(rt: ResourceType, sub: str) -> Obj:
    if sub == "finalize":
        return {
            "name": "namespaces/finalize",
            "singularName": "",
            "namespaced": False,
            "kind": "Namespace",
            "verbs": ["update"],
        }
    group_version, kind, verbs = _SUBRESOURCES[sub]
    return {
        "name": f"{rt.plural}/{sub}",
        "singularName": "",
        "namespaced": rt.namespaced,
        **group_version,
        "kind": kind or rt.kind,
        "verbs": list(verbs),
    }


def _resource_entries(rt: ResourceType) -> list[Obj]:
    entry: Obj = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    entries = [entry]
    subs = (
        sorted(rt.subresources, key=lambda name: (name != "status", name))
        if rt.is_custom
        else sorted(rt.subresources)
    )
    if rt.key == ("", "namespaces"):
        subs = ["finalize", *subs]
    entries.extend(_subresource_entry(rt, sub) for sub in subs if sub in _SUBRESOURCES)
    return entries


def resource_list(types: list[ResourceType], group: str, version: str) -> Obj | None:
    matching = [rt for rt in types if rt.group == group and version in (rt.served_versions or (rt.version,))]
    if not matching:
        return None
    resources: list[Obj] = []
    for rt in sorted(matching, key=lambda t: t.plural):
        resources.extend(_resource_entries(rt))
    if not group:  # the legacy group's list carries no apiVersion
        return {"kind": "APIResourceList", "groupVersion": version, "resources": resources}
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}",
        "resources": resources,
    }


def aggregated(types: list[ResourceType], legacy: bool) -> Obj:
    """APIGroupDiscoveryList for /api (legacy=True) or /apis."""
    items = []
    for group, versions in sorted(_group_versions(types).items()):
        if (group == "") != legacy:
            continue
        version_items = []
        for v in versions:
            resources = []
            for rt in sorted(
                (t for t in types if t.group == group and v in (t.served_versions or (t.version,))),
                key=lambda t: t.plural,
            ):
                res: Obj = {
                    "resource": rt.plural,
                    "responseKind": {"group": group, "version": v, "kind": rt.kind},
                    "scope": "Namespaced" if rt.namespaced else "Cluster",
                    "singularResource": rt.singular,
                    "verbs": list(rt.verbs),
                }
                if rt.short_names:
                    res["shortNames"] = list(rt.short_names)
                if rt.categories:
                    res["categories"] = list(rt.categories)
                subs = []
                for sub in sorted(rt.subresources):
                    kind = {
                        "status": rt.kind,
                        "scale": "Scale",
                        "proxy": "ServiceProxyOptions",
                        "token": "TokenRequest",
                    }.get(sub, rt.kind)
                    sub_group = "autoscaling" if sub == "scale" else group
                    sub_version = "v1" if sub == "scale" else v
                    subs.append(
                        {
                            "subresource": sub,
                            "responseKind": {"group": sub_group, "version": sub_version, "kind": kind},
                            "verbs": ["get", "patch", "update"],
                        }
                    )
                if subs:
                    res["subresources"] = subs
                resources.append(res)
            version_items.append({"version": v, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": version_items})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }

"""Server-side Tables for ``kubectl get``: CRD printer columns and the built-in printers' usual columns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubesim.api.durations import age
from kubesim.api.jsonpath import evaluate
from kubesim.api.resources import ResourceType, storage_version
from kubesim.api.selectors import selector_string

Obj = dict[str, Any]
Cell = Any


def jsonpath(obj: Any, path: str) -> list[Any]:
    """Every match of a printer column's JSONPath (see :mod:`kubesim.api.jsonpath`)."""
    return evaluate(obj, path)


def _column(name: str, type_: str = "string", fmt: str = "", description: str = "", priority: int = 0) -> Obj:
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


def _meta_cells(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def _custom_columns(rt: ResourceType) -> tuple[list[Obj], Callable[[Obj], list[Cell]]]:
    assert rt.crd is not None
    columns = storage_version(rt.crd).get("additionalPrinterColumns") or []
    defs = [_column("Name", "string", "name", "Name must be unique within a namespace.")]
    if not columns:
        defs.append(_column("Age", "date"))
        return defs, lambda o: [_meta_cells(o), age(o.get("metadata", {}).get("creationTimestamp"))]
    for col in columns:
        defs.append(
            _column(
                col["name"],
                col.get("type", "string"),
                col.get("format", ""),
                col.get("description", ""),
                int(col.get("priority", 0)),
            )
        )

    def cells(obj: Obj) -> list[Cell]:
        row: list[Cell] = [_meta_cells(obj)]
        for col in columns:
            found = jsonpath(obj, col["jsonPath"])
            value = found[0] if found else None
            if value is not None and col.get("type") == "date":
                value = age(str(value))
            elif isinstance(value, dict | list):
                import json

                value = json.dumps(value, separators=(",", ":"))
            row.append(value)
        return row

    return defs, cells


def _terminated_reason(terminated: Obj, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def _condition_true(status: Obj, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or [])


def _pod_status(pod: Obj) -> tuple[str, int, str]:
    """STATUS, ready count and RESTARTS as printers.go's printPod works them out."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    if any(
        c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated"
        for c in status.get("conditions") or []
    ):
        reason = "SchedulingGated"
    sidecars = {c.get("name") for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"}
    restarts = sidecar_restarts = ready = 0
    last_restart = last_sidecar_restart = ""
    initializing = False
    init_total = len(spec.get("initContainers") or [])
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or ""
        last_restart = max(last_restart, finished)
        sidecar = cs.get("name") in sidecars
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            last_sidecar_restart = max(last_sidecar_restart, finished)
            if cs.get("started") and cs.get("ready"):
                ready += 1
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting") or {}
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            continue
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{init_total}"
        initializing = True
        break
    if not initializing or _condition_true(status, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or ""
            last_restart = max(last_restart, finished)
            state = cs.get("state") or {}
            waiting, terminated = state.get("waiting") or {}, state.get("terminated")
            if waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = _terminated_reason(terminated)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status, "Ready") else "NotReady"
    deleting = (pod.get("metadata") or {}).get("deletionTimestamp")
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    restart_text = f"{restarts} ({age(last_restart)} ago)" if restarts and last_restart else str(restarts)
    return reason, ready, restart_text


def _readiness_gates(pod: Obj) -> str:
    gates = (pod.get("spec") or {}).get("readinessGates") or []
    if not gates:
        return "<none>"
    conditions = {c.get("type"): c.get("status") for c in (pod.get("status") or {}).get("conditions") or []}
    true = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
    return f"{true}/{len(gates)}"


def _event_columns(name_col: Obj) -> list[Obj]:
    return [
        _column("Last Seen"),
        _column("Type"),
        _column("Reason"),
        _column("Object"),
        _column("Subobject", priority=1),
        _column("Source", priority=1),
        _column("Message"),
        _column("First Seen", priority=1),
        _column("Count", priority=1),
        {**name_col, "priority": 1},
    ]


def _event_cells(o: Obj) -> list[Cell]:
    """printEvent's cells (the server always generates the wide form; kubectl hides priority columns)."""
    meta = o.get("metadata") or {}
    first = o.get("firstTimestamp") or o.get("eventTime") or meta.get("creationTimestamp")
    series = o.get("series") or {}
    last = series.get("lastObservedTime") or o.get("lastTimestamp") or first
    count = int(series.get("count") or o.get("count") or 1)
    last_seen = age(last)
    involved = o.get("involvedObject") or o.get("regarding") or {}
    source = o.get("source") or {}
    source_text = ", ".join(str(p) for p in (source.get("component"), source.get("host")) if p)
    return [
        last_seen,
        o.get("type", ""),
        o.get("reason", ""),
        str(involved.get("kind", "")).lower() + (f"/{involved['name']}" if involved.get("name") else ""),
        involved.get("fieldPath", ""),
        source_text or o.get("reportingComponent", ""),
        str(o.get("message", "")).strip(),
        age(first),
        count,
        _meta_cells(o),
    ]


def _external_ip(service: Obj) -> str:
    """getServiceExternalIP: external IPs, load balancer ingress (``<pending>`` until there is one), or the
    ExternalName."""
    spec = service.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    external = list(spec.get("externalIPs") or [])
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    if kind == "LoadBalancer":
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        found = [i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")]
        return ",".join(found + external) or "<pending>"
    return ",".join(external) or "<none>"


def _builtin(rt: ResourceType) -> tuple[list[Obj], Callable[[Obj], list[Cell]]]:
    name_col = _column("Name", "string", "name", "Name must be unique within a namespace.")
    age_col = _column("Age", "string", "", "CreationTimestamp")

    def created(o: Obj) -> str:
        return age(o.get("metadata", {}).get("creationTimestamp"))

    def containers(o: Obj) -> tuple[str, str]:
        cs = ((o.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
        return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)

    if rt.key == ("", "pods"):

        def pod(o: Obj) -> list[Cell]:
            reason, ready, restarts = _pod_status(o)
            spec = o.get("spec") or {}
            sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
            total = len(spec.get("containers") or []) + len(sidecars)
            st = o.get("status") or {}
            return [
                _meta_cells(o),
                f"{ready}/{total}",
                reason,
                restarts,
                created(o),
                st.get("podIP") or ((st.get("podIPs") or [{}])[0].get("ip")) or "<none>",
                (o.get("spec") or {}).get("nodeName") or "<none>",
                st.get("nominatedNodeName") or "<none>",
                _readiness_gates(o),
            ]

        return [
            name_col,
            _column("Ready"),
            _column("Status"),
            _column("Restarts"),
            age_col,
            _column("IP", priority=1),
            _column("Node", priority=1),
            _column("Nominated Node", priority=1),
            _column("Readiness Gates", priority=1),
        ], pod
    if rt.key == ("apps", "deployments"):

        def dep(o: Obj) -> list[Cell]:
            spec, st = o.get("spec") or {}, o.get("status") or {}
            names, images = containers(o)
            return [
                _meta_cells(o),
                f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
                st.get("updatedReplicas", 0),
                st.get("availableReplicas", 0),
                created(o),
                names,
                images,
                selector_string(spec.get("selector")) or "<none>",
            ]

        return [
            name_col,
            _column("Ready"),
            _column("Up-to-date"),  # string columns holding numbers, as the real printer declares them
            _column("Available"),
            age_col,
            _column("Containers", priority=1),
            _column("Images", priority=1),
            _column("Selector", priority=1),
        ], dep
    if rt.key == ("apps", "replicasets"):

        def rs(o: Obj) -> list[Cell]:
            spec, st = o.get("spec") or {}, o.get("status") or {}
            names, images = containers(o)
            return [
                _meta_cells(o),
                spec.get("replicas", 1),
                st.get("replicas", 0),
                st.get("readyReplicas", 0),
                created(o),
                names,
                images,
                selector_string(spec.get("selector")) or "<none>",
            ]

        return [
            name_col,
            _column("Desired", "integer"),
            _column("Current", "integer"),
            _column("Ready", "integer"),
            age_col,
            _column("Containers", priority=1),
            _column("Images", priority=1),
            _column("Selector", priority=1),
        ], rs
    if rt.key == ("coordination.k8s.io", "leases"):
        return [name_col, _column("Holder"), age_col], lambda o: [
            _meta_cells(o),
            (o.get("spec") or {}).get("holderIdentity") or "",
            created(o),
        ]
    if rt.key == ("", "nodes"):

        def node(o: Obj) -> list[Cell]:
            st = o.get("status") or {}
            ready: Obj = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), {})
            labels = (o.get("metadata") or {}).get("labels") or {}
            roles = sorted(
                {k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")}
                | ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set())
            )
            addresses = {a.get("type"): a.get("address") for a in st.get("addresses") or []}
            info = st.get("nodeInfo") or {}
            return [
                _meta_cells(o),
                "Ready" if ready.get("status") == "True" else "NotReady",
                ",".join(roles) or "<none>",
                created(o),
                info.get("kubeletVersion", ""),
                addresses.get("InternalIP", "<none>"),
                addresses.get("ExternalIP", "<none>"),
                info.get("osImage") or "<unknown>",
                info.get("kernelVersion") or "<unknown>",
                info.get("containerRuntimeVersion") or "<unknown>",
            ]

        return [
            name_col,
            _column("Status"),
            _column("Roles"),
            age_col,
            _column("Version"),
            _column("Internal-IP", priority=1),
            _column("External-IP", priority=1),
            _column("OS-Image", priority=1),
            _column("Kernel-Version", priority=1),
            _column("Container-Runtime", priority=1),
        ], node
    if rt.key == ("", "namespaces"):
        return [name_col, _column("Status"), age_col], lambda o: [
            _meta_cells(o),
            (o.get("status") or {}).get("phase", "Active"),
            created(o),
        ]
    if rt.key == ("", "events"):
        return _event_columns(name_col), _event_cells
    if rt.key == ("", "serviceaccounts"):
        return [name_col, age_col], lambda o: [_meta_cells(o), created(o)]  # v1.36 dropped Secrets
    if rt.key == ("", "services"):

        def svc(o: Obj) -> list[Cell]:
            spec = o.get("spec") or {}
            ports = ",".join(
                f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
                if p.get("nodePort")
                else f"{p.get('port')}/{p.get('protocol', 'TCP')}"
                for p in spec.get("ports") or []
            )
            selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
            return [
                _meta_cells(o),
                spec.get("type", "ClusterIP"),
                (spec.get("clusterIPs") or [spec.get("clusterIP") or "<none>"])[0],
                _external_ip(o),
                ports or "<none>",
                created(o),
                selector or "<none>",
            ]

        return [
            name_col,
            _column("Type"),
            _column("Cluster-IP"),
            _column("External-IP"),
            _column("Port(s)"),
            age_col,
            _column("Selector", priority=1),
        ], svc
    if rt.key == ("", "configmaps"):
        return [name_col, _column("Data"), age_col], lambda o: [
            _meta_cells(o),
            len(o.get("data") or {}) + len(o.get("binaryData") or {}),
            created(o),
        ]
    if rt.key == ("", "secrets"):
        return [name_col, _column("Type"), _column("Data"), age_col], lambda o: [
            _meta_cells(o),
            o.get("type", "Opaque"),
            len(o.get("data") or {}),
            created(o),
        ]
    if rt.key in (
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "clusterroles"),
    ):
        return [name_col, _column("Created At", "date")], lambda o: [
            _meta_cells(o),
            o.get("metadata", {}).get("creationTimestamp"),
        ]
    return [name_col, age_col], lambda o: [_meta_cells(o), created(o)]


def columns_for(rt: ResourceType) -> tuple[list[Obj], Callable[[Obj], list[Cell]]]:
    return _custom_columns(rt) if rt.is_custom else _builtin(rt)


def partial_metadata(obj: Obj) -> Obj:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


_DEFAULT_CONVERTOR = frozenset(
    {
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "clusterroles"),
    }
)


def to_table(
    rt: ResourceType,
    objects: list[Obj],
    resource_version: str,
    continue_token: str = "",
    include_object: str = "Metadata",
    with_columns: bool = True,
) -> Obj:
    defs, cells = columns_for(rt)
    rows = []
    for obj in objects:
        row: Obj = {"cells": cells(obj)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "None":
            row["object"] = None  # a RawExtension left empty encodes as null
        else:
            row["object"] = partial_metadata(obj)
        rows.append(row)
    meta: Obj = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    # the default table convertor (kinds without a printer) leaves an empty list's rows nil
    shown_rows: list[Obj] | None = rows if rows or rt.key not in _DEFAULT_CONVERTOR else None
    table: Obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "rows": shown_rows}
    if with_columns:
        table["columnDefinitions"] = defs
    else:
        table["columnDefinitions"] = None
    return table

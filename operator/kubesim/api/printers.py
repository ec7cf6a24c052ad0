"""The built-in printers' columns and cells (``pkg/printers/internalversion/printers.go``) for the kinds kubesim
serves, as v1.36 declares them; other built-ins get Name and Age."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubesim.api.durations import age
from kubesim.api.pod_status import pod_status, readiness_gates
from kubesim.api.printers_admission import PRINTERS as ADMISSION_PRINTERS
from kubesim.api.printers_workloads import PRINTERS as WORKLOAD_PRINTERS
from kubesim.api.resources import ResourceType
from kubesim.api.selectors import selector_string

Obj = dict[str, Any]
Cell = Any
Printer = tuple[list[Obj], Callable[[Obj], list[Cell]]]


def column(name: str, type_: str = "string", fmt: str = "", description: str = "", priority: int = 0) -> Obj:
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


def meta_cells(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def _name_col() -> Obj:
    return column("Name", "string", "name", "Name must be unique within a namespace.")


def _age_col() -> Obj:
    return column("Age", "string", "", "CreationTimestamp")


def _created(o: Obj) -> str:
    return age(o.get("metadata", {}).get("creationTimestamp"))


def _containers(o: Obj) -> tuple[str, str]:
    cs = ((o.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _event_columns(name_col: Obj) -> list[Obj]:
    return [
        column("Last Seen"),
        column("Type"),
        column("Reason"),
        column("Object"),
        column("Subobject", priority=1),
        column("Source", priority=1),
        column("Message"),
        column("First Seen", priority=1),
        column("Count", priority=1),
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
        meta_cells(o),
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


def _pods() -> Printer:
    name_col = _name_col()
    age_col = _age_col()

    def pod(o: Obj) -> list[Cell]:
        reason, ready, restarts = pod_status(o)
        spec = o.get("spec") or {}
        sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
        total = len(spec.get("containers") or []) + len(sidecars)
        st = o.get("status") or {}
        return [
            meta_cells(o),
            f"{ready}/{total}",
            reason,
            restarts,
            _created(o),
            st.get("podIP") or ((st.get("podIPs") or [{}])[0].get("ip")) or "<none>",
            (o.get("spec") or {}).get("nodeName") or "<none>",
            st.get("nominatedNodeName") or "<none>",
            readiness_gates(o),
        ]

    return [
        name_col,
        column("Ready"),
        column("Status"),
        column("Restarts"),
        age_col,
        column("IP", priority=1),
        column("Node", priority=1),
        column("Nominated Node", priority=1),
        column("Readiness Gates", priority=1),
    ], pod


def _deployments() -> Printer:
    name_col = _name_col()
    age_col = _age_col()

    def dep(o: Obj) -> list[Cell]:
        spec, st = o.get("spec") or {}, o.get("status") or {}
        names, images = _containers(o)
        return [
            meta_cells(o),
            f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            st.get("updatedReplicas", 0),
            st.get("availableReplicas", 0),
            _created(o),
            names,
            images,
            selector_string(spec.get("selector")) or "<none>",
        ]

    return [
        name_col,
        column("Ready"),
        column("Up-to-date"),  # string columns holding numbers, as the real printer declares them
        column("Available"),
        age_col,
        column("Containers", priority=1),
        column("Images", priority=1),
        column("Selector", priority=1),
    ], dep


def _replicasets() -> Printer:
    name_col = _name_col()
    age_col = _age_col()

    def rs(o: Obj) -> list[Cell]:
        spec, st = o.get("spec") or {}, o.get("status") or {}
        names, images = _containers(o)
        return [
            meta_cells(o),
            spec.get("replicas", 1),
            st.get("replicas", 0),
            st.get("readyReplicas", 0),
            _created(o),
            names,
            images,
            selector_string(spec.get("selector")) or "<none>",
        ]

    return [
        name_col,
        column("Desired", "integer"),
        column("Current", "integer"),
        column("Ready", "integer"),
        age_col,
        column("Containers", priority=1),
        column("Images", priority=1),
        column("Selector", priority=1),
    ], rs


def _replicationcontrollers() -> Printer:
    columns, row = _replicasets()

    def rc(o: Obj) -> list[Cell]:
        selector = (o.get("spec") or {}).get("selector") or {}
        spec = {**(o.get("spec") or {}), "selector": {"matchLabels": selector} if selector else None}
        return row({**o, "spec": spec})

    return columns, rc


def _leases() -> Printer:
    name_col = _name_col()
    age_col = _age_col()
    return [name_col, column("Holder"), age_col], lambda o: [
        meta_cells(o),
        (o.get("spec") or {}).get("holderIdentity") or "",
        _created(o),
    ]


def _nodes() -> Printer:
    name_col = _name_col()
    age_col = _age_col()

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
            meta_cells(o),
            "Ready" if ready.get("status") == "True" else "NotReady",
            ",".join(roles) or "<none>",
            _created(o),
            info.get("kubeletVersion", ""),
            addresses.get("InternalIP", "<none>"),
            addresses.get("ExternalIP", "<none>"),
            info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>",
        ]

    return [
        name_col,
        column("Status"),
        column("Roles"),
        age_col,
        column("Version"),
        column("Internal-IP", priority=1),
        column("External-IP", priority=1),
        column("OS-Image", priority=1),
        column("Kernel-Version", priority=1),
        column("Container-Runtime", priority=1),
    ], node


def _namespaces() -> Printer:
    name_col = _name_col()
    age_col = _age_col()
    return [name_col, column("Status"), age_col], lambda o: [
        meta_cells(o),
        (o.get("status") or {}).get("phase", "Active"),
        _created(o),
    ]


def _events() -> Printer:
    name_col = _name_col()
    return _event_columns(name_col), _event_cells


def _serviceaccounts() -> Printer:
    name_col = _name_col()
    age_col = _age_col()
    return [name_col, age_col], lambda o: [meta_cells(o), _created(o)]  # v1.36 dropped Secrets


def _services() -> Printer:
    name_col = _name_col()
    age_col = _age_col()

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
            meta_cells(o),
            spec.get("type", "ClusterIP"),
            (spec.get("clusterIPs") or [spec.get("clusterIP") or "<none>"])[0],
            _external_ip(o),
            ports or "<none>",
            _created(o),
            selector or "<none>",
        ]

    return [
        name_col,
        column("Type"),
        column("Cluster-IP"),
        column("External-IP"),
        column("Port(s)"),
        age_col,
        column("Selector", priority=1),
    ], svc


def _configmaps() -> Printer:
    name_col = _name_col()
    age_col = _age_col()
    return [name_col, column("Data"), age_col], lambda o: [
        meta_cells(o),
        len(o.get("data") or {}) + len(o.get("binaryData") or {}),
        _created(o),
    ]


def _secrets() -> Printer:
    name_col = _name_col()
    age_col = _age_col()
    return [name_col, column("Type"), column("Data"), age_col], lambda o: [
        meta_cells(o),
        o.get("type", "Opaque"),
        len(o.get("data") or {}),
        _created(o),
    ]


def _customresourcedefinitions() -> Printer:
    name_col = _name_col()
    return [name_col, column("Created At", "date")], lambda o: [
        meta_cells(o),
        o.get("metadata", {}).get("creationTimestamp"),
    ]


_PRINTERS: dict[tuple[str, str], Callable[[], Printer]] = {
    ("", "pods"): _pods,
    ("apps", "deployments"): _deployments,
    ("apps", "replicasets"): _replicasets,
    ("", "replicationcontrollers"): _replicationcontrollers,
    ("coordination.k8s.io", "leases"): _leases,
    ("", "nodes"): _nodes,
    ("", "namespaces"): _namespaces,
    ("", "events"): _events,
    ("", "serviceaccounts"): _serviceaccounts,
    ("", "services"): _services,
    ("", "configmaps"): _configmaps,
    ("", "secrets"): _secrets,
    ("apiextensions.k8s.io", "customresourcedefinitions"): _customresourcedefinitions,
    ("rbac.authorization.k8s.io", "roles"): _customresourcedefinitions,
    ("rbac.authorization.k8s.io", "clusterroles"): _customresourcedefinitions,
    **WORKLOAD_PRINTERS,
    **ADMISSION_PRINTERS,
}


def builtin(rt: ResourceType) -> Printer:
    printer = _PRINTERS.get(rt.key)
    if printer is not None:
        return printer()
    return [_name_col(), _age_col()], lambda o: [meta_cells(o), _created(o)]

"""The built-in printers of the workload kinds beside Deployments and ReplicaSets (``printStatefulSet``,
``printDaemonSet``, ``printControllerRevision``, ``printJob``), as v1.36 declares them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from kubesim.api.durations import age, human_duration
from kubesim.api.selectors import selector_string

Obj = dict[str, Any]
Cell = Any
Printer = tuple[list[Obj], Callable[[Obj], list[Cell]]]


def _column(name: str, type_: str = "string", fmt: str = "", priority: int = 0) -> Obj:
    return {"name": name, "type": type_, "format": fmt, "description": "", "priority": priority}


def _name() -> Obj:
    return {**_column("Name", fmt="name"), "description": "Name must be unique within a namespace."}


def _age() -> Obj:
    return {**_column("Age"), "description": "CreationTimestamp"}


def _wide() -> list[Obj]:
    return [_column("Containers", priority=1), _column("Images", priority=1)]


def _containers(o: Obj) -> list[str]:
    cs = ((o.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    return [",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)]


def _created(o: Obj) -> str:
    return age(o.get("metadata", {}).get("creationTimestamp"))


def statefulsets() -> Printer:
    def row(o: Obj) -> list[Cell]:
        ready = (o.get("status") or {}).get("readyReplicas", 0)
        desired = (o.get("spec") or {}).get("replicas", 1)
        return [o["metadata"]["name"], f"{ready}/{desired}", _created(o), *_containers(o)]

    return [_name(), _column("Ready"), _age(), *_wide()], row


def daemonsets() -> Printer:
    def row(o: Obj) -> list[Cell]:
        st, spec = o.get("status") or {}, o.get("spec") or {}
        node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
        return [
            o["metadata"]["name"],
            *(int(st.get(k, 0)) for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady")),
            int(st.get("updatedNumberScheduled", 0)),
            int(st.get("numberAvailable", 0)),
            ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>",
            _created(o),
            *_containers(o),
            selector_string(spec.get("selector")) or "<none>",
        ]

    counts = [_column(n, "integer") for n in ("Desired", "Current", "Ready", "Up-to-date", "Available")]
    columns = [_name(), *counts, _column("Node Selector"), _age(), *_wide(), _column("Selector", priority=1)]
    return columns, row


def controllerrevisions() -> Printer:
    def row(o: Obj) -> list[Cell]:
        owner = next((r for r in o["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        controller = "<none>"
        if owner is not None:
            group = str(owner.get("apiVersion", "")).rpartition("/")[0]
            controller = (
                f"{str(owner.get('kind', '')).lower()}{'.' + group if group else ''}/{owner.get('name')}"
            )
        return [o["metadata"]["name"], controller, int(o.get("revision") or 0), _created(o)]

    return [_name(), _column("Controller"), _column("Revision"), _age()], row


def _job_status(o: Obj) -> str:
    conditions = {
        c.get("type") for c in (o.get("status") or {}).get("conditions") or [] if c.get("status") == "True"
    }
    for condition, shown in (("Complete", "Complete"), ("Failed", "Failed")):
        if condition in conditions:
            return shown
    if o["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for condition in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if condition in conditions:
            return condition
    return "Running"


def _job_duration(st: Obj, now: Callable[[], float]) -> str:
    def epoch(stamp: str) -> float:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()

    if not st.get("startTime"):
        return ""
    end = epoch(st["completionTime"]) if st.get("completionTime") else now()
    return human_duration(end - epoch(st["startTime"]))


def jobs() -> Printer:
    def row(o: Obj) -> list[Cell]:
        spec, st = o.get("spec") or {}, o.get("status") or {}
        succeeded = int(st.get("succeeded", 0))
        if spec.get("completions") is not None:
            completions = f"{succeeded}/{spec['completions']}"
        elif int(spec.get("parallelism", 1)) > 1:
            completions = f"{succeeded}/1 of {spec['parallelism']}"
        else:
            completions = f"{succeeded}/1"
        selector = selector_string(spec.get("selector")) or "<none>"
        duration = _job_duration(st, lambda: datetime.now().timestamp())
        return [
            o["metadata"]["name"],
            _job_status(o),
            completions,
            duration,
            _created(o),
            *_containers(o),
            selector,
        ]

    columns = [_name(), _column("Status"), _column("Completions"), _column("Duration"), _age(), *_wide()]
    return [*columns, _column("Selector", priority=1)], row


def cronjobs() -> Printer:
    def row(o: Obj) -> list[Cell]:
        spec, st = o.get("spec") or {}, o.get("status") or {}
        suspend = spec.get("suspend")
        last = st.get("lastScheduleTime")
        job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        return [
            o["metadata"]["name"],
            spec.get("schedule", ""),
            spec.get("timeZone") or "<none>",
            "<unset>" if suspend is None else str(bool(suspend)),
            len(st.get("active") or []),
            age(last) if last else "<none>",
            _created(o),
            *_containers({"spec": job_spec}),
            selector_string(job_spec.get("selector")) or "<none>",
        ]

    columns = [_name(), _column("Schedule"), _column("Timezone"), _column("Suspend", "boolean")]
    columns += [_column("Active", "integer"), _column("Last Schedule"), _age(), *_wide()]
    return [*columns, _column("Selector", priority=1)], row


def apiservices() -> Printer:
    def row(o: Obj) -> list[Cell]:
        service = (o.get("spec") or {}).get("service")
        shown = f"{service.get('namespace')}/{service.get('name')}" if service else "Local"
        available = "Unknown"
        for c in (o.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Available":
                available = str(c.get("status"))
                if available != "True":
                    available = f"{available} ({c.get('reason')})"
        return [o["metadata"]["name"], shown, available, _created(o)]

    return [_name(), _column("Service"), _column("Available"), _age()], row


PRINTERS: dict[tuple[str, str], Callable[[], Printer]] = {
    ("apps", "statefulsets"): statefulsets,
    ("apps", "daemonsets"): daemonsets,
    ("apps", "controllerrevisions"): controllerrevisions,
    ("batch", "jobs"): jobs,
    ("batch", "cronjobs"): cronjobs,
    ("apiregistration.k8s.io", "apiservices"): apiservices,
}

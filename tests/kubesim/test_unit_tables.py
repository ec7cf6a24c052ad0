"""Server-side Tables: the columns and cells kubectl prints for built-ins and custom resources."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from kubesim.api.durations import human_duration
from kubesim.api.resources import BUILTINS, ResourceType, from_crd
from kubesim.api.tables import jsonpath, to_table


def _rt(plural: str) -> ResourceType:
    return next(rt for rt in BUILTINS if rt.plural == plural)


def _ago(seconds: float) -> str:
    return datetime.fromtimestamp(time.time() - seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-0.5, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (303, "5m3s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 25 * 60, "3h25m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (50 * 3600, "2d2h"),
        (8 * 86400, "8d"),
        (729 * 86400, "729d"),
        (730 * 86400, "2y"),
        (731 * 86400, "2y1d"),
        (3000 * 86400, "8y"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".spec.replicas", [3]),
        ("{.spec.replicas}", [3]),
        (".spec.containers[0].image", ["a:1"]),
        (".spec.containers[*].name", ["a", "b"]),
        (".status.missing", []),
    ],
)
def test_jsonpath(path: str, expected: list[Any]) -> None:
    obj = {
        "spec": {"replicas": 3, "containers": [{"name": "a", "image": "a:1"}, {"name": "b"}]},
        "status": {},
    }
    assert jsonpath(obj, path) == expected


def _names(table: dict[str, Any]) -> list[str]:
    return [c["name"] for c in table["columnDefinitions"]]


def test_table_envelope_and_row_objects() -> None:
    cm = {
        "metadata": {"name": "cfg", "creationTimestamp": _ago(30), "managedFields": [{}]},
        "data": {"a": "1"},
    }
    table = to_table(_rt("configmaps"), [cm], "42", "next")
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert table["metadata"] == {"resourceVersion": "42", "continue": "next"}
    assert _names(table) == ["Name", "Data", "Age"]
    row = table["rows"][0]
    assert row["cells"][:2] == ["cfg", 1]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["apiVersion"] == "meta.k8s.io/v1"
    # kube-apiserver keeps managedFields in the row's PartialObjectMetadata (make fidelity, tables)
    assert row["object"]["metadata"]["managedFields"] == [{}]
    assert to_table(_rt("configmaps"), [cm], "42", "", "Object")["rows"][0]["object"] is cm
    assert (
        to_table(_rt("configmaps"), [cm], "42", "", "None")["rows"][0]["object"] is None
    )  # the real server sends "object": null (make fidelity, tables)
    assert "continue" not in to_table(_rt("configmaps"), [cm], "42", "")["metadata"]


def test_pod_columns_and_crash_loop_status() -> None:
    pod = {
        "metadata": {"name": "web-1", "creationTimestamp": _ago(600)},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app"}, {"name": "side"}]},
        "status": {
            "phase": "Running",
            "podIP": "10.0.0.5",
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": False,
                    "restartCount": 5,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"finishedAt": _ago(5)}},
                },
                {"name": "side", "ready": True, "restartCount": 0, "state": {"running": {}}},
            ],
        },
    }
    table = to_table(_rt("pods"), [pod], "1", "")
    assert _names(table) == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
        "IP",
        "Node",
        "Nominated Node",
        "Readiness Gates",
    ]
    assert [c["priority"] for c in table["columnDefinitions"]] == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    cells = table["rows"][0]["cells"]
    assert cells[:3] == ["web-1", "1/2", "CrashLoopBackOff"]
    assert cells[3] in ("5 (5s ago)", "5 (6s ago)")
    assert cells[4] == "10m"
    assert cells[5:7] == ["10.0.0.5", "node-1"]


def test_terminating_pod() -> None:
    pod = {
        "metadata": {"name": "p", "deletionTimestamp": _ago(1)},
        "spec": {"containers": [{}]},
        "status": {},
    }
    assert to_table(_rt("pods"), [pod], "1", "")["rows"][0]["cells"][2] == "Terminating"


def test_deployment_and_replicaset_columns() -> None:
    template = {
        "spec": {"containers": [{"name": "app", "image": "app:2"}, {"name": "log", "image": "log:1"}]}
    }
    selector = {"matchLabels": {"app": "web"}}
    dep = {
        "metadata": {"name": "web", "creationTimestamp": _ago(3600)},
        "spec": {"replicas": 3, "selector": selector, "template": template},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    table = to_table(_rt("deployments"), [dep], "1", "")
    assert _names(table) == [
        "Name",
        "Ready",
        "Up-to-date",
        "Available",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    assert table["rows"][0]["cells"] == ["web", "2/3", 3, 2, "60m", "app,log", "app:2,log:1", "app=web"]
    rs = {**dep, "metadata": {"name": "web-abc", "creationTimestamp": _ago(7200)}, "status": {"replicas": 3}}
    table = to_table(_rt("replicasets"), [rs], "1", "")
    assert _names(table) == ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"]
    assert table["rows"][0]["cells"][:5] == ["web-abc", 3, 3, 0, "120m"]


def test_lease_columns() -> None:
    lease = {"metadata": {"name": "lock", "creationTimestamp": _ago(3)}, "spec": {"holderIdentity": "op-1"}}
    table = to_table(_rt("leases"), [lease], "1", "")
    assert _names(table) == ["Name", "Holder", "Age"]
    assert table["rows"][0]["cells"] == ["lock", "op-1", "3s"]


def _crd(columns: list[dict[str, Any]] | None) -> dict[str, Any]:
    version: dict[str, Any] = {"name": "v1", "served": True, "storage": True}
    if columns is not None:
        version["additionalPrinterColumns"] = columns
    return {
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [version],
        },
    }


def test_custom_resource_without_columns_gets_age() -> None:
    obj = {"metadata": {"name": "w", "creationTimestamp": _ago(303)}}
    table = to_table(from_crd(_crd(None)), [obj], "1", "")
    assert _names(table) == ["Name", "Age"]
    assert table["rows"][0]["cells"] == ["w", "5m3s"]


def test_custom_resource_printer_columns() -> None:
    columns: list[dict[str, Any]] = [
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Images", "type": "integer", "jsonPath": ".spec.count", "priority": 1},
        {"name": "Started", "type": "date", "jsonPath": ".status.startedAt"},
        {"name": "Missing", "type": "string", "jsonPath": ".status.nothing"},
    ]
    obj = {
        "metadata": {"name": "w"},
        "spec": {"count": 2},
        "status": {"phase": "Done", "startedAt": _ago(90)},
    }
    table = to_table(from_crd(_crd(columns)), [obj], "1", "")
    assert _names(table) == ["Name", "Phase", "Images", "Started", "Missing"]
    assert table["columnDefinitions"][0]["format"] == "name"
    assert table["columnDefinitions"][2]["priority"] == 1
    assert table["rows"][0]["cells"] == ["w", "Done", 2, "90s", None]


def _status_pod(status: dict[str, Any], init: int = 0, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p"}
    if deleting:
        meta["deletionTimestamp"] = _ago(1)
    spec = {"containers": [{"name": "app"}], "initContainers": [{"name": f"i{n}"} for n in range(init)]}
    return {"metadata": meta, "spec": spec, "status": status}


RUNNING = {"name": "app", "ready": True, "restartCount": 0, "state": {"running": {}}}


@pytest.mark.parametrize(
    ("pod", "status", "ready"),
    [
        (_status_pod({"phase": "Pending"}), "Pending", "0/1"),
        (_status_pod({"phase": "Running", "containerStatuses": [RUNNING]}), "Running", "1/1"),
        (
            _status_pod(
                {
                    "phase": "Pending",
                    "containerStatuses": [{"state": {"waiting": {"reason": "ErrImagePull"}}}],
                }
            ),
            "ErrImagePull",
            "0/1",
        ),
        (
            _status_pod(
                {
                    "phase": "Pending",
                    "containerStatuses": [{"state": {"waiting": {"reason": "ImagePullBackOff"}}}],
                }
            ),
            "ImagePullBackOff",
            "0/1",
        ),
        (
            _status_pod(
                {"phase": "Running", "containerStatuses": [{"state": {"terminated": {"exitCode": 2}}}]}
            ),
            "ExitCode:2",
            "0/1",
        ),
        (
            _status_pod(
                {
                    "phase": "Succeeded",
                    "containerStatuses": [{"state": {"terminated": {"reason": "Completed"}}}],
                }
            ),
            "Completed",
            "0/1",
        ),
        (
            _status_pod(
                {"phase": "Pending", "initContainerStatuses": [{"name": "i0", "state": {"running": {}}}]},
                init=2,
            ),
            "Init:0/2",
            "0/1",
        ),
        (
            _status_pod(
                {
                    "phase": "Pending",
                    "initContainerStatuses": [
                        {"name": "i0", "state": {"terminated": {"exitCode": 0}}},
                        {"name": "i1", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                    ],
                },
                init=2,
            ),
            "Init:CrashLoopBackOff",
            "0/1",
        ),
        (
            _status_pod(
                {
                    "phase": "Pending",
                    "initContainerStatuses": [{"name": "i0", "state": {"terminated": {"exitCode": 1}}}],
                },
                init=1,
            ),
            "Init:ExitCode:1",
            "0/1",
        ),
        (
            _status_pod({"phase": "Running", "containerStatuses": [RUNNING]}, deleting=True),
            "Terminating",
            "1/1",
        ),
        (_status_pod({"phase": "Succeeded"}, deleting=True), "Succeeded", "0/1"),
        (
            _status_pod(
                {"phase": "Pending", "conditions": [{"type": "PodScheduled", "reason": "SchedulingGated"}]}
            ),
            "SchedulingGated",
            "0/1",
        ),
    ],
)
def test_pod_status_column(pod: dict[str, Any], status: str, ready: str) -> None:
    cells = to_table(_rt("pods"), [pod], "1", "")["rows"][0]["cells"]
    assert (cells[2], cells[1]) == (status, ready)


def test_pod_readiness_gates_column() -> None:
    pod = _status_pod({"phase": "Running", "conditions": [{"type": "example.com/ready", "status": "True"}]})
    pod["spec"]["readinessGates"] = [{"conditionType": "example.com/ready"}, {"conditionType": "other"}]
    assert to_table(_rt("pods"), [pod], "1", "")["rows"][0]["cells"][8] == "1/2"


def test_event_columns_and_cells() -> None:
    event = {
        "metadata": {"name": "web.1", "creationTimestamp": _ago(300)},
        "involvedObject": {"kind": "Deployment", "name": "web"},
        "reason": "ScalingReplicaSet",
        "type": "Normal",
        "message": "Scaled up replica set web-abc to 1 ",
        "source": {"component": "deployment-controller"},
        "firstTimestamp": _ago(300),
        "lastTimestamp": _ago(60),
        "count": 3,
    }
    table = to_table(_rt("events"), [event], "1", "")
    defs = table["columnDefinitions"]
    assert [c["name"] for c in defs if c["priority"] == 0] == [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Message",
    ]
    assert table["rows"][0]["cells"] == [
        "60s",
        "Normal",
        "ScalingReplicaSet",
        "deployment/web",
        "",
        "deployment-controller",
        "Scaled up replica set web-abc to 1",
        "5m",
        3,
        "web.1",
    ]


def test_service_account_columns() -> None:
    sa = {"metadata": {"name": "default", "creationTimestamp": _ago(10)}}
    table = to_table(_rt("serviceaccounts"), [sa], "1", "")
    assert _names(table) == ["Name", "Age"]  # v1.36 has no Secrets column (make fidelity, tables)
    assert table["rows"][0]["cells"] == ["default", "10s"]


@pytest.mark.parametrize(
    ("spec", "status", "cells"),
    [
        (
            {"type": "ClusterIP", "clusterIP": "10.96.0.10", "ports": [{"port": 80, "protocol": "TCP"}]},
            {},
            ["ClusterIP", "10.96.0.10", "<none>", "80/TCP"],
        ),
        (
            {"type": "NodePort", "clusterIPs": ["10.96.0.11"], "ports": [{"port": 80, "nodePort": 30080}]},
            {},
            ["NodePort", "10.96.0.11", "<none>", "80:30080/TCP"],
        ),
        (
            {"type": "LoadBalancer", "clusterIP": "10.0.0.1"},
            {},
            ["LoadBalancer", "10.0.0.1", "<pending>", "<none>"],
        ),
        (
            {"type": "LoadBalancer", "clusterIP": "10.0.0.1", "ports": [{"port": 443, "protocol": "TCP"}]},
            {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
            ["LoadBalancer", "10.0.0.1", "1.2.3.4", "443/TCP"],
        ),
        (
            {"type": "ExternalName", "externalName": "db.example.com"},
            {},
            ["ExternalName", "<none>", "db.example.com", "<none>"],
        ),
    ],
)
def test_service_columns(spec: dict[str, Any], status: dict[str, Any], cells: list[str]) -> None:
    service = {"metadata": {"name": "s", "creationTimestamp": _ago(5)}, "spec": spec, "status": status}
    table = to_table(_rt("services"), [service], "1", "")
    assert _names(table) == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]
    assert table["rows"][0]["cells"][1:5] == cells
    assert table["rows"][0]["cells"][6] == "<none>"


def test_sidecars_count_in_ready() -> None:
    pod = _status_pod(
        {
            "phase": "Running",
            "initContainerStatuses": [
                {"name": "i0", "started": True, "ready": True, "state": {"running": {}}}
            ],
            "containerStatuses": [RUNNING],
        },
        init=1,
    )
    pod["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    cells = to_table(_rt("pods"), [pod], "1", "")["rows"][0]["cells"]
    assert cells[1:3] == ["2/2", "Running"]

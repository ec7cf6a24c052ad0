"""The differences issue 16 found between kubesim and kube-apiserver, each asserted as the real server behaves
(checked against kube-apiserver v1.36 with ``make fidelity``): server-side apply of an empty then filled map,
apply to /status in managedFields, DELETE answers, Service defaults, Status serialisation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import yaml

from kubesim.simulator import Simulator
from tests.kubesim.widgets import CRD_YAML

TOKEN = "test-token"
APPLY = {"Content-Type": "application/apply-patch+yaml"}
MERGE = {"Content-Type": "application/merge-patch+json"}
CM = "/api/v1/namespaces/default/configmaps"
WIDGETS = "/apis/test.kubesim.dev/v1/namespaces/default/widgets"


@pytest.fixture
async def http(simulator: Simulator) -> Any:
    async with httpx.AsyncClient(
        base_url=simulator.url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
        verify=simulator.client_ssl(),
    ) as session:
        yield session


async def apply(http: httpx.AsyncClient, path: str, body: dict[str, Any], manager: str) -> httpx.Response:
    return await http.patch(f"{path}?fieldManager={manager}", content=json.dumps(body), headers=APPLY)


def cm(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **extra}


async def install_widgets(http: httpx.AsyncClient) -> None:
    created = await http.post(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=yaml.safe_load(CRD_YAML)
    )
    assert created.status_code == 201, created.text


# --- (1) server-side apply: an empty map or list applied, then filled -------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "path"),
    [
        ({"data": {}}, {"data": {"a": "1", "b": "2"}}, ("data",)),
        (
            {"metadata": {"name": "x", "annotations": {}}},
            {"metadata": {"name": "x", "annotations": {"a": "1"}}},
            ("metadata", "annotations"),
        ),
    ],
)
async def test_apply_of_an_empty_map_then_filled_keeps_the_entries(
    http: httpx.AsyncClient, first: dict[str, Any], second: dict[str, Any], path: tuple[str, ...]
) -> None:
    assert (await apply(http, f"{CM}/x", cm("x", **first), "one")).status_code == 201
    answer = await apply(http, f"{CM}/x", cm("x", **second), "one")
    assert answer.status_code == 200, answer.text
    live = (await http.get(f"{CM}/x")).json()
    expected = second
    for part in path:
        live, expected = live[part], expected[part]
    assert live == expected


async def test_apply_of_an_empty_container_env_then_filled_keeps_it(http: httpx.AsyncClient) -> None:
    def deployment(env: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx", "env": env}]},
                },
            },
        }

    path = "/apis/apps/v1/namespaces/default/deployments/web"
    assert (await apply(http, path, deployment([]), "one")).status_code == 201
    answer = await apply(http, path, deployment([{"name": "A", "value": "1"}]), "one")
    assert answer.status_code == 200, answer.text
    container = answer.json()["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "A", "value": "1"}]


async def test_an_empty_built_in_map_is_absent_as_the_real_server_encodes_it(http: httpx.AsyncClient) -> None:
    created = (await apply(http, f"{CM}/x", cm("x", data={}), "one")).json()
    assert "data" not in created
    assert created["metadata"]["managedFields"][0]["fieldsV1"] == {"f:data": {}}


# --- (2) apply to /status: its manager is recorded ----------------------------------------------------------


async def test_apply_to_status_records_its_manager_with_the_subresource(http: httpx.AsyncClient) -> None:
    await install_widgets(http)
    body: dict[str, Any] = {"apiVersion": "test.kubesim.dev/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert (await apply(http, f"{WIDGETS}/w", {**body, "spec": {"size": 1}}, "one")).status_code == 201
    answer = await apply(http, f"{WIDGETS}/w/status", {**body, "status": {"phase": "Ready"}}, "ctl")
    assert answer.status_code == 200, answer.text
    entries = {e["manager"]: e for e in answer.json()["metadata"]["managedFields"]}
    assert entries["ctl"]["subresource"] == "status"
    assert entries["ctl"]["operation"] == "Apply"
    assert entries["ctl"]["fieldsV1"] == {"f:status": {"f:phase": {}}}
    # a second status manager conflicts with the first one, naming its subresource
    refused = await apply(http, f"{WIDGETS}/w/status", {**body, "status": {"phase": "Failed"}}, "other")
    assert refused.status_code == 409
    assert refused.json()["message"] == (
        'Apply failed with 1 conflict: conflict with "ctl" with subresource "status": .status.phase'
    )
    # and dropping the field from ctl's next apply removes it
    emptied = await apply(http, f"{WIDGETS}/w/status", {**body, "status": {}}, "ctl")
    assert "phase" not in (emptied.json().get("status") or {})


# --- (5) DELETE: a Status when the object is gone at once, the object while finalizers keep it ---------------


async def test_delete_answers_a_status_with_details_when_the_object_is_gone(http: httpx.AsyncClient) -> None:
    uid = (await http.post(CM, json=cm("gone"))).json()["metadata"]["uid"]
    answer = await http.delete(f"{CM}/gone")
    assert answer.status_code == 200
    assert answer.content == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":'
        + f'{{"name":"gone","kind":"configmaps","uid":"{uid}"}}}}\n'.encode()
    )
    await http.post(
        "/apis/apps/v1/namespaces/default/replicasets",
        json={
            "metadata": {"name": "rs"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"a": "b"}},
                "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "i"}]},
                },
            },
        },
    )
    details = (await http.delete("/apis/apps/v1/namespaces/default/replicasets/rs")).json()["details"]
    assert (details["group"], details["kind"], details["name"]) == ("apps", "replicasets", "rs")


async def test_delete_answers_the_object_while_a_finalizer_keeps_it(http: httpx.AsyncClient) -> None:
    await http.post(CM, json=cm("held", metadata={"name": "held", "finalizers": ["example.com/hold"]}))
    held = (await http.delete(f"{CM}/held")).json()
    assert held["kind"] == "ConfigMap" and held["metadata"]["deletionTimestamp"]
    released = await http.patch(f"{CM}/held", json={"metadata": {"finalizers": None}}, headers=MERGE)
    # the answer is the object as last stored: the resourceVersion of the deletion mark
    assert released.json()["metadata"]["resourceVersion"] == held["metadata"]["resourceVersion"]
    assert (await http.get(f"{CM}/held")).status_code == 404


async def test_deleting_a_custom_resource_with_a_finalizer_bumps_its_generation(
    http: httpx.AsyncClient,
) -> None:
    await install_widgets(http)
    body = {
        "apiVersion": "test.kubesim.dev/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "finalizers": ["example.com/hold"]},
        "spec": {"size": 1},
    }
    assert (await http.post(WIDGETS, json=body)).json()["metadata"]["generation"] == 1
    assert (await http.delete(f"{WIDGETS}/w")).json()["metadata"]["generation"] == 2


async def test_delete_of_a_service_answers_the_object(http: httpx.AsyncClient) -> None:
    await http.post(
        "/api/v1/namespaces/default/services",
        json={"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}},
    )
    assert (await http.delete("/api/v1/namespaces/default/services/s")).json()["kind"] == "Service"


# --- (7) Service defaults ---------------------------------------------------------------------------------


async def test_service_defaults(http: httpx.AsyncClient) -> None:
    created = (
        await http.post(
            "/api/v1/namespaces/default/services",
            json={"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}], "selector": {"a": "b"}}},
        )
    ).json()
    spec = created["spec"]
    assert spec["ipFamilies"] == ["IPv4"]
    assert spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["sessionAffinity"] == "None"
    assert spec["type"] == "ClusterIP"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert created["status"] == {"loadBalancer": {}}


# --- (9) Status serialisation -----------------------------------------------------------------------------


async def test_error_status_key_order_and_trailing_newline(http: httpx.AsyncClient) -> None:
    answer = await http.get(f"{CM}/missing")
    assert answer.content == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":'
        b'"configmaps \\"missing\\" not found","reason":"NotFound","details":{"name":"missing","kind":"configmaps"},'
        b'"code":404}\n'
    )


async def test_no_empty_managed_fields_list(http: httpx.AsyncClient) -> None:
    created = (await http.post(CM, json=cm("plain"))).json()
    assert "managedFields" not in created["metadata"]
    assert (await http.get(f"{CM}/plain")).content.endswith(b"}\n")


# --- (6) Nodes: pods' spec.nodeName names a Node that exists ----------------------------------------------


async def test_three_ready_nodes_and_pods_run_on_one_of_them(http: httpx.AsyncClient) -> None:
    nodes = (await http.get("/api/v1/nodes")).json()["items"]
    assert [n["metadata"]["name"] for n in nodes] == ["kubesim-node", "kubesim-node-1", "kubesim-node-2"]
    for node in nodes:
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True"
        assert node["metadata"]["labels"]["kubernetes.io/hostname"] == node["metadata"]["name"]
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}
    assert (await http.post("/api/v1/namespaces/default/pods", json=pod)).status_code == 201
    node_name = ""
    for _ in range(50):  # bounded: the simulated kubelet binds within a moment
        node_name = (await http.get("/api/v1/namespaces/default/pods/p")).json()["spec"].get("nodeName", "")
        if node_name:
            break
        await asyncio.sleep(0.1)
    assert (await http.get(f"/api/v1/nodes/{node_name}")).status_code == 200
    table = (
        await http.get("/api/v1/nodes", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    ).json()
    assert [c["name"] for c in table["columnDefinitions"]][:5] == [
        "Name",
        "Status",
        "Roles",
        "Age",
        "Version",
    ]
    assert table["rows"][0]["cells"][1] == "Ready"


async def test_pod_create_gets_what_the_admission_plugins_add(http: httpx.AsyncClient) -> None:
    pod = {"metadata": {"name": "adm"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}
    created = (await http.post("/api/v1/namespaces/default/pods", json=pod)).json()
    spec = created["spec"]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("default", "default")
    volume = spec["volumes"][0]
    assert (
        volume["name"].startswith("kube-api-access-") and len(volume["name"]) == len("kube-api-access-") + 5
    )
    assert spec["containers"][0]["volumeMounts"] == [
        {
            "name": volume["name"],
            "readOnly": True,
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
        }
    ]
    assert [t["key"] for t in spec["tolerations"]] == [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ]
    assert (spec["priority"], spec["preemptionPolicy"], spec["enableServiceLinks"]) == (
        0,
        "PreemptLowerPriority",
        True,
    )
    owned = created["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]
    assert "f:enableServiceLinks" in owned and "f:tolerations" not in owned and "f:volumes" not in owned

"""Raw HTTP against an in-process Simulator: discovery (legacy and aggregated), watches (bookmarks, timeouts,
Table events), dryRun, deletion preconditions and the admin endpoints."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from kubesim.simulator import Simulator

TOKEN = "test-token"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@pytest.fixture
async def http(simulator: Simulator) -> Any:
    async with httpx.AsyncClient(
        base_url=simulator.url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
        verify=simulator.client_ssl(),
    ) as session:
        yield session


async def watch_lines(http: httpx.AsyncClient, url: str, count: int, **headers: str) -> list[dict[str, Any]]:
    """The first ``count`` watch events of ``url`` (the URL carries timeoutSeconds, bounding the wait)."""
    events: list[dict[str, Any]] = []
    async with http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        async for line in response.aiter_lines():
            if line.strip():
                events.append(json.loads(line))
            if len(events) >= count:
                break
    return events


async def test_health_and_version(http: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/livez", "/readyz"):
        assert (await http.get(path)).text == "ok"
    version = (await http.get("/version")).json()
    assert version["major"] == "1" and version["gitVersion"].startswith("v1.32")


async def test_legacy_and_aggregated_discovery(http: httpx.AsyncClient) -> None:
    apps = (await http.get("/apis/apps/v1")).json()
    assert apps["kind"] == "APIResourceList" and apps["groupVersion"] == "apps/v1"
    by_name = {r["name"]: r for r in apps["resources"]}
    deployments = by_name["deployments"]
    assert deployments["kind"] == "Deployment" and deployments["namespaced"] is True
    assert deployments["singularName"] == "deployment" and "deploy" in deployments["shortNames"]
    assert {"get", "list", "watch", "create", "update", "patch", "delete"} <= set(deployments["verbs"])
    assert "deployments/status" in by_name and "deployments/scale" in by_name

    response = await http.get("/apis", headers={"Accept": AGGREGATED})
    assert response.headers["content-type"] == AGGREGATED
    body = response.json()
    assert body["kind"] == "APIGroupDiscoveryList"
    assert "apps" in {group["metadata"]["name"] for group in body["items"]}
    legacy = (await http.get("/apis")).json()
    assert legacy["kind"] == "APIGroupList"


async def test_watch_sends_bookmarks_and_ends_at_timeout(http: httpx.AsyncClient) -> None:
    url = "/api/v1/namespaces/default/secrets?watch=1&allowWatchBookmarks=true&timeoutSeconds=3"
    events = await watch_lines(http, url, 1)  # no Secrets in default: the first event is a bookmark
    assert events[0]["type"] == "BOOKMARK"
    assert events[0]["object"]["kind"] == "Secret"
    assert set(events[0]["object"]["metadata"]) == {"resourceVersion"}
    # "watch=" (empty) is a watch too: only "0" and "false" are false, as apimachinery converts query booleans
    async with http.stream("GET", "/api/v1/namespaces/default/secrets?watch=&timeoutSeconds=1") as resp:
        assert resp.status_code == 200
        assert [line async for line in resp.aiter_lines() if line.strip()] == []
    listed = (await http.get("/api/v1/namespaces/default/secrets?watch=False")).json()
    assert listed["kind"] == "SecretList"
    # without bookmarks the stream just ends at timeoutSeconds
    async with http.stream("GET", "/api/v1/namespaces/default/secrets?watch=true&timeoutSeconds=1") as resp:
        assert [line async for line in resp.aiter_lines() if line.strip()] == []


LISTED = {"listed": "yes"}  # not kube-root-ca.crt, which default holds too


async def test_a_streaming_list_sends_the_state_then_a_marked_bookmark_then_changes(
    http: httpx.AsyncClient,
) -> None:
    """kubectl 1.36's wait lists by watch (client-go WatchList): without the end marker it waits 20 s, gives up."""
    for name in ("s1", "s2"):
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": LISTED}}
        assert (await http.post("/api/v1/namespaces/default/configmaps", json=body)).status_code == 201
    url = (
        "/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
        "&resourceVersionMatch=NotOlderThan&resourceVersion=&timeoutSeconds=5&labelSelector=listed%3Dyes"
    )
    events: list[dict[str, Any]] = []
    async with http.stream("GET", url) as response:
        async for line in response.aiter_lines():
            if not line.strip():
                continue
            events.append(json.loads(line))
            if len(events) == 3:
                body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s3", "labels": LISTED}}
                assert (
                    await http.post("/api/v1/namespaces/default/configmaps", json=body)
                ).status_code == 201
            if len(events) == 4:
                break
    names = [e["object"]["metadata"].get("name") for e in events]
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK", "ADDED"]
    assert sorted(names[:2]) == ["s1", "s2"] and names[3] == "s3"
    mark = events[2]["object"]["metadata"]
    assert mark["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(mark["resourceVersion"]) >= max(
        int(e["object"]["metadata"]["resourceVersion"]) for e in events[:2]
    )


async def test_send_initial_events_needs_resource_version_match_not_older_than(
    http: httpx.AsyncClient,
) -> None:
    refused = await http.get("/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true")
    assert refused.status_code == 422
    assert refused.json()["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires '
        "setting resourceVersionMatch to NotOlderThan"
    )


async def test_watch_as_table_carries_columns_once(http: httpx.AsyncClient) -> None:
    listed = (await http.get("/api/v1/namespaces/default/configmaps")).json()
    rv = listed["metadata"]["resourceVersion"]
    for name in ("t1", "t2"):
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}}
        assert (await http.post("/api/v1/namespaces/default/configmaps", json=body)).status_code == 201
    url = f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=5"
    events = await watch_lines(http, url, 2, Accept=TABLE)
    assert [e["object"]["kind"] for e in events] == ["Table", "Table"]
    assert events[0]["object"]["columnDefinitions"]
    assert not events[1]["object"].get("columnDefinitions")
    assert events[1]["object"]["rows"][0]["cells"][0] == "t2"


async def test_dry_run_and_delete_preconditions(http: httpx.AsyncClient) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}}
    dry = await http.post("/api/v1/namespaces/default/configmaps?dryRun=All", json=body)
    assert dry.status_code == 201
    assert (await http.get("/api/v1/namespaces/default/configmaps/dry")).status_code == 404
    created = (await http.post("/api/v1/namespaces/default/configmaps", json=body)).json()
    wrong = await http.request(
        "DELETE",
        "/api/v1/namespaces/default/configmaps/dry",
        json={"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "not-the-uid"}},
    )
    assert wrong.status_code == 409
    right = await http.request(
        "DELETE",
        "/api/v1/namespaces/default/configmaps/dry",
        json={"preconditions": {"uid": created["metadata"]["uid"]}},
    )
    assert right.status_code == 200


async def test_admin_settings_and_audit(http: httpx.AsyncClient, simulator: Simulator) -> None:
    changed = (await http.patch("/kubesim/settings", json={"fail_images": ["bad:*"]})).json()
    assert changed["fail_images"] == ["bad:*"]
    assert simulator.settings.fail_images == ["bad:*"]
    assert (await http.delete("/kubesim/audit")).status_code == 200
    await http.get("/api/v1/namespaces/default")
    records = [json.loads(line) for line in (await http.get("/kubesim/audit")).text.splitlines()]
    assert [(r["verb"], r["resource"], r["name"], r["code"]) for r in records] == [
        ("get", "namespaces", "default", 200)
    ]


async def test_injected_faults_answer_like_a_server_and_run_out(http: httpx.AsyncClient) -> None:
    rules = {
        "rules": [{"code": 429, "verb": "create", "resource": "configmaps", "count": 1, "retry_after": 2}]
    }
    assert (await http.put("/kubesim/faults", json=rules)).status_code == 200
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "faulty"}}
    throttled = await http.post("/api/v1/namespaces/default/configmaps", json=body)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert throttled.json()["kind"] == "Status"
    assert (await http.post("/api/v1/namespaces/default/configmaps", json=body)).status_code == 201
    assert (await http.get("/kubesim/faults")).json()["injected"] == 1
    await http.put("/kubesim/faults", json={})


async def test_audit_bodies_carry_the_parsed_request_object() -> None:
    sim = Simulator(token=TOKEN, audit_bodies=True)
    url = await sim.start("127.0.0.1", 0)
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, verify=sim.client_ssl()) as http:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"x": "1"}}
            await http.post("/api/v1/namespaces/default/configmaps?fieldManager=me", json=body)
            await http.patch(
                "/api/v1/namespaces/default/configmaps/b",
                content=b'{"data":{"x":"2"}}',
                headers={"Content-Type": "application/merge-patch+json"},
            )
            await http.get("/api/v1/namespaces/default/configmaps/b")
            lines = (await http.get("/kubesim/audit")).text.splitlines()
    finally:
        await sim.stop()
    records = [json.loads(line) for line in lines]
    create, patch, get = records[-3:]
    assert create["verb"] == "create" and create["requestObject"] == body and create["fieldManager"] == "me"
    assert patch["verb"] == "patch" and patch["requestObject"] == {"data": {"x": "2"}}
    assert get["verb"] == "get" and "requestObject" not in get


async def test_a_client_disconnect_frees_the_watcher(http: httpx.AsyncClient, simulator: Simulator) -> None:
    import asyncio

    before = simulator.store.watcher_count()
    async with http.stream("GET", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=30") as resp:
        assert resp.status_code == 200
        for _ in range(100):
            if simulator.store.watcher_count() > before:
                break
            await asyncio.sleep(0.01)
        assert simulator.store.watcher_count() == before + 1
    for _ in range(200):  # the server notices the closed connection on its next write or bookmark
        if simulator.store.watcher_count() == before:
            break
        await asyncio.sleep(0.02)
    assert simulator.store.watcher_count() == before

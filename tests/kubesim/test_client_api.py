"""The official ``kubernetes`` Python client against a kubesim process: CRUD, conflicts, watches, 410 Gone, auth."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes import watch as k8s_watch

from tests.support import KubesimProcess

pytestmark = pytest.mark.system
Watch: Any = k8s_watch.Watch


@pytest.fixture(scope="module")
def api(kubesim: KubesimProcess) -> Iterator[client.ApiClient]:
    with config.new_client_from_config(str(kubesim.kubeconfig)) as api_client:  # type: ignore[no-untyped-call]
        yield api_client


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_crud_round_trip(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)  # plain dicts in, loose reads out: the typed stubs are stricter
    created = core.create_namespaced_config_map("default", configmap("crud", a="1"))
    assert created.metadata.uid and created.metadata.resource_version
    got = core.read_namespaced_config_map("crud", "default")
    assert got.data == {"a": "1"}
    got.data["b"] = "2"
    replaced = core.replace_namespaced_config_map("crud", "default", got)
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    patched = core.patch_namespaced_config_map("crud", "default", {"data": {"c": "3"}})
    assert patched.data == {"a": "1", "b": "2", "c": "3"}
    names = [cm.metadata.name for cm in core.list_namespaced_config_map("default").items]
    assert "crud" in names
    core.delete_namespaced_config_map("crud", "default")
    with pytest.raises(client.ApiException) as missing:
        core.read_namespaced_config_map("crud", "default")
    assert missing.value.status == 404
    status = json.loads(missing.value.body or "{}")
    assert status["reason"] == "NotFound"
    assert status["message"] == 'configmaps "crud" not found'


def test_stale_update_is_a_409_conflict(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)  # plain dicts in, loose reads out: the typed stubs are stricter
    first = core.create_namespaced_config_map("default", configmap("racy", v="0"))
    core.patch_namespaced_config_map("racy", "default", {"data": {"v": "1"}})
    first.data["v"] = "stale"
    with pytest.raises(client.ApiException) as conflict:
        core.replace_namespaced_config_map("racy", "default", first)
    assert conflict.value.status == 409
    status = json.loads(conflict.value.body or "{}")
    assert status["reason"] == "Conflict"
    assert (
        "the object has been modified; please apply your changes to the latest version and try again"
        in (status["message"])
    )


def test_paging_with_limit_and_continue(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)  # plain dicts in, loose reads out: the typed stubs are stricter
    core.create_namespace({"metadata": {"name": "paging"}})
    for i in range(5):
        core.create_namespaced_config_map("paging", configmap(f"p{i}"))
    seen: list[str] = []
    token = None
    for _ in range(10):
        page = core.list_namespaced_config_map("paging", limit=2, _continue=token)
        seen += [cm.metadata.name for cm in page.items]
        token = page.metadata._continue
        if not token:
            break
    # every namespace holds kube-root-ca.crt, as on a real cluster
    assert seen == ["kube-root-ca.crt"] + [f"p{i}" for i in range(5)]


def test_watch_resumes_from_a_resource_version(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)  # plain dicts in, loose reads out: the typed stubs are stricter
    core.create_namespace({"metadata": {"name": "watched"}})
    listed = core.list_namespaced_config_map("watched")
    core.create_namespaced_config_map("watched", configmap("one"))
    core.patch_namespaced_config_map("one", "watched", {"data": {"k": "v"}})
    core.delete_namespaced_config_map("one", "watched")
    events = []
    stream = Watch().stream(
        core.list_namespaced_config_map,
        "watched",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=5,
    )
    for event in stream:
        events.append((event["type"], event["object"].metadata.name))
        if len(events) == 3:
            break
    assert events == [("ADDED", "one"), ("MODIFIED", "one"), ("DELETED", "one")]


def test_watch_from_a_compacted_version_is_410_gone(api: client.ApiClient, kubesim: KubesimProcess) -> None:
    core: Any = client.CoreV1Api(api)  # plain dicts in, loose reads out: the typed stubs are stricter
    old = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", configmap("after-old"))
    kubesim.request("POST", "/kubesim/compact")
    raw = core.list_namespaced_config_map(
        "default", resource_version=old, watch=True, timeout_seconds=5, _preload_content=False
    )
    lines = [json.loads(line) for line in raw.read().decode().splitlines() if line.strip()]
    assert raw.status == 200
    assert len(lines) == 1 and lines[0]["type"] == "ERROR"
    status = lines[0]["object"]
    assert status["kind"] == "Status" and status["code"] == 410 and status["reason"] == "Expired"
    with pytest.raises(client.ApiException) as gone:
        for _ in Watch().stream(
            core.list_namespaced_config_map, "default", resource_version=old, timeout_seconds=5
        ):
            pass
    assert gone.value.status == 410


def test_a_wrong_token_is_401(kubesim: KubesimProcess) -> None:
    request = urllib.request.Request(
        f"{kubesim.url}/api/v1/namespaces", headers={"Authorization": "Bearer wrong"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        kubesim.open(request, timeout=5)
    assert refused.value.code == 401
    assert json.loads(refused.value.read())["reason"] == "Unauthorized"


def test_every_request_is_audited(api: client.ApiClient, kubesim: KubesimProcess) -> None:
    core: Any = client.CoreV1Api(api)  # plain dicts in, loose reads out: the typed stubs are stricter
    start = len(kubesim.audit())
    core.create_namespaced_config_map("default", configmap("audited"), field_manager="tester")
    core.read_namespaced_config_map("audited", "default")
    records = kubesim.audit(since=start)
    create = next(r for r in records if r["verb"] == "create" and r["name"] == "")
    assert create["resource"] == "configmaps" and create["namespace"] == "default"
    assert create["code"] == 201 and create["fieldManager"] == "tester"
    get = next(r for r in records if r["verb"] == "get" and r["name"] == "audited")
    assert get["code"] == 200 and get["user"] == "kubesim-admin" and get["duration_ms"] >= 0


def test_ending_every_watch_closes_open_streams(api: client.ApiClient, kubesim: KubesimProcess) -> None:
    core: Any = client.CoreV1Api(api)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    raw = core.list_namespaced_config_map(
        "default", resource_version=rv, watch=True, timeout_seconds=30, _preload_content=False
    )
    kubesim.wait_until(lambda: kubesim.request("GET", "/kubesim/watches")["open"] >= 1, what="the watch")
    started = time.monotonic()
    assert kubesim.request("DELETE", "/kubesim/watches")["ended"] >= 1
    assert raw.read() == b""  # the stream ends at once, long before its 30 s timeout
    assert time.monotonic() - started < 10

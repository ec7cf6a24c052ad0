"""PATCH bodies as the real server applies them: JSON patch, merge patch and strategic merge patch."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kubesim.api.errors import ApiError
from kubesim.api.resources import BUILTINS, ResourceType, from_crd
from kubesim.registry.patching import apply_patch

JSON_PATCH = "application/json-patch+json"
MERGE = "application/merge-patch+json"
SMP = "application/strategic-merge-patch+json"


def _rt(plural: str) -> ResourceType:
    return next(rt for rt in BUILTINS if rt.plural == plural)


DEPLOYMENTS = _rt("deployments")


def _deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["a"]},
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "app:1",
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 80, "name": "http"}],
                        },
                        {"name": "sidecar", "image": "side:1"},
                    ],
                    "tolerations": [{"key": "x", "operator": "Exists"}],
                }
            },
        },
    }


def _patch(
    content_type: str, body: Any, live: dict[str, Any] | None = None, rt: ResourceType = DEPLOYMENTS
) -> Any:
    live = live if live is not None else _deployment()
    before = copy.deepcopy(live)
    result = apply_patch(rt, live, content_type, json.dumps(body).encode())
    assert live == before, "apply_patch must not mutate the live object"
    return result


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]  # type: ignore[no-any-return]


def _smp_containers(*containers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": list(containers), **extra}}}}


def test_json_patch_replaces_by_pointer() -> None:
    result = _patch(
        JSON_PATCH, [{"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": "s:2"}]
    )
    assert _containers(result)[1]["image"] == "s:2"


def test_json_patch_failed_test_is_422() -> None:
    with pytest.raises(ApiError) as info:
        _patch(JSON_PATCH, [{"op": "test", "path": "/spec/replicas", "value": 5}])
    assert (info.value.code, info.value.reason) == (422, "Invalid")
    assert info.value.message == "the server rejected our request due to an error in our request"
    assert info.value.causes == []  # kube-apiserver v1.36 sends no cause (make fidelity, crd-validation)


def test_json_patch_bad_path_is_422() -> None:
    with pytest.raises(ApiError) as info:
        _patch(JSON_PATCH, [{"op": "remove", "path": "/spec/nothing"}])
    assert info.value.code == 422


@pytest.mark.parametrize("content_type", [JSON_PATCH, MERGE, SMP])
def test_invalid_json_is_400(content_type: str) -> None:
    with pytest.raises(ApiError) as info:
        apply_patch(DEPLOYMENTS, _deployment(), content_type, b"{not json")
    assert (info.value.code, info.value.reason) == (400, "BadRequest")


def test_merge_patch_replaces_lists_and_null_deletes() -> None:
    result = _patch(
        MERGE, {"metadata": {"labels": {"app": None, "x": "y"}}, **_smp_containers({"name": "only"})}
    )
    assert result["metadata"]["labels"] == {"x": "y"}
    assert _containers(result) == [{"name": "only"}]
    assert result["spec"]["replicas"] == 2


def test_strategic_merge_merges_containers_by_name() -> None:
    result = _patch(SMP, _smp_containers({"name": "sidecar", "image": "side:2"}))
    assert [(c["name"], c["image"]) for c in _containers(result)] == [("app", "app:1"), ("sidecar", "side:2")]
    assert _containers(result)[0]["env"] == _deployment()["spec"]["template"]["spec"]["containers"][0]["env"]


def test_strategic_merge_puts_new_keyed_items_first() -> None:
    # strategicpatch's mergeSortedSlice: a patch item the live list lacks goes before the server-only items
    # (what kube-apiserver v1.36 answers: make fidelity, patches/add-container)
    result = _patch(SMP, _smp_containers({"name": "new", "image": "n:1"}))
    assert [c["name"] for c in _containers(result)] == ["new", "app", "sidecar"]


def test_strategic_merge_env_by_name_and_ports_by_container_port() -> None:
    patch = _smp_containers(
        {
            "name": "app",
            "env": [{"name": "B", "value": "3"}],
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
        }
    )
    app = _containers(_patch(SMP, patch))[0]
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]
    assert app["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}]


def test_strategic_merge_replaces_lists_without_merge_key() -> None:
    result = _patch(SMP, _smp_containers(tolerations=[{"key": "y", "operator": "Exists"}]))
    assert result["spec"]["template"]["spec"]["tolerations"] == [{"key": "y", "operator": "Exists"}]


def test_strategic_merge_delete_directive_removes_item() -> None:
    result = _patch(SMP, _smp_containers({"name": "sidecar", "$patch": "delete"}))
    assert [c["name"] for c in _containers(result)] == ["app"]


def test_strategic_merge_replace_directive_on_list() -> None:
    result = _patch(SMP, _smp_containers({"$patch": "replace"}, {"name": "solo", "image": "s:1"}))
    assert _containers(result) == [{"name": "solo", "image": "s:1"}]


def test_strategic_merge_replace_directive_on_map() -> None:
    result = _patch(SMP, {"metadata": {"labels": {"$patch": "replace", "only": "this"}}})
    assert result["metadata"]["labels"] == {"only": "this"}


def test_strategic_merge_set_element_order() -> None:
    patch = _smp_containers({"name": "app", "image": "app:2"})
    patch["spec"]["template"]["spec"]["$setElementOrder/containers"] = [{"name": "sidecar"}, {"name": "app"}]
    result = _patch(SMP, patch)
    assert [(c["name"], c["image"]) for c in _containers(result)] == [("sidecar", "side:1"), ("app", "app:2")]


def test_strategic_merge_finalizers_merge_as_a_set_and_delete_from_primitive_list() -> None:
    assert _patch(SMP, {"metadata": {"finalizers": ["b", "a"]}})["metadata"]["finalizers"] == ["a", "b"]
    result = _patch(SMP, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert result["metadata"]["finalizers"] == []


def test_strategic_merge_null_deletes_key() -> None:
    assert "replicas" not in _patch(SMP, {"spec": {"replicas": None}})["spec"]


def test_strategic_merge_retain_keys() -> None:
    live = _deployment()
    live["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    result = _patch(SMP, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, live)
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_service_ports_merge_by_port() -> None:
    live = {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    result = _patch(SMP, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, live, _rt("services"))
    assert result["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]


CRD = {
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [{"name": "v1", "served": True, "storage": True}],
    },
}


def test_strategic_merge_on_custom_resource_is_415() -> None:
    with pytest.raises(ApiError) as info:
        apply_patch(from_crd(CRD), {"metadata": {"name": "w"}}, SMP, b"{}")
    assert (info.value.code, info.value.reason) == (415, "UnsupportedMediaType")
    assert info.value.message.startswith(
        "the body of the request was in an unknown format - accepted media types"
    )
    assert SMP not in info.value.message


def test_merge_patch_on_custom_resource() -> None:
    result = apply_patch(
        from_crd(CRD), {"metadata": {"name": "w"}, "spec": {"a": [1, 2]}}, MERGE, b'{"spec":{"a":[3]}}'
    )
    assert result["spec"] == {"a": [3]}


def test_strategic_merge_item_without_its_merge_key_is_refused() -> None:
    with pytest.raises(ApiError) as info:
        _patch(SMP, _smp_containers({"image": "nginx", "ports": [{"containerPort": 80}]}))
    assert info.value.code == 500
    assert (
        info.value.message
        == "map: map[image:nginx ports:[map[containerPort:80]]] does not contain declared merge key: name"
    )


def test_strategic_merge_new_item_drops_directives_and_nulls() -> None:
    result = _patch(SMP, _smp_containers({"name": "new", "image": "n:1", "args": None}))
    assert _containers(result)[0] == {"name": "new", "image": "n:1"}

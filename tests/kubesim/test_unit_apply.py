"""Server-side apply: ownership in managedFields, conflicts with the real message, removal of unapplied fields."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim.api.errors import ApiError
from kubesim.api.resources import BUILTINS, from_crd
from kubesim.registry.apply import record_update, server_side_apply

STAMP = "2026-01-01T00:00:00Z"

DEPLOYMENTS = next(rt for rt in BUILTINS if rt.plural == "deployments")


def _config(
    replicas: int | None = 2, image: str = "app:1", labels: dict[str, str] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": image}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    metadata: dict[str, Any] = {"name": "web", "namespace": "prod"}
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}


def _entry(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    return next(e for e in obj["metadata"]["managedFields"] if e["manager"] == manager)


def test_apply_creates_and_records_fields_v1() -> None:
    obj = server_side_apply(DEPLOYMENTS, None, _config(), "kubectl", False)
    assert obj["spec"]["replicas"] == 2
    entry = _entry(obj, "kubectl")
    assert {k: entry[k] for k in ("manager", "operation", "apiVersion", "fieldsType")} == {
        "manager": "kubectl",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1",
    }
    assert entry["time"].endswith("Z")
    fields = entry["fieldsV1"]
    assert fields["f:spec"]["f:replicas"] == {}
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert container == {".": {}, "f:image": {}, "f:name": {}}
    assert "f:name" not in fields.get("f:metadata", {})


def test_apply_by_another_manager_with_a_different_value_conflicts() -> None:
    live = record_update(DEPLOYMENTS, None, _config(), "kubectl-client-side-apply", None, stamp=STAMP)
    with pytest.raises(ApiError) as info:
        server_side_apply(DEPLOYMENTS, live, _config(replicas=5), "kubectl", False)
    error = info.value
    assert (error.code, error.reason) == (409, "Conflict")
    assert error.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'
    )
    assert [(c.reason, c.field) for c in error.causes] == [("FieldManagerConflict", ".spec.replicas")]


def test_several_conflicts_are_listed() -> None:
    live = record_update(DEPLOYMENTS, None, _config(), "editor", None, stamp=STAMP)
    with pytest.raises(ApiError) as info:
        server_side_apply(DEPLOYMENTS, live, _config(replicas=5, image="app:2"), "kubectl", False)
    assert info.value.message == (
        'Apply failed with 2 conflicts: conflicts with "editor" using apps/v1:\n'
        '- .spec.replicas\n- .spec.template.spec.containers[name="app"].image'
    )


def test_same_value_is_shared_and_force_takes_ownership() -> None:
    live = record_update(DEPLOYMENTS, None, _config(), "editor", None, stamp=STAMP)
    shared = server_side_apply(DEPLOYMENTS, live, _config(), "kubectl", False)
    assert "f:replicas" in _entry(shared, "editor")["fieldsV1"]["f:spec"]
    forced = server_side_apply(DEPLOYMENTS, live, _config(replicas=5), "kubectl", True)
    assert forced["spec"]["replicas"] == 5
    assert "f:replicas" not in _entry(forced, "editor")["fieldsV1"]["f:spec"]
    assert "f:replicas" in _entry(forced, "kubectl")["fieldsV1"]["f:spec"]


def test_fields_no_longer_applied_are_removed() -> None:
    first = server_side_apply(DEPLOYMENTS, None, _config(labels={"team": "a"}), "kubectl", False)
    second = server_side_apply(DEPLOYMENTS, first, _config(replicas=None), "kubectl", False)
    assert "replicas" not in second["spec"]
    assert "team" not in (second["metadata"].get("labels") or {})
    assert "f:replicas" not in _entry(second, "kubectl")["fieldsV1"]["f:spec"]


def test_fields_owned_by_another_manager_stay_when_unapplied() -> None:
    first = server_side_apply(DEPLOYMENTS, None, _config(), "kubectl", False)
    scaled = record_update(
        DEPLOYMENTS, first, {**first, "spec": {**first["spec"], "replicas": 7}}, "hpa", None
    )
    second = server_side_apply(DEPLOYMENTS, scaled, _config(replicas=None), "kubectl", False)
    assert second["spec"]["replicas"] == 7


def test_apply_does_not_mutate_live() -> None:
    live = server_side_apply(DEPLOYMENTS, None, _config(), "kubectl", False)
    snapshot = repr(live)
    server_side_apply(DEPLOYMENTS, live, _config(replicas=None, image="app:9"), "kubectl", False)
    assert repr(live) == snapshot


def test_record_update_tracks_changed_fields_and_subresource() -> None:
    created = record_update(DEPLOYMENTS, None, _config(), "kubectl-create", None)
    assert _entry(created, "kubectl-create")["operation"] == "Update"
    status = {**created, "status": {"replicas": 2}}
    updated = record_update(DEPLOYMENTS, created, status, "deployment-controller", "status")
    entry = _entry(updated, "deployment-controller")
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:replicas": {}}}


CRD: dict[str, Any] = {
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {"type": "integer"},
                                    "images": {
                                        "type": "array",
                                        "x-kubernetes-list-type": "map",
                                        "x-kubernetes-list-map-keys": ["container"],
                                        "items": {"type": "object"},
                                    },
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}


def _widget(images: list[dict[str, str]], size: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"images": images}
    if size is not None:
        spec["size"] = size
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}


def test_custom_resource_apply_sets_lists_it_owns_and_merges_shared_ones() -> None:

    rt = from_crd(CRD)
    first = server_side_apply(rt, None, _widget([{"container": "a", "image": "a:1"}], size=1), "me", False)
    assert first["metadata"]["managedFields"][0]["apiVersion"] == "example.com/v1"
    second = server_side_apply(rt, first, _widget([{"container": "b", "image": "b:1"}]), "me", False)
    assert second["spec"] == {"images": [{"container": "b", "image": "b:1"}]}
    other = record_update(
        rt,
        second,
        _widget([{"container": "b", "image": "b:1"}, {"container": "c", "image": "c"}]),
        "ctl",
        None,
        stamp=STAMP,
    )
    # x-kubernetes-list-type: map: ctl owns only the item it added, so changing b is no conflict and c stays
    # (what kube-apiserver answers; make fidelity, family apply)
    merged = server_side_apply(rt, other, _widget([{"container": "b", "image": "b:2"}]), "me", False)
    assert merged["spec"]["images"] == [{"container": "b", "image": "b:2"}, {"container": "c", "image": "c"}]
    taken = record_update(
        rt,
        merged,
        _widget([{"container": "b", "image": "b:3"}, {"container": "c", "image": "c"}]),
        "ctl",
        None,
        stamp=STAMP,
    )
    with pytest.raises(ApiError) as info:
        server_side_apply(rt, taken, _widget([{"container": "b", "image": "b:4"}]), "me", False)
    assert info.value.message == (
        'Apply failed with 1 conflict: conflict with "ctl" using example.com/v1: '
        '.spec.images[container="b"].image'
    )

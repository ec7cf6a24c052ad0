"""Strategic merge follows the patch tags of k8s.io/api: keyed lists merge, untagged lists are replaced."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubesim.api.errors import ApiError
from kubesim.api.resources import BUILTINS, ResourceType
from kubesim.registry.apply import record_update, server_side_apply
from kubesim.registry.patching import apply_patch

SMP = "application/strategic-merge-patch+json"


def _rt(plural: str) -> ResourceType:
    return next(rt for rt in BUILTINS if rt.plural == plural)


def _pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [{"name": "app", "image": "app:1"}],
            "readinessGates": [{"conditionType": "a"}],
            "tolerations": [{"key": "x", "operator": "Exists"}],
        },
        "status": {"podIPs": [{"ip": "10.0.0.1"}], "hostIPs": [{"ip": "192.168.0.1"}]},
    }


def _smp(rt: ResourceType, live: dict[str, Any], body: dict[str, Any]) -> Any:
    return apply_patch(rt, live, SMP, json.dumps(body).encode())


@pytest.mark.parametrize(
    ("field", "patch_items", "expected"),
    [
        ("readinessGates", [{"conditionType": "b"}], [{"conditionType": "b"}]),
        ("tolerations", [{"key": "y", "operator": "Exists"}], [{"key": "y", "operator": "Exists"}]),
    ],
)
def test_untagged_pod_spec_lists_are_replaced(
    field: str, patch_items: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    result = _smp(_rt("pods"), _pod(), {"spec": {field: patch_items}})
    assert result["spec"][field] == expected


@pytest.mark.parametrize(
    ("field", "added", "expected"),
    [
        # a patch item the live list lacks goes first (strategicpatch's mergeSortedSlice; make fidelity)
        ("podIPs", "10.0.0.2", [{"ip": "10.0.0.2"}, {"ip": "10.0.0.1"}]),
        ("hostIPs", "192.168.0.1", [{"ip": "192.168.0.1"}]),
    ],
)
def test_pod_status_ips_merge_by_ip(field: str, added: str, expected: list[dict[str, str]]) -> None:
    result = _smp(_rt("pods"), _pod(), {"status": {field: [{"ip": added}]}})
    assert result["status"][field] == expected


def test_service_account_secrets_merge_by_name() -> None:
    live = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "sa"},
        "secrets": [{"name": "one"}],
    }
    result = _smp(_rt("serviceaccounts"), live, {"secrets": [{"name": "two"}]})
    assert result["secrets"] == [{"name": "two"}, {"name": "one"}]  # new items first, as kube-apiserver


def _deployment(port: dict[str, Any], replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "d"},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "app", "image": "a:1", "ports": [port]}]}},
        },
    }


def test_managed_fields_key_container_ports_by_port_and_defaulted_protocol() -> None:
    rt = _rt("deployments")
    live = record_update(rt, None, _deployment({"containerPort": 80}), "kubectl-client-side-apply", None)
    (entry,) = live["metadata"]["managedFields"]
    container = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    # the list itself is new too: its "." member, as kube-apiserver records it
    assert list(container["f:ports"]) == [".", 'k:{"containerPort":80,"protocol":"TCP"}']


def test_apply_conflict_names_the_full_port_key() -> None:
    rt = _rt("deployments")
    live = record_update(
        rt,
        None,
        _deployment({"containerPort": 80, "name": "http"}),
        "kubectl-client-side-apply",
        None,
        stamp="2026-01-01T00:00:00Z",
    )
    with pytest.raises(ApiError) as info:
        server_side_apply(rt, live, _deployment({"containerPort": 80, "name": "web"}), "kubectl", False)
    assert info.value.code == 409
    assert info.value.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: '
        '.spec.template.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"].name'
    )


def test_apply_removes_a_port_it_no_longer_applies() -> None:
    rt = _rt("deployments")
    both = _deployment({"containerPort": 80})
    both["spec"]["template"]["spec"]["containers"][0]["ports"].append(
        {"containerPort": 443, "protocol": "TCP"}
    )
    first = server_side_apply(rt, None, both, "mgr", False)
    result = server_side_apply(rt, first, _deployment({"containerPort": 80}), "mgr", False)
    assert result["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]

"""What the operator keeps in memory of each object, and which copy of it wins."""

from __future__ import annotations

from deployreq.cluster.cache import LAST_APPLIED, Cache, slim


def request_body(rv: str, **annotations: str) -> dict[str, object]:
    return {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeploymentRequest",
        "metadata": {
            "name": "r",
            "namespace": "ns",
            "uid": "u1",
            "resourceVersion": rv,
            "managedFields": [{"manager": "kubectl"}],
            "annotations": annotations,
        },
        "spec": {"deployment": "web", "images": [{"container": "app", "image": "web:2"}]},
    }


def test_a_request_is_kept_without_managed_fields_or_kubectl_applys_copy_of_it() -> None:
    kept = slim(request_body("5", **{LAST_APPLIED: '{"spec": "..."}', "deployreq.dev/rerun": "2"}))
    assert "managedFields" not in kept["metadata"]
    assert kept["metadata"]["annotations"] == {"deployreq.dev/rerun": "2"}
    assert kept["spec"]["deployment"] == "web"


def test_a_deployment_keeps_its_last_applied_annotation_for_rollout_undo() -> None:
    deployment = {"kind": "Deployment", "metadata": {"name": "web", "annotations": {LAST_APPLIED: "{}"}}}
    assert slim(deployment)["metadata"]["annotations"] == {LAST_APPLIED: "{}"}


def test_the_operators_own_write_wins_until_the_watch_brings_a_newer_copy() -> None:
    cache = Cache()
    cache.attach({"requests_by_namespace": {"ns": [slim(request_body("5"))]}})
    cache.remember(request_body("7"))
    assert cache.requests("ns")[0].body["metadata"]["resourceVersion"] == "7"
    cache.attach({"requests_by_namespace": {"ns": [slim(request_body("9"))]}})
    assert cache.requests("ns")[0].body["metadata"]["resourceVersion"] == "9"

"""Request.parse gives both forms of what to change as one list of workloads, and names what a request targets."""

from __future__ import annotations

from deployreq.api.request import Request
from deployreq.api.workload import WorkloadKind

IMG = [{"container": "app", "image": "r/app:2"}]


def test_the_legacy_form_is_one_deployment() -> None:
    req = Request.parse({"metadata": {"name": "r"}, "spec": {"deployment": "web", "images": IMG}})
    assert not req.is_release and req.deployment == "web" and req.target == "deployment/web"
    (target,) = req.targets
    assert (target.kind, target.name, target.image_map) == (
        WorkloadKind.DEPLOYMENT,
        "web",
        {"app": "r/app:2"},
    )


def test_workloads_keep_their_order_and_kind_defaults_to_deployment() -> None:
    spec = {
        "workloads": [{"name": "api", "images": IMG}, {"kind": "StatefulSet", "name": "db", "images": IMG}]
    }
    req = Request.parse({"metadata": {"name": "r"}, "spec": spec})
    assert req.is_release and req.problem is None
    assert [(t.kind, t.name) for t in req.targets] == [
        (WorkloadKind.DEPLOYMENT, "api"),
        (WorkloadKind.STATEFULSET, "db"),
    ]
    # what the queue, pruning and the report group by: never a Deployment's name, so never mistaken for one
    assert req.deployment == req.target == "deployment/api,statefulset/db"


def test_without_the_schema_both_forms_make_the_request_fail_with_what_to_fix() -> None:
    spec = {"deployment": "web", "images": IMG, "workloads": [{"name": "api", "images": IMG}]}
    req = Request.parse({"metadata": {"name": "r"}, "spec": spec})
    assert req.problem == "spec: give either spec.workloads or spec.deployment with spec.images, not both"

"""The aggregator's local APIServices kubesim registers, and kubectl listing them."""

from __future__ import annotations

import copy

from kubesim.api.resources import BUILTINS, from_crd
from kubesim.controllers.apiservices import wanted
from tests.kubesim.controllers_support import running_cluster

CRD = {
    "spec": {
        "group": "example.dev",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [{"name": "v1", "served": True, "storage": True}, {"name": "v1beta1", "served": True}],
    }
}


def test_one_apiservice_per_served_group_version_with_the_aggregators_priorities() -> None:
    services = wanted([*BUILTINS, from_crd(CRD)])
    assert "v1.apiregistration.k8s.io" not in services  # the aggregator does not register itself
    assert services["v1."]["spec"] == {"groupPriorityMinimum": 18000, "version": "v1", "versionPriority": 1}
    assert services["v1.apps"]["spec"] == {
        "group": "apps",
        "groupPriorityMinimum": 17800,
        "version": "v1",
        "versionPriority": 15,
    }
    assert services["v1.apps"]["metadata"]["labels"] == {
        "kube-aggregator.kubernetes.io/automanaged": "onstart"
    }
    for name in ("v1.example.dev", "v1beta1.example.dev"):
        assert services[name]["spec"]["groupPriorityMinimum"] == 1000
        assert services[name]["metadata"]["labels"] == {"kube-aggregator.kubernetes.io/automanaged": "true"}


async def test_the_apiservices_are_available_and_follow_the_crds() -> None:
    async with running_cluster() as c:
        rt = c.store.require("apiregistration.k8s.io", "apiservices")

        def names() -> set[str]:
            return {o["metadata"]["name"] for o in c.store.iter(rt)}

        await c.wait_for(lambda: "v1.batch" in names(), what="the built-in APIServices")
        condition = await c.wait_for(
            lambda: (c.store.get(rt, None, "v1.").get("status") or {}).get("conditions"), what="v1. Available"
        )
        assert [(x["type"], x["status"], x["reason"]) for x in condition] == [("Available", "True", "Local")]
        crds = c.store.require("apiextensions.k8s.io", "customresourcedefinitions")
        body = {"metadata": {"name": "widgets.example.dev"}, **copy.deepcopy(CRD)}
        body["spec"]["versions"][0]["schema"] = {"openAPIV3Schema": {"type": "object"}}
        body["spec"]["versions"][1]["schema"] = {"openAPIV3Schema": {"type": "object"}}
        c.store.create(crds, None, body)
        await c.wait_for(
            lambda: {"v1.example.dev", "v1beta1.example.dev"} <= names(), what="the CRD's APIServices"
        )
        c.store.delete(crds, None, "widgets.example.dev")
        await c.wait_for(lambda: "v1.example.dev" not in names(), what="the CRD's APIServices gone")

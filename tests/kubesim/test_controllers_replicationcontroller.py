"""The ReplicationController: defaults from its template, pods and status as the ReplicaSet controller keeps them,
and core/v1's default of orphaning the pods on DELETE."""

from __future__ import annotations

import pytest

from kubesim.api import errors
from tests.kubesim.controllers_support import running_cluster


def body(name: str, replicas: int = 2, **spec: object) -> dict[str, object]:
    template = {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1"}]},
    }
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "template": template, **spec},
    }


async def test_pods_status_and_orphaning_delete() -> None:
    async with running_cluster() as c:
        rt = c.store.require("", "replicationcontrollers")
        created = c.store.create(rt, "default", body("old"))
        assert created["spec"]["selector"] == {"app": "old"} and created["metadata"]["labels"] == {
            "app": "old"
        }
        assert created["status"] == {"replicas": 0}

        def pods() -> list[dict[str, object]]:
            return [
                p
                for p in c.store.iter(c.pods, "default")
                if (p["metadata"].get("labels") or {}).get("app") == "old"
            ]

        status = await c.wait_for(
            lambda: (
                (c.store.get(rt, "default", "old").get("status") or {}).get("availableReplicas") == 2
                and c.store.get(rt, "default", "old")["status"]
            ),
            what="two available replicas",
        )
        assert status == {
            "replicas": 2,
            "fullyLabeledReplicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 2,
            "observedGeneration": 1,
        }
        assert {p["metadata"]["ownerReferences"][0]["kind"] for p in pods()} == {"ReplicationController"}  # type: ignore[index]
        c.store.delete(rt, "default", "old")
        await c.wait_for(lambda: c.store.peek(rt, "default", "old") is None, what="the controller gone")
        assert len(pods()) == 2 and all("ownerReferences" not in p["metadata"] for p in pods())  # type: ignore[operator]


async def test_a_selector_that_does_not_match_the_template_is_refused() -> None:
    async with running_cluster() as c:
        with pytest.raises(errors.ApiError) as refused:
            c.store.create(
                c.store.require("", "replicationcontrollers"), "default", body("bad", selector={"app": "x"})
            )
        assert refused.value.code == 422
        assert "`selector` does not match template `labels`" in refused.value.message

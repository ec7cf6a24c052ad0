"""Odd objects that slip past admission are logged and skipped: the controllers keep serving everything else."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.kubesim.controllers_support import running_cluster

Obj = dict[str, Any]


def deployment(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1"}]},
            },
            **spec,
        },
    }


async def test_odd_objects_do_not_stop_the_controllers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="kubesim")  # the failures below are expected and logged
    async with running_cluster() as c:
        odd_pods = [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "empty"}, "spec": {}},
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "nameless"},
                "spec": {"containers": [{}]},
            },
        ]
        for body in odd_pods:
            c.store.create(c.pods, "default", body)
        c.store.create(
            c.deployments, "default", deployment("odd", strategy={"rollingUpdate": {"maxSurge": "x%"}})
        )
        owned = deployment("owned")
        owned["metadata"]["ownerReferences"] = [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "name": "gone",
                "uid": "no-such-uid",
                "controller": True,
            }
        ]
        c.store.create(c.deployments, "default", owned)

        c.create_deployment(replicas=2)
        await c.wait_for(c.rolled_out, within=10, what="the healthy Deployment to roll out")
        c.set_image("nginx:2.0")
        await c.wait_for(
            lambda: (
                c.rolled_out()
                and c.deployment()["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
            ),
            within=10,
            what="the second rollout",
        )
        # The Deployment owned by a missing ConfigMap is collected, as the real garbage collector does.
        await c.wait_for(
            lambda: c.store.peek(c.deployments, "default", "owned") is None, within=10, what="GC of 'owned'"
        )

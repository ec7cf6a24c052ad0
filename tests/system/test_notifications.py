"""A webhook receiver hears about every terminal outcome; the URL comes from a Secret and is never logged."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from kubernetes.client import CoreV1Api

from tests.system.cluster import Cluster
from tests.system.harness import Namespace, OperatorProcess, StubServer, api_client, wait_for

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def receiver() -> Iterator[StubServer]:
    server = StubServer(lambda method, path, body: (200, "{}"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def operator(cluster: Cluster, receiver: StubServer) -> Iterator[OperatorProcess]:
    url = f"{receiver.url}/hooks/s3cr3t-path"
    with api_client(cluster.kubeconfig) as api:
        CoreV1Api(api).create_namespaced_secret(
            "default",
            {"metadata": {"name": "deploy-hook"}, "data": {"url": base64.b64encode(url.encode()).decode()}},
        )
    op = OperatorProcess(
        cluster.kubeconfig, cluster.workdir, "notifying", ("--notify-webhook-secret", "default/deploy-hook")
    )
    op.start()
    yield op
    op.stop()
    with api_client(cluster.kubeconfig) as api:
        CoreV1Api(api).delete_namespaced_secret("deploy-hook", "default")


def test_each_terminal_outcome_is_posted_to_the_webhook(
    ns: Namespace, operator: OperatorProcess, receiver: StubServer
) -> None:
    ns.deployment()
    ns.request("good", {"app": "registry.example/web:1.1"})
    assert ns.wait_phase("good", timeout=60)["status"]["phase"] == "Succeeded"
    ns.request("bad", {"app": "registry.example/web:2.0-crashloop"})
    assert ns.wait_phase("bad", timeout=60)["status"]["phase"] == "RolledBack"

    def delivered() -> list[str]:
        return [json.dumps(json.loads(r["body"])) for r in receiver.requests if r["body"]]

    bodies = wait_for(delivered, lambda b: sum(ns.name in x for x in b) >= 2, 30, "two notifications")
    mine = [b for b in bodies if ns.name in b]
    assert any("Succeeded" in b and "good" in b for b in mine)
    assert any("RolledBack" in b and "bad" in b for b in mine)
    assert all(r["path"] == "/hooks/s3cr3t-path" for r in receiver.requests)
    assert "s3cr3t-path" not in operator.log()

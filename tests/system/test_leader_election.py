"""HA: two operator replicas, exactly one active by the leader-election Lease; the standby takes over within the
lease duration when the leader dies."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kubernetes.client import CoordinationV1Api

from tests.system.harness import KubesimProcess, Namespace, OperatorProcess, api_client, wait_for

pytestmark = [pytest.mark.system, pytest.mark.kubesim_only("reads who did what in kubesim's audit trail")]
LEASE_SECONDS = 3
FLAGS = (
    "--leader-elect",
    "--leader-election-namespace",
    "default",
    "--leader-lease-duration",
    str(LEASE_SECONDS),
    "--leader-renew-interval",
    "0.5",
)


@pytest.fixture
def pair(kubesim: KubesimProcess) -> Iterator[tuple[OperatorProcess, OperatorProcess]]:
    first = OperatorProcess(kubesim.kubeconfig, kubesim.workdir, "replica-a", FLAGS)
    second = OperatorProcess(kubesim.kubeconfig, kubesim.workdir, "replica-b", FLAGS)
    first.start()
    yield first, second
    first.stop()
    second.stop()


def holder(kubesim: KubesimProcess) -> str:
    with api_client(kubesim.kubeconfig) as api:
        try:
            lease = CoordinationV1Api(api).read_namespaced_lease("deployreq-leader", "default")
        except Exception:
            return ""
    return str(lease.spec.holder_identity or "")


def test_only_the_leader_works_and_the_standby_takes_over_when_it_dies(
    kubesim: KubesimProcess, pair: tuple[OperatorProcess, OperatorProcess]
) -> None:
    first, second = pair
    wait_for(lambda: holder(kubesim), lambda h: h.endswith("@replica-a"), 30, "replica-a leading")
    second.start()
    space = Namespace(api_client(kubesim.kubeconfig))
    space.deployment()
    space.request("r1", {"app": "registry.example/web:1.1"})
    assert space.wait_phase("r1", timeout=60)["status"]["phase"] == "Succeeded"
    writers = {
        r["userAgent"]
        for r in kubesim.audit()
        if r.get("resource") == "deployments"
        and r.get("namespace") == space.name
        and r.get("verb") == "patch"
    }
    assert writers == {"deployreq/replica-a"}
    first.kill()
    killed_at = time.monotonic()
    wait_for(lambda: holder(kubesim), lambda h: h.endswith("@replica-b"), 30, "replica-b taking over")
    took = time.monotonic() - killed_at
    assert took <= LEASE_SECONDS + 2.0, f"takeover took {took:.1f}s with a {LEASE_SECONDS}s lease"
    space.request("r2", {"app": "registry.example/web:1.2"})
    assert space.wait_phase("r2", timeout=60)["status"]["phase"] == "Succeeded"
    space.api.close()

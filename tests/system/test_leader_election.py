"""HA: two operator replicas, exactly one active by the leader-election Lease; the standby takes over within the
lease duration when the leader dies."""

from __future__ import annotations

import socket
import time
import urllib.request
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
    first = OperatorProcess(
        kubesim.kubeconfig, kubesim.workdir, "replica-a", (*FLAGS, "--health-port", str(HEALTH_PORTS[0]))
    )
    second = OperatorProcess(
        kubesim.kubeconfig, kubesim.workdir, "replica-b", (*FLAGS, "--health-port", str(HEALTH_PORTS[1]))
    )
    first.start()
    yield first, second
    first.stop()
    second.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


HEALTH_PORTS = (free_port(), free_port())


def probe(port: int) -> str:
    """What /healthz answers, as the kubelet's probe would get it ("" when nothing listens)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return f"{response.status} {response.read().decode()}"
    except OSError:
        return ""


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
    # The standby answers its probes while it waits: no kubelet restarts it, an HA rollout can complete.
    standby = wait_for(
        lambda: probe(HEALTH_PORTS[1]), lambda a: a.startswith("200"), 30, "the standby's probe"
    )
    assert "standby" in standby
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
    leading = probe(HEALTH_PORTS[1])  # now kopf's own liveness endpoint
    assert leading.startswith("200") and "standby" not in leading, leading
    space.api.close()

"""Image pulls as a kubelet retries them: a pull that fails once and then succeeds is no reason to roll back; one that
keeps failing past ``--image-pull-grace`` is. kubesim's kubelet runs at 1/20 of real time here (the back-offs of
10 s, 20 s, 40 s last 0.5 s, 1 s, 2 s), the operator allows 5 s of failing pulls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import watch

from tests.system.cluster import install_crds
from tests.system.harness import KubesimProcess, Namespace, OperatorProcess, api_client

pytestmark = [
    pytest.mark.system,
    pytest.mark.kubesim_only("makes a registry fail and recover through kubesim's settings"),
]
FLAKY = "registry.example/web:3.0-flaky"
NOPULL = "registry.example/web:9.9-nopull"
PULL_FAILURES = {"ErrImagePull", "ImagePullBackOff"}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubesimProcess]:
    workdir = tmp_path_factory.mktemp("pulls")
    process = KubesimProcess(
        workdir, "--time-scale", "0.05", "--pod-ready-seconds", "2", "--unpullable-image", "*-nopull"
    )
    process.start()
    install_crds(process.kubeconfig)
    op = OperatorProcess(process.kubeconfig, workdir, extra_args=("--image-pull-grace", "5s"))
    op.start()
    yield process
    op.stop()
    process.stop()


@pytest.fixture
def ns(sim: KubesimProcess) -> Iterator[Namespace]:
    space = Namespace(api_client(sim.kubeconfig))
    yield space
    space.api.close()


def first_pull_failure(ns: Namespace, timeout: float = 30) -> dict[str, Any]:
    """Watch the namespace's pods until a container shows a failed pull; that container's status."""
    stream = watch.Watch()
    for event in stream.stream(ns.core.list_namespaced_pod, ns.name, timeout_seconds=int(timeout)):
        pod = ns.api.sanitize_for_serialization(event["object"])
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            if ((cs.get("state") or {}).get("waiting") or {}).get("reason") in PULL_FAILURES:
                stream.stop()
                return cs  # type: ignore[no-any-return]
    raise AssertionError(f"no pod of {ns.name} showed a failed pull within {timeout}s")


def test_a_pull_that_fails_once_and_then_succeeds_is_not_rolled_back(
    sim: KubesimProcess, ns: Namespace
) -> None:
    ns.deployment()
    sim.settings(unpullable_images=["*-nopull", "*-flaky"])  # the registry refuses the new image for now
    try:
        ns.request("flaky", {"app": FLAKY})
        failed = first_pull_failure(ns)
    finally:
        sim.settings(unpullable_images=["*-nopull"])  # ... and recovers: the kubelet's retry pulls it
    assert failed["state"]["waiting"]["reason"] == "ErrImagePull"
    done = ns.wait_phase("flaky", timeout=60)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert ns.images() == {"app": FLAKY}


def test_a_pull_that_keeps_failing_past_the_grace_is_rolled_back(ns: Namespace) -> None:
    ns.deployment()
    ns.request("nopull", {"app": NOPULL}, rollout={"timeoutSeconds": 300})
    done = ns.wait_phase("nopull", timeout=60)
    assert done["status"]["phase"] == "RolledBack", done["status"]
    message = done["status"]["message"]
    assert "has not pulled its image for" in message and "(limit 5s)" in message, message
    assert ns.images() == {"app": "registry.example/web:1.0"}

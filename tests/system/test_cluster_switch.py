"""The real-cluster switch, proven here without Docker: the scenarios run with DEPLOYREQ_CLUSTER=kubeconfig against a
kubesim that behaves like a real cluster towards the catalogue's public images (busybox crash-loops, registry.invalid
cannot be pulled, anything else runs). The harness must map every image both ways, stretch nothing it should not,
and skip only the kubesim-only tests, each with its reason."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.system.cluster import REAL_IMAGE_FLAGS, ROOT
from tests.system.harness import KubesimProcess, run_kubectl

pytestmark = [
    pytest.mark.system,
    pytest.mark.kubesim_only("starts its own kubesim to stand in for a real cluster"),
]


def test_the_scenarios_run_unchanged_on_a_cluster_named_by_a_kubeconfig(tmp_path: Path) -> None:
    sim = KubesimProcess(
        tmp_path,
        *REAL_IMAGE_FLAGS,
        "--pod-ready-seconds",
        "0.2",
        "--crash-after-seconds",
        "0.1",
        "--audit-bodies",
    )
    sim.start()
    try:
        env = {
            **os.environ,
            "DEPLOYREQ_CLUSTER": "kubeconfig",
            "DEPLOYREQ_KUBECONFIG": str(sim.kubeconfig),
            "DEPLOYREQ_E2E_SLOW": "1",
        }
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-rs",
                "-p",
                "no:cacheprovider",
                "tests/system/test_request_flows.py",
                "tests/system/test_restarts_and_kubectl.py",
            ],
            cwd=ROOT,
            env=env,
            text=True,
            capture_output=True,
            timeout=600,
            check=False,
        )
        audit = sim.audit()
    finally:
        sim.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    passed = int(re.search(r"(\d+) passed", output).group(1))  # type: ignore[union-attr]
    skipped = int(re.search(r"(\d+) skipped", output).group(1))  # type: ignore[union-attr]
    assert passed >= 14 and skipped == 3, output[-3000:]  # the three kubesim_only tests of the restarts file
    assert "kubesim only: counts the operator's Deployment writes in kubesim's audit trail" in output
    # What reached the cluster were the catalogue's images, never the names the tests use.
    images = set()
    for record in audit:
        body = record.get("requestObject")
        if record.get("resource") == "deployments" and isinstance(body, dict):  # JSON patches are lists
            containers = (((body.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
                "containers"
            )
            images |= {c["image"] for c in containers or [] if "image" in c}
    assert images, "no Deployment images in the audit trail"
    assert not any("registry.example" in i for i in images), images
    assert any(i.startswith("registry.k8s.io/pause:") for i in images), images


def test_the_install_step_applies_the_overlays_with_the_image_set(
    kubesim: KubesimProcess, tmp_path: Path
) -> None:
    """The install of test_installed_operator.py, on kubesim (whose kubelet runs no code but reports the pods
    ready): both overlays apply with the image replaced, the Deployment rolls out, and removing leaves no operator."""
    from tests.system.cluster import Cluster
    from tests.system.test_installed_operator import NAMESPACE, Install

    install = Install(Cluster("kubeconfig", kubesim.kubeconfig, tmp_path), "registry.example/deployreq:9.9")
    install.apply("single")
    (pod,) = install.pods()
    assert pod["spec"]["containers"][0]["image"] == "registry.example/deployreq:9.9"  # type: ignore[index]
    install.apply("ha")
    assert len(install.pods()) == 2
    install.remove()
    gone = run_kubectl(kubesim.kubeconfig, "-n", NAMESPACE, "get", "deployment", "deployreq")
    assert gone.returncode != 0
    assert run_kubectl(kubesim.kubeconfig, "get", "crd", "deploymentrequests.deployreq.dev").returncode == 0

"""The CLI as CI runs it: exit codes, streamed phase lines, create without YAML, rollback, the kubectl plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_kubectl
from tests.system.cluster import Cluster
from tests.system.harness import Namespace, run_kubectl

pytestmark = pytest.mark.system


def cli(cluster: Cluster, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    return subprocess.run(
        [sys.executable, "-m", "deployreq", *args],
        input=input,
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )


def waiting(ns: Namespace, seconds: float = 60) -> str:
    """A --timeout for the CLI, stretched on a real cluster."""
    return str(int(seconds * ns.slow))


REQUEST = """
apiVersion: deployreq.dev/v1alpha1
kind: DeploymentRequest
metadata:
  name: {name}
spec:
  deployment: web
  images:
    - container: app
      image: {image}
"""


def test_apply_wait_streams_phases_and_exits_0_on_success(cluster: Cluster, ns: Namespace) -> None:
    ns.deployment()
    result = cli(
        cluster,
        "apply",
        "-n",
        ns.name,
        "-f",
        "-",
        "--wait",
        "--timeout",
        waiting(ns),
        input=REQUEST.format(name="r1", image=ns.map.real("registry.example/web:1.1")),
    )
    assert result.returncode == 0, result.stderr
    assert "deploymentrequest.deployreq.dev/r1 created" in result.stdout
    lines = [line for line in result.stdout.splitlines() if " r1 " in line]
    assert any("Deploying" in line for line in lines)
    assert "Succeeded" in lines[-1]
    again = cli(
        cluster,
        "apply",
        "-n",
        ns.name,
        "-f",
        "-",
        input=REQUEST.format(name="r1", image=ns.map.real("registry.example/web:1.1")),
    )
    assert "unchanged" in again.stdout


def test_create_wait_exits_1_when_the_release_is_rolled_back(cluster: Cluster, ns: Namespace) -> None:
    ns.deployment()
    result = cli(
        cluster,
        "create",
        "bad",
        "-n",
        ns.name,
        "--deployment",
        "web",
        "--image",
        f"app={ns.map.real('registry.example/web:2.0-crashloop')}",
        "--wait",
        "--timeout",
        waiting(ns),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "RolledBack" in result.stdout.splitlines()[-1]


def test_a_timeout_or_a_usage_error_exits_2_with_a_reason(cluster: Cluster, ns: Namespace) -> None:
    ns.deployment()
    slow = cli(
        cluster,
        "create",
        "slow",
        "-n",
        ns.name,
        "--deployment",
        "web",
        "--verify",
        "1m",
        "--image",
        f"app={ns.map.real('registry.example/web:1.1')}",
        "--wait",
        "--timeout",
        "3s",
    )
    assert slow.returncode == 2
    assert "timed out after 3s waiting for deploymentrequest/slow" in slow.stderr
    assert ns.get("slow")["spec"]["verification"]["durationSeconds"] == 60
    typo = cli(cluster, "rerun", "slow", "-n", ns.name, "--wait", "--timeout", "60x")
    assert typo.returncode == 2
    assert "invalid duration '60x': use 60s, 15m, 1h30m or plain seconds" in typo.stderr
    bad = cli(cluster, "create", "typo", "-n", ns.name, "--deployment", "web", "--image", "no-equals-sign")
    assert bad.returncode == 2
    assert "CONTAINER=IMAGE" in bad.stderr


def test_rollback_restores_the_images_before_the_last_good_release_through_the_queue(
    cluster: Cluster, ns: Namespace
) -> None:
    ns.deployment()
    assert (
        cli(
            cluster,
            "create",
            "v2",
            "-n",
            ns.name,
            "--deployment",
            "web",
            "--image",
            f"app={ns.map.real('registry.example/web:2.0')}",
            "--wait",
            "--timeout",
            waiting(ns),
        ).returncode
        == 0
    )
    result = cli(cluster, "rollback", "web", "-n", ns.name, "--wait", "--timeout", waiting(ns))
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'rollback restores the images from before request "v2" (Succeeded ' in result.stdout
    assert ns.images() == {"app": "registry.example/web:1.0"}
    status = cli(cluster, "status", "-n", ns.name, "v2")
    assert "Phase:        Succeeded" in status.stdout
    queue = cli(cluster, "queue", "-n", ns.name)
    assert (
        queue.returncode == 0 and queue.stdout == f"No requests waiting or running in namespace {ns.name}.\n"
    )


def test_rerun_runs_a_finished_request_again(cluster: Cluster, ns: Namespace) -> None:
    ns.deployment()
    assert (
        cli(
            cluster,
            "create",
            "r",
            "-n",
            ns.name,
            "--deployment",
            "web",
            "--image",
            f"app={ns.map.real('registry.example/web:2.0-crashloop')}",
            "--wait",
            "--timeout",
            waiting(ns),
        ).returncode
        == 1
    )
    again = cli(cluster, "rerun", "r", "-n", ns.name, "--wait", "--timeout", waiting(ns))
    assert again.returncode == 1
    assert "RolledBack" in again.stdout.splitlines()[-1]


def test_kubectl_runs_the_cli_as_a_plugin(cluster: Cluster, ns: Namespace) -> None:
    require_kubectl()
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "kubectl-deployreq").exists():
        pytest.skip("kubectl-deployreq is not installed next to this Python (pip install -e .)")
    env_path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ["PATH"], old = env_path, os.environ.get("PATH", "")
    try:
        result = run_kubectl(cluster.kubeconfig, "deployreq", "queue", "-n", ns.name)
    finally:
        os.environ["PATH"] = old
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"No requests waiting or running in namespace {ns.name}.\n"

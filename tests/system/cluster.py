"""The cluster the system tests run on, chosen by ``DEPLOYREQ_CLUSTER``.

- ``kubesim`` (default): a kubesim process per test module; images are simulated by name (``*-crashloop`` crash,
  ``*-nopull`` cannot be pulled), so tests name images as they like.
- ``kind``: a kind cluster created by pytest-kind (Docker needed); the public images of :class:`ImageMap` are
  pulled and loaded into it, and ``test_installed_operator.py`` builds the operator image, loads it and applies
  ``manifests/``.
- ``kubeconfig``: any existing cluster named by ``DEPLOYREQ_KUBECONFIG`` (or ``KUBECONFIG``); it must be able to
  pull the images of :class:`ImageMap` (override them with ``DEPLOYREQ_E2E_GOOD_IMAGES`` and
  ``DEPLOYREQ_E2E_CRASH_IMAGES`` for a mirror).
- ``controlplane``: the real control plane of ``make cluster-up`` (etcd, kube-apiserver, kube-controller-manager,
  kube-scheduler built from Go modules, kwok's fake nodes; see docs/controlplane.md), its kubeconfig in
  ``.cluster/kubeconfig`` (``CLUSTER_DIR`` moves it). Its kwok stages make pods behave by image name as kubesim does
  (``crashloop``, ``nopull``), so images are not mapped; waits are stretched less than on kind.

On a real cluster the scenarios run unchanged: the harness maps each image a test names to a real one (a pause
image for a good release, busybox, whose shell exits at once, for a crash-looping one, an address under
``registry.invalid`` for an unpullable one) and maps them back on every read, and waits are stretched by
:attr:`Cluster.slow`. Tests that need kubesim itself (its audit trail, fault injection, its service proxy stand-in,
RBAC on a fresh server) are marked ``kubesim_only`` and skipped elsewhere with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("kubesim", "kind", "kubeconfig", "controlplane")
# The kinds whose pods behave by image name, so the tests' image names are used as they are.
SIMULATED_IMAGES = ("kubesim", "controlplane")

GOOD_IMAGES = tuple(
    f"registry.k8s.io/pause:{tag}"
    for tag in ("3.10", "3.9", "3.8", "3.7", "3.6", "3.5", "3.4.1", "3.3", "3.2", "3.1")
)
CRASH_IMAGES = ("docker.io/library/busybox:1.37.0", "docker.io/library/busybox:1.36.1")
UNPULLABLE_PREFIX = "registry.invalid/deployreq-e2e"

# kubesim run as a stand-in for a real cluster (DEPLOYREQ_CLUSTER=kubeconfig against kubesim): the real images'
# behaviour, by name.
REAL_IMAGE_FLAGS = (
    "--fail-image",
    "docker.io/library/busybox:*",
    "--unpullable-image",
    f"{UNPULLABLE_PREFIX}/*",
)


def selected() -> str:
    name = os.environ.get("DEPLOYREQ_CLUSTER", "kubesim")
    if name not in KINDS:
        raise SystemExit(f"DEPLOYREQ_CLUSTER must be one of {', '.join(KINDS)}, not {name!r}")
    return name


def _images_from_env(variable: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = os.environ.get(variable, "")
    return tuple(i.strip() for i in value.split(",") if i.strip()) or default


@dataclass
class ImageMap:
    """Test image names ↔ images the cluster can run, for one namespace (a test names at most a few images).

    The identity on kubesim. Elsewhere each distinct good image gets the next pause tag, each crash-looping one
    (``*-crashloop``) the next busybox tag, each unpullable one (``*-nopull``) an address that cannot resolve.
    """

    real_cluster: bool
    good: tuple[str, ...] = field(
        default_factory=lambda: _images_from_env("DEPLOYREQ_E2E_GOOD_IMAGES", GOOD_IMAGES)
    )
    crash: tuple[str, ...] = field(
        default_factory=lambda: _images_from_env("DEPLOYREQ_E2E_CRASH_IMAGES", CRASH_IMAGES)
    )
    _to_real: dict[str, str] = field(default_factory=dict)
    _to_test: dict[str, str] = field(default_factory=dict)

    def real(self, image: str) -> str:
        if not self.real_cluster:
            return image
        if image in self._to_real:
            return self._to_real[image]
        used = set(self._to_real.values())
        if "-nopull" in image:
            name = image.rsplit("/", 1)[-1].replace(":", "-")
            chosen = f"{UNPULLABLE_PREFIX}/{name}:1"
        else:
            pool = self.crash if "-crashloop" in image else self.good
            free = [i for i in pool if i not in used]
            if not free:
                raise AssertionError(f"the image catalogue has no more images for {image!r}: {pool}")
            chosen = free[0]
        self._to_real[image] = chosen
        self._to_test[chosen] = image
        return chosen

    def to_real(self, obj: Any) -> Any:
        """``obj`` with every ``image`` field mapped to the cluster's image."""
        return _walk(obj, lambda key, value: self.real(value) if key == "image" else value)

    def to_test(self, obj: Any) -> Any:
        """``obj`` with every string that is a mapped image turned back into the name the test used."""
        if not self.real_cluster:
            return obj
        return _walk(obj, lambda key, value: self._to_test.get(value, value))


def _walk(obj: Any, change: Callable[[str | None, str], str], key: str | None = None) -> Any:
    if isinstance(obj, dict):
        return {k: _walk(v, change, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_walk(v, change, key) for v in obj]
    if isinstance(obj, str):
        return change(key, obj)
    return obj


@dataclass
class Cluster:
    """What the tests need to know of the cluster they run on."""

    kind: str
    kubeconfig: Path
    workdir: Path
    slow: float = 1.0
    """Factor for waits: a real kubelet starts and kills containers in seconds, kubesim in milliseconds."""

    @property
    def real(self) -> bool:
        return self.kind != "kubesim"

    def image_map(self) -> ImageMap:
        return ImageMap(real_cluster=self.kind not in SIMULATED_IMAGES)


def controlplane_kubeconfig() -> Path:
    """Where ``make cluster-up`` writes the admin kubeconfig of the real control plane."""
    return Path(os.environ.get("CLUSTER_DIR", ROOT / ".cluster")).resolve() / "kubeconfig"


def install_crds(kubeconfig: Path) -> None:
    from tests.system.harness import api_client, kubectl_binary, run_kubectl

    if kubectl_binary() is None:  # no kubectl on this machine: install the CRD with the Python client
        import yaml
        from kubernetes import client

        with api_client(kubeconfig) as api:
            for path in sorted((ROOT / "crds").glob("*.yaml")):
                for doc in yaml.safe_load_all(path.read_text()):
                    client.ApiextensionsV1Api(api).create_custom_resource_definition(doc)
        return
    result = run_kubectl(kubeconfig, "apply", "-k", str(ROOT / "crds"))
    if result.returncode != 0:
        raise RuntimeError(f"installing the CRD failed: {result.stderr}")
    wait = run_kubectl(
        kubeconfig,
        "wait",
        "--for=condition=Established",
        "crd/deploymentrequests.deployreq.dev",
        "crd/deploypolicies.deployreq.dev",
        "crd/deployapprovals.deployreq.dev",
        "--timeout=60s",
    )
    if wait.returncode != 0:
        raise RuntimeError(f"the CRDs did not become established: {wait.stderr}")
    wait_until_served(kubeconfig)


def wait_until_served(kubeconfig: Path) -> None:
    """Wait until creates of the deployreq.dev kinds get past the server's admission.

    A CRD deleted and made again is Established a moment before the server serves its kind again, and an admission
    policy matching it is applied before its matcher's REST mapping, refreshed only periodically, knows the kind (until
    then a create answers 503 "Resource kind ... not found. There can be a delay..."): after either, wait until a
    server-side dry run of a create of each kind gets past that, whatever the answer then.
    """
    from tests.system.harness import run_kubectl, wait_for

    unknown = ("There can be a delay", "could not find the requested resource", "terminating")

    def answers() -> list[str]:
        said = []
        for kind in ("DeploymentRequest", "DeployPolicy", "DeployApproval"):
            doc: dict[str, Any] = {
                "apiVersion": "deployreq.dev/v1alpha1",
                "kind": kind,
                "metadata": {"name": "served-probe"},
            }
            if kind != "DeployPolicy":
                doc["metadata"]["namespace"] = "default"
            if kind == "DeployApproval":  # valid, so it gets past the schema to the validating policies
                doc["spec"] = {
                    "request": "served-probe",
                    "requestUID": "00000000-0000-0000-0000-000000000000",
                    "requestGeneration": 1,
                    "decision": "Approve",
                    "approver": "served-probe",
                }
            probe = run_kubectl(kubeconfig, "create", "--dry-run=server", "-f", "-", input=json.dumps(doc))
            said.append(probe.stderr)
        return said

    wait_for(
        answers,
        lambda said: not any(u in e for e in said for u in unknown),
        60,
        "the deployreq.dev kinds served",
    )


def docker_problem() -> str | None:
    """Why a kind cluster cannot be made here, or None when Docker answers."""
    docker = shutil.which("docker")
    if docker is None:
        return "the docker command is not installed"
    try:
        result = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 30 s"
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()
        return f"the Docker daemon is not reachable ({reason[-1] if reason else 'docker info failed'})"
    return None


def load_public_images(kind_cluster: Any, images: tuple[str, ...]) -> None:
    """Pull the catalogue's public images on the host and load them into the kind nodes (no pulls in tests)."""
    for image in images:
        subprocess.run(["docker", "pull", "--quiet", image], check=True, timeout=600)
        kind_cluster.load_docker_image(image)

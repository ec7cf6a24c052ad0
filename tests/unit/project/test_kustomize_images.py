"""``kubectl kustomize`` with the images transformer config rewrites DeploymentRequest images."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "kustomize"
CONFIG = ROOT / "manifests" / "kustomize" / "images-transformer.yaml"


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        if os.environ.get("DEPLOYREQ_REQUIRE_KUBECTL") == "1":
            pytest.fail("kubectl is required (DEPLOYREQ_REQUIRE_KUBECTL=1) but not on PATH")
        pytest.skip("kubectl is not on PATH")
    return path


def test_overlay_images_rewrite_the_request_image_and_keep_the_others() -> None:
    out = subprocess.run(
        [kubectl(), "kustomize", str(EXAMPLE / "overlay")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    (request,) = [doc for doc in yaml.safe_load_all(out) if doc]
    assert request["kind"] == "DeploymentRequest"
    assert request["spec"]["images"] == [
        {"container": "web", "image": "registry.example/web:1.3"},
        {"container": "sidecar", "image": "registry.example/proxy:2.0"},
    ]


def test_example_copies_of_the_transformer_config_match_the_shipped_one() -> None:
    """kustomize refuses files outside a kustomization's tree, so the example carries copies."""
    for copy in (EXAMPLE / "base" / CONFIG.name, EXAMPLE / "overlay" / CONFIG.name):
        assert copy.read_text() == CONFIG.read_text()


def test_the_images_of_every_workload_of_spec_workloads_are_rewritten(tmp_path: Path) -> None:
    (tmp_path / CONFIG.name).write_text(CONFIG.read_text())
    image = {"container": "app", "image": "registry.example/web:1.2"}
    request = {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeploymentRequest",
        "metadata": {"name": "release"},
        "spec": {
            "workloads": [
                {"name": "api", "images": [image]},
                {
                    "kind": "StatefulSet",
                    "name": "worker",
                    "images": [image, {"container": "s", "image": "other:1"}],
                },
            ]
        },
    }
    (tmp_path / "request.yaml").write_text(yaml.safe_dump(request))
    kustomization = {
        "resources": ["request.yaml"],
        "configurations": [CONFIG.name],
        "images": [{"name": "registry.example/web", "newTag": "1.3"}],
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    out = subprocess.run(
        [kubectl(), "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    (rendered,) = [doc for doc in yaml.safe_load_all(out) if doc]
    images = [[i["image"] for i in w["images"]] for w in rendered["spec"]["workloads"]]
    assert images == [["registry.example/web:1.3"], ["registry.example/web:1.3", "other:1"]]

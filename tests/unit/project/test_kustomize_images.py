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

"""The real kubectl, run against a kubeconfig with its own discovery cache."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def kubectl_binary() -> str | None:
    return shutil.which("kubectl")


def require_kubectl() -> str:
    """The kubectl path; a skip without it, or a failure when DEPLOYREQ_REQUIRE_KUBECTL=1 (CI)."""
    binary = kubectl_binary()
    if binary is None:
        if os.environ.get("DEPLOYREQ_REQUIRE_KUBECTL") == "1":
            pytest.fail("kubectl is required (DEPLOYREQ_REQUIRE_KUBECTL=1) but is not on PATH")
        pytest.skip("kubectl is not on PATH: install kubectl to run the tests that drive it")
    return binary


def run_kubectl(
    kubeconfig: Path, *args: str, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run kubectl with KUBECONFIG set and a private KUBECACHEDIR (kubectl caches discovery per server)."""
    binary = kubectl_binary()
    if binary is None:
        raise RuntimeError("kubectl is not on PATH")
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "KUBECACHEDIR": str(kubeconfig.parent / "kubectl-cache"),
    }
    return subprocess.run(
        [binary, *args], input=input, env=env, text=True, capture_output=True, timeout=timeout, check=False
    )

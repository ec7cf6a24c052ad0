"""The ``kubesim`` command: HTTPS with the CA in the kubeconfig it writes, its one ready line, a clean exit on
SIGTERM; ``--insecure-http`` as the explicit opt-in to plain HTTP."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support import KubesimProcess


def test_kubeconfig_ready_line_and_clean_exit(tmp_path: Path) -> None:
    sim = KubesimProcess(tmp_path, "--fail-image", "bad:*", token="secret-token")
    sim.start()
    try:
        assert sim.url.startswith("https://127.0.0.1:")
        config = yaml.safe_load(sim.kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        assert cluster["server"] == sim.url
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        assert ca.startswith("-----BEGIN CERTIFICATE-----")
        assert config["users"][0]["user"]["token"] == "secret-token"
        context = config["contexts"][0]["context"]
        assert (
            context["namespace"] == "default" and config["current-context"] == config["contexts"][0]["name"]
        )
        request = urllib.request.Request(
            f"{sim.url}/api/v1/namespaces/kube-system", headers={"Authorization": "Bearer secret-token"}
        )
        # verified against the kubeconfig's CA only, host name checked
        with urllib.request.urlopen(
            request, timeout=5, context=ssl.create_default_context(cadata=ca)
        ) as response:
            assert json.loads(response.read())["status"]["phase"] == "Active"
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(request, timeout=5, context=ssl.create_default_context())
        assert sim.settings()["fail_images"] == ["bad:*"]
        assert sim.settings(pod_ready_seconds=0.1)["pod_ready_seconds"] == 0.1
    finally:
        sim.stop()
    assert sim.proc is not None and sim.proc.returncode == 0
    audit_lines = sim.audit_path.read_text().splitlines()
    assert any(json.loads(line)["name"] == "kube-system" for line in audit_lines)


def test_insecure_http_is_an_explicit_opt_in_where_no_credentials_mean_the_admin(tmp_path: Path) -> None:
    """Over plain HTTP client-go sends no bearer token, so there (only) a request without one is the admin."""
    with KubesimProcess(tmp_path, "--insecure-http") as sim:
        assert sim.url.startswith("http://127.0.0.1:")
        cluster = yaml.safe_load(sim.kubeconfig.read_text())["clusters"][0]["cluster"]
        assert "certificate-authority-data" not in cluster
        with urllib.request.urlopen(f"{sim.url}/api/v1/namespaces/kube-system", timeout=5) as response:
            assert json.loads(response.read())["metadata"]["name"] == "kube-system"

"""The ``kubesim`` command: the kubeconfig it writes, its one ready line, and a clean exit on SIGTERM."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import yaml

from tests.support import KubesimProcess


def test_kubeconfig_ready_line_and_clean_exit(tmp_path: Path) -> None:
    sim = KubesimProcess(tmp_path, "--fail-image", "bad:*", token="secret-token")
    sim.start()
    try:
        assert sim.url.startswith("http://127.0.0.1:")
        config = yaml.safe_load(sim.kubeconfig.read_text())
        assert config["clusters"][0]["cluster"]["server"] == sim.url
        assert config["users"][0]["user"]["token"] == "secret-token"
        context = config["contexts"][0]["context"]
        assert (
            context["namespace"] == "default" and config["current-context"] == config["contexts"][0]["name"]
        )
        request = urllib.request.Request(
            f"{sim.url}/api/v1/namespaces/kube-system", headers={"Authorization": "Bearer secret-token"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["status"]["phase"] == "Active"
        assert sim.settings()["fail_images"] == ["bad:*"]
        assert sim.settings(pod_ready_seconds=0.1)["pod_ready_seconds"] == 0.1
    finally:
        sim.stop()
    assert sim.proc is not None and sim.proc.returncode == 0
    audit_lines = sim.audit_path.read_text().splitlines()
    assert any(json.loads(line)["name"] == "kube-system" for line in audit_lines)

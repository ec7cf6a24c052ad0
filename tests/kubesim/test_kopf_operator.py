"""A real ``kopf run`` process against kubesim: it sees create, update and delete of a custom resource and
patches its status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kubesim.widgets import CRD_YAML, widget_yaml
from tests.support import KubesimProcess, run_kubectl
from tests.support.fixtures import Kubectl

pytestmark = pytest.mark.system
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def kopf_operator(kubesim: KubesimProcess) -> Iterator[Path]:
    from tests.support import require_kubectl

    require_kubectl()
    assert run_kubectl(kubesim.kubeconfig, "apply", "-f", "-", input=CRD_YAML).returncode == 0
    waited = run_kubectl(
        kubesim.kubeconfig, "wait", "--for=condition=Established", "crd/widgets.test.kubesim.dev"
    )
    assert waited.returncode == 0, waited.stderr
    log_path = kubesim.workdir / "kopf.log"
    env = {**os.environ, "KUBECONFIG": str(kubesim.kubeconfig)}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kopf",
                "run",
                "--standalone",
                "--all-namespaces",
                str(HERE / "kopf_widget_operator.py"),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield log_path
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def wait_for(read: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    delay = 0.05
    value = None
    while time.monotonic() < deadline:
        value = read()
        if value:
            return value
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {value!r}")


def phase(kubectl: Kubectl, name: str) -> str:
    result = kubectl("get", "widget", name, "-o", "json")
    if result.returncode != 0:
        return ""
    return str((json.loads(result.stdout).get("status") or {}).get("phase", ""))


def test_kopf_sees_create_update_and_delete(kubectl: Kubectl, kopf_operator: Path) -> None:
    assert kubectl("apply", "-f", "-", input=widget_yaml("kw", size=2)).returncode == 0
    wait_for(lambda: phase(kubectl, "kw") == "Created-2", 20, "the create handler's status")
    got = json.loads(kubectl("get", "widget", "kw", "-o", "json").stdout)
    assert "kopf.zalando.org/KopfFinalizerMarker" in got["metadata"]["finalizers"]

    assert kubectl("patch", "widget", "kw", "--type=merge", "-p", '{"spec":{"size":5}}').returncode == 0
    wait_for(lambda: phase(kubectl, "kw") == "Resized-5", 20, "the update handler's status")

    deleted = kubectl("delete", "widget", "kw", "--timeout=20s")
    assert deleted.returncode == 0, deleted.stderr
    assert "NotFound" in kubectl("get", "widget", "kw").stderr
    wait_for(lambda: "WIDGET-DELETED kw" in kopf_operator.read_text(), 10, "the delete handler")

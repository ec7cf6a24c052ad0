"""The real kubectl's long-running verbs against kubesim: wait (already true and becoming true) and get -w."""

from __future__ import annotations

import os
import selectors
import subprocess
import time

import pytest

from tests.kubesim.widgets import CRD_YAML, widget_yaml
from tests.support import KubesimProcess, kubectl_binary
from tests.support.fixtures import Kubectl

pytestmark = pytest.mark.system


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module", autouse=True)
def widget_crd(kubesim: KubesimProcess) -> None:
    from tests.support import run_kubectl

    if kubectl_binary() is None:
        return
    ok(run_kubectl(kubesim.kubeconfig, "apply", "-f", "-", input=CRD_YAML))
    ok(run_kubectl(kubesim.kubeconfig, "wait", "--for=condition=Established", "crd/widgets.test.kubesim.dev"))


def start_kubectl(kubesim: KubesimProcess, *args: str) -> subprocess.Popen[bytes]:
    binary = kubectl_binary()
    assert binary is not None
    env = {
        **os.environ,
        "KUBECONFIG": str(kubesim.kubeconfig),
        "KUBECACHEDIR": str(kubesim.workdir / "kubectl-cache"),
    }
    return subprocess.Popen([binary, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class LineReader:
    """Lines of a process's stdout read straight from the pipe (no hidden buffer), bounded by time."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.fd = proc.stdout.fileno()
        self.pending = b""

    def until(self, done: str, timeout: float = 10) -> list[str]:
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.fd, selectors.EVENT_READ)
            while True:
                while b"\n" in self.pending:
                    raw, self.pending = self.pending.split(b"\n", 1)
                    lines.append(raw.decode())
                    if done in lines[-1]:
                        return lines
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise AssertionError(f"no line with {done!r} within {timeout}s; got {lines}")
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    raise AssertionError(f"output ended before a line with {done!r}; got {lines}")
                self.pending += chunk


def test_wait_for_condition_already_true(kubectl: Kubectl) -> None:
    out = ok(kubectl("wait", "--for=condition=Established", "crd/widgets.test.kubesim.dev", "--timeout=5s"))
    assert "customresourcedefinition.apiextensions.k8s.io/widgets.test.kubesim.dev condition met" in out


def test_wait_for_condition_that_becomes_true(kubectl: Kubectl, kubesim: KubesimProcess) -> None:
    ok(kubectl("create", "deployment", "waited", "--image=nginx:1.25", "--replicas=2"))
    out = ok(kubectl("wait", "--for=condition=Available", "deployment/waited", "--timeout=20s"))
    assert "deployment.apps/waited condition met" in out


def test_wait_for_jsonpath_already_true_and_becoming_true(kubectl: Kubectl, kubesim: KubesimProcess) -> None:
    ok(kubectl("apply", "-f", "-", input=widget_yaml("jp", size=2)))
    now = ok(kubectl("wait", "--for=jsonpath={.spec.size}=2", "widget/jp", "--timeout=5s"))
    assert "widget.test.kubesim.dev/jp condition met" in now
    waiter = start_kubectl(
        kubesim, "wait", "--for=jsonpath={.status.phase}=Ready", "widget/jp", "--timeout=20s"
    )
    try:
        ok(
            kubectl(
                "patch",
                "widget",
                "jp",
                "--subresource=status",
                "--type=merge",
                "-p",
                '{"status":{"phase":"Pending"}}',
            )
        )
        ok(
            kubectl(
                "patch",
                "widget",
                "jp",
                "--subresource=status",
                "--type=merge",
                "-p",
                '{"status":{"phase":"Ready"}}',
            )
        )
        out, err = waiter.communicate(timeout=20)
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.communicate(timeout=5)
    assert waiter.returncode == 0, err.decode()
    assert "widget.test.kubesim.dev/jp condition met" in out.decode()


def test_get_watch_streams_changes_as_table_rows(kubectl: Kubectl, kubesim: KubesimProcess) -> None:
    ok(kubectl("apply", "-f", "-", input=widget_yaml("w1", size=1)))
    watcher = start_kubectl(kubesim, "get", "widgets", "-w", "--request-timeout=20s")
    try:
        reader = LineReader(watcher)
        first = reader.until("w1 ")
        assert first[0].split()[:3] == ["NAME", "SIZE", "COLOR"]
        ok(kubectl("apply", "-f", "-", input=widget_yaml("w2", size=7, color="green")))
        rows = reader.until("w2 ")
        assert rows[-1].split()[:3] == ["w2", "7", "green"]
        assert not any(line.startswith("NAME") for line in rows)  # column headers only once
        ok(kubectl("patch", "widget", "w2", "--type=merge", "-p", '{"spec":{"size":8}}'))
        changed = reader.until("w2 ")
        assert changed[-1].split()[:2] == ["w2", "8"]
    finally:
        watcher.terminate()
        watcher.communicate(timeout=5)

"""Each injected fault reaches the `kubernetes` client (and kopf) as it would from a real, misbehaving server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config, watch

from tests.kubesim.test_kopf_operator import kopf_operator, phase, wait_for
from tests.kubesim.widgets import widget_yaml
from tests.support import KubesimProcess
from tests.support.fixtures import Kubectl

pytestmark = pytest.mark.system
__all__ = ["kopf_operator"]


@pytest.fixture
def core(kubesim: KubesimProcess) -> Iterator[client.CoreV1Api]:
    api = config.new_client_from_config(config_file=str(kubesim.kubeconfig))
    yield client.CoreV1Api(api)
    kubesim.request("PUT", "/kubesim/faults", {})
    api.close()


def faults(kubesim: KubesimProcess, **spec: object) -> None:
    kubesim.request("PUT", "/kubesim/faults", spec)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (500, "Internal Server Error"),
        (503, "Service Unavailable"),
        (429, "Too Many Requests"),
        (409, "Conflict"),
    ],
)
def test_an_injected_error_reaches_the_client_as_a_status(
    kubesim: KubesimProcess, core: client.CoreV1Api, code: int, reason: str
) -> None:
    faults(
        kubesim,
        rules=[{"code": code, "verb": "write", "resource": "configmaps", "count": 1, "retry_after": 3}],
    )
    body = {"metadata": {"name": f"cm-{code}"}}
    with pytest.raises(client.ApiException) as failed:
        core.create_namespaced_config_map("default", body)
    assert failed.value.status == code
    assert failed.value.reason == reason
    if code == 429:
        assert failed.value.headers["Retry-After"] == "3"
    core.create_namespaced_config_map("default", body)  # the fault ran out: the retry goes through


def test_latency_and_a_pause_delay_answers(kubesim: KubesimProcess, core: client.CoreV1Api) -> None:
    faults(kubesim, latency=0.3)
    started = time.monotonic()
    core.read_namespace("default")
    assert time.monotonic() - started >= 0.3
    faults(kubesim, pauseSeconds=1.0)
    started = time.monotonic()
    core.read_namespace("default")
    assert time.monotonic() - started >= 0.9
    faults(kubesim)
    started = time.monotonic()
    core.read_namespace("default")
    assert time.monotonic() - started < 0.5


def test_a_cut_watch_ends_the_clients_stream_early(kubesim: KubesimProcess, core: client.CoreV1Api) -> None:
    for i in range(4):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"cut-{i}"}})
    faults(kubesim, cutWatchAfterEvents=2)
    events = list(watch.Watch().stream(core.list_namespaced_config_map, "default", timeout_seconds=10))
    assert len(events) == 2


def test_kopf_rides_out_cut_watches_and_server_errors(
    kubesim: KubesimProcess, kubectl: Kubectl, kopf_operator: Path
) -> None:
    faults(
        kubesim,
        cutWatchAfterEvents=1,
        rules=[{"code": 500, "rate": 0.5, "verb": "patch", "resource": "widgets*"}],
    )
    try:
        assert kubectl("apply", "-f", "-", input=widget_yaml("kf", size=3)).returncode == 0
        wait_for(lambda: phase(kubectl, "kf") == "Created-3", 60, "kopf handling the widget despite faults")
        assert kubesim.request("GET", "/kubesim/faults")["injected"] >= 1
    finally:
        faults(kubesim)
    assert kubectl("delete", "widget", "kf", "--timeout=30s").returncode == 0

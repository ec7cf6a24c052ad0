"""/metrics after real requests: the families exist and count what happened."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from tests.system.harness import Namespace, wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


pytestmark = pytest.mark.system
PORT = _free_port()
OPERATOR_ARGS = ("--metrics-port", str(PORT))
FAMILIES = (
    "deployreq_requests_total",
    "deployreq_queue_wait_seconds",
    "deployreq_gate_duration_seconds",
    "deployreq_rollout_duration_seconds",
    "deployreq_verification_duration_seconds",
    "deployreq_time_to_rollback_seconds",
    "deployreq_active_locks",
    "deployreq_queue_depth",
    "deployreq_gate_evaluations_total",
    "deployreq_api_errors_total",
    "deployreq_api_retries_total",
    "deployreq_lease_takeovers_total",
    "deployreq_release_requests_total",
    "deployreq_release_changes_total",
    "deployreq_time_to_restore_seconds",
    "deployreq_deploy_duration_seconds",
    "deployreq_request_degraded_seconds",
    "deployreq_request_downtime_seconds",
    "deployreq_held_requests",
    "deployreq_held_oldest_seconds",
)


def scrape() -> dict[str, float]:
    return scrape_port(PORT)


def scrape_port(port: int) -> dict[str, float]:
    """Every sample of the operator's /metrics on ``port``, by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_metrics_count_successes_rollbacks_and_times(ns: Namespace) -> None:
    ns.deployment()
    ns.request("good", {"app": "registry.example/web:1.1"}, verification={"durationSeconds": 1})
    assert ns.wait_phase("good", timeout=60)["status"]["phase"] == "Succeeded"
    ns.request("bad", {"app": "registry.example/web:2.0-crashloop"})
    assert ns.wait_phase("bad", timeout=60)["status"]["phase"] == "RolledBack"
    # The phase is written before the operator records it: wait for the counters rather than race them.
    values = wait_for(
        scrape,
        lambda v: (
            v.get('deployreq_requests_total{outcome="RolledBack"}', 0) >= 1
            and v.get("deployreq_time_to_rollback_seconds_count", 0) >= 1
        ),
        10,
        "the rollback counted",
    )
    for family in FAMILIES:
        assert any(name.startswith(family) for name in values), family
    assert values['deployreq_requests_total{outcome="Succeeded"}'] >= 1
    assert values['deployreq_requests_total{outcome="RolledBack"}'] >= 1
    assert values["deployreq_time_to_rollback_seconds_count"] >= 1
    assert values["deployreq_rollout_duration_seconds_count"] >= 1
    assert values["deployreq_verification_duration_seconds_count"] >= 1
    assert values["deployreq_queue_wait_seconds_count"] >= 2

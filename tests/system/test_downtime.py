"""Degraded and down time of a crash-looping release until its rollback is available: with maxUnavailable keeping
pods available it is degraded and never down; when every old pod goes first (Recreate) it is down too."""

from __future__ import annotations

import json
from typing import Any

import pytest

from deployreq.api.times import parse
from tests.system.cluster import Cluster
from tests.system.harness import Namespace
from tests.system.test_cli import cli

pytestmark = pytest.mark.system
BAD = "registry.example/web:2.0-crashloop"


def _rolled_back(ns: Namespace) -> dict[str, Any]:
    ns.request("bad", {"app": BAD})
    done = ns.wait_phase("bad", timeout=90)
    assert done["status"]["phase"] == "RolledBack"
    return done


def _bounds(done: dict[str, Any]) -> float:
    """The longest the workload can have run below its desired replicas: from the patch to the rollback's end."""
    return parse(done["status"]["completedAt"]) - parse(done["status"]["patchedAt"])


def test_max_unavailable_keeps_pods_available_degraded_but_never_down(
    cluster: Cluster, ns: Namespace
) -> None:
    ns.deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    done = _rolled_back(ns)
    availability = done["status"]["availability"]
    assert 0 < availability["degradedSeconds"] <= _bounds(done)
    assert availability["downSeconds"] == 0
    assert availability.get("degradedSince") is None and availability.get("downSince") is None
    result = cli(cluster, "report", "-n", ns.name, "-o", "json")
    assert result.returncode == 0, result.stderr
    total = json.loads(result.stdout)["total"]
    assert total["degraded_seconds"] == pytest.approx(availability["degradedSeconds"], abs=1e-3)
    assert total["downtime_seconds"] == 0


def test_recreate_takes_every_pod_down_until_the_rollback_is_available(ns: Namespace) -> None:
    ns.deployment(strategy={"type": "Recreate"})
    done = _rolled_back(ns)
    availability = done["status"]["availability"]
    assert 0 < availability["downSeconds"] <= availability["degradedSeconds"] <= _bounds(done)


def test_a_good_rolling_release_is_neither_degraded_nor_down(ns: Namespace) -> None:
    ns.deployment()  # the default strategy: 25 % maxUnavailable of 2 replicas rounds down to 0
    ns.request("good", {"app": "registry.example/web:1.1"})
    done = ns.wait_phase("good", timeout=90)
    assert done["status"]["phase"] == "Succeeded"
    assert done["status"]["availability"] == {"degradedSeconds": 0.0, "downSeconds": 0.0}

"""deployreq report over real requests: successes, a rollback and failures across two namespaces, a manual rollback,
in JSON and as a table; restore and deploy times within what the test itself measured."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from deployreq.api.times import parse
from tests.system.cluster import Cluster
from tests.system.harness import Namespace
from tests.system.test_cli import cli, waiting

pytestmark = pytest.mark.system
GOOD, BAD = "registry.example/web:1.1", "registry.example/web:2.0-crashloop"


def _timed(
    ns: Namespace, name: str, images: dict[str, str], **spec: Any
) -> tuple[dict[str, Any], float, float]:
    """Create a request and wait for its end: the request and the wall-clock bounds around its run."""
    before = time.time()
    ns.request(name, images, **spec)
    done = ns.wait_phase(name, timeout=90)
    return done, before, time.time()


def _report(cluster: Cluster, *args: str) -> dict[str, Any]:
    result = cli(cluster, "report", *args, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_report_counts_rates_and_restore_times_across_two_namespaces(
    cluster: Cluster, ns: Namespace, ns2: Namespace
) -> None:
    ns.deployment()
    ok, ok_start, ok_end = _timed(ns, "ok", {"app": GOOD})
    bad, bad_start, bad_end = _timed(ns, "bad", {"app": BAD})
    invalid, _, _ = _timed(ns, "invalid", {"nosuch": GOOD})
    assert [r["status"]["phase"] for r in (ok, bad, invalid)] == ["Succeeded", "RolledBack", "Failed"]
    ns2.deployment("api")
    assert _timed(ns2, "api-ok", {"app": GOOD}, deployment="api")[0]["status"]["phase"] == "Succeeded"
    result = cli(
        cluster,
        "rollback",
        "api",
        "-n",
        ns2.name,
        "--undo",
        "--name",
        "undo",
        "--wait",
        "--timeout",
        waiting(ns2),
    )
    assert result.returncode == 0, result.stdout + result.stderr

    one = _report(cluster, "-n", ns.name)
    total = one["total"]
    assert {k: total[k] for k in ("requests", "succeeded", "rolled_back", "failed", "in_progress")} == {
        "requests": 3, "succeeded": 1, "rolled_back": 1, "failed": 1, "in_progress": 0,
    }  # fmt: skip
    assert total["failed_by_cause"] == {"InvalidRequest": 1}
    assert total["success_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert (total["changes"], total["failed_changes"], total["change_failure_rate"]) == (2, 1, 0.5)
    assert (total["restores"], total["unrestored"], total["overlapping_deploys"]) == (1, 0, 0)
    # Time to restore: failure detected -> the old version available again, inside the bad request's own run.
    restore = total["time_to_restore_mean_seconds"]
    assert 0 < restore <= bad_end - bad_start
    expected = parse(bad["status"]["completedAt"]) - parse(bad["status"]["failureDetectedAt"])
    assert restore == pytest.approx(expected, abs=1e-3)
    assert total["time_to_restore_p90_seconds"] == restore
    detect = parse(bad["status"]["failureDetectedAt"]) - parse(bad["status"]["patchedAt"])
    assert total["time_to_detect_mean_seconds"] == pytest.approx(detect, abs=1e-3)
    assert 0 < detect + restore <= bad_end - bad_start
    assert 0 < total["deploy_duration_mean_seconds"] <= ok_end - ok_start
    assert total["manual_interventions"] == 0

    both = _report(cluster, "-A")
    by_ns = {n["namespace"]: n for n in both["namespaces"]}
    other = by_ns[ns2.name]
    assert (other["requests"], other["succeeded"], other["deployments"]) == (2, 2, 2)
    assert other["manual_interventions"] == 1 and other["manual_by_kind"]["rollback"] == 1
    # The same figures in either view, but per day: -A's window starts at the older namespace's first request.
    frequency = "deployment_frequency_per_day"
    assert {**by_ns[ns.name], frequency: None} == {"namespace": ns.name, **total, frequency: None}
    assert by_ns[ns.name][frequency] == pytest.approx(86400 / both["window"]["seconds"], rel=0.01)
    if not cluster.real:  # this module's kubesim holds only these two namespaces
        assert both["total"]["requests"] == 5 and both["total"]["success_rate"] == pytest.approx(0.6)
    assert both["window"]["oldest_request"] is not None

    only_api = _report(cluster, "-n", ns2.name, "--deployment", "api", "--since", "1h")
    assert only_api["total"]["requests"] == 2 and only_api["window"]["since_given"] is True
    assert _report(cluster, "-n", ns2.name, "--deployment", "web")["total"]["requests"] == 0

    table = cli(cluster, "report", "-n", ns.name)
    assert table.returncode == 0, table.stderr
    rows = {tuple(line.split()[:2]): line.split() for line in table.stdout.splitlines()}
    assert rows[(ns.name, "Deployment/web")][2:8] == ["3", "1", "1", "1", "33.3%", "50.0%"]
    assert rows[("TOTAL", "3")][:7] == ["TOTAL", "3", "1", "1", "1", "33.3%", "50.0%"]
    assert f"Failed in {ns.name} by cause: InvalidRequest 1" in table.stdout
    assert table.stdout.startswith("Requests that ended from ")

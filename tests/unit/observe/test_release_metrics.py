"""The release figures as Prometheus series: what one ended request adds, by namespace and workload kind."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from deployreq.decide.report import run_of
from deployreq.observe.metrics import Metrics
from tests.unit.decide.test_report import body


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_a_rollback_a_success_and_a_failure_counted_by_namespace_and_kind() -> None:
    metrics = Metrics(CollectorRegistry())
    r = metrics.registry
    metrics.release.observe(run_of(body("ok", "Succeeded", started=0, completed=12)))
    metrics.release.observe(
        run_of(
            body(
                "bad", "RolledBack", started=20, completed=40, detected=31,
                availability={"degradedSeconds": 7.5, "downSeconds": 0},
                labels={"deployreq.dev/rollback-of": "web"},
            )
        )
    )  # fmt: skip
    metrics.release.observe(
        run_of(body("gate", "Failed", ns="b", patched=False, reason="GateFailed", completed=5))
    )
    a = {"namespace": "a", "kind": "Deployment"}
    assert value(r, "deployreq_release_requests_total", **a, outcome="Succeeded") == 1
    assert value(r, "deployreq_release_requests_total", **a, outcome="RolledBack") == 1
    assert (
        value(r, "deployreq_release_failures_total", namespace="b", kind="Deployment", reason="GateFailed")
        == 1
    )
    assert value(r, "deployreq_release_changes_total", **a, result="succeeded") == 1
    assert value(r, "deployreq_release_changes_total", **a, result="failed") == 1
    assert value(r, "deployreq_release_changes_total", namespace="b", kind="Deployment", result="failed") == 0
    assert value(r, "deployreq_time_to_restore_seconds_sum", **a) == 9.0
    assert value(r, "deployreq_deploy_duration_seconds_sum", **a) == 12.0
    assert value(r, "deployreq_request_degraded_seconds_sum", **a) == 7.5
    assert value(r, "deployreq_request_downtime_seconds_count", **a) == 2
    assert value(r, "deployreq_manual_interventions_total", **a, type="rollback") == 1

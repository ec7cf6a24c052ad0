"""deployreq report's figures from request statuses: counts, rates, restore times, overlaps, manual interventions."""

from __future__ import annotations

from typing import Any

import pytest

from deployreq.api.times import rfc3339_ms
from deployreq.decide import report
from deployreq.decide.report import Run, compute, p90, run_of

T0 = 1_800_000_000.0


def body(
    name: str,
    phase: str,
    *,
    ns: str = "a",
    deployment: str = "web",
    created: float = 0,
    started: float | None = None,
    completed: float | None = None,
    patched: bool = True,
    patched_at: float | None = None,
    detected: float | None = None,
    reason: str | None = None,
    labels: dict[str, str] | None = None,
    rerun: str | None = None,
    skip: bool = False,
    availability: dict[str, float] | None = None,
    approver: str | None = None,
) -> dict[str, Any]:
    def at(offset: float | None) -> str | None:
        return None if offset is None else rfc3339_ms(T0 + offset)

    status = {
        "phase": phase,
        "startedAt": at(started),
        "completedAt": at(completed),
        "patchedGeneration": 2 if patched else None,
        "patchedAt": at(patched_at),
        "failureDetectedAt": at(detected),
        "reason": reason,
        "observedRerun": rerun,
        "availability": availability,
        "approval": {"decision": "Approve", "approver": approver, "approval": "a1"} if approver else None,
    }
    return {
        "metadata": {
            "name": name,
            "namespace": ns,
            "creationTimestamp": at(created),
            "labels": labels or {},
        },
        "spec": {
            "deployment": deployment,
            "images": [{"container": "app", "image": "x"}],
            "gates": {"skip": skip},
        },
        "status": {k: v for k, v in status.items() if v is not None},
    }


def runs(*bodies: dict[str, Any]) -> list[Run]:
    return [run_of(b) for b in bodies]


def test_counts_rates_and_causes_per_namespace_workload_and_total() -> None:
    data = runs(
        body("ok1", "Succeeded", created=0, started=1, completed=11, reason="RolledOut"),
        body("ok2", "Succeeded", created=20, started=21, completed=41, reason="Verified"),
        body("bad", "RolledBack", created=50, started=51, completed=70, detected=60, reason="RolledBack"),
        body("gate", "Failed", created=80, started=81, completed=82, patched=False, reason="GateFailed"),
        body("api", "Succeeded", ns="b", deployment="api", created=5, started=6, completed=9),
        body("old", "Superseded", ns="b", deployment="api", created=6, completed=7, patched=False),
        body("wait", "Queued", ns="b", deployment="api", created=8, patched=False),
    )
    rep = compute(data, now=T0 + 86400)
    total = rep.total
    assert (total.requests, total.succeeded, total.rolled_back, total.failed) == (6, 3, 1, 1)
    assert total.superseded == 1 and total.in_progress == 0
    assert total.failed_by_cause == {"GateFailed": 1}
    assert total.success_rate == pytest.approx(3 / 5)
    # Changes: the three successes and the rollback patched; the gate failure changed nothing.
    assert (total.changes, total.failed_changes) == (4, 1)
    assert total.change_failure_rate == pytest.approx(1 / 4)
    assert total.deployments == 3
    assert total.deployment_frequency_per_day == pytest.approx(3 / 1.0, rel=1e-3)
    assert total.time_to_restore_mean_seconds == pytest.approx(10.0)
    assert total.deploy_duration_mean_seconds == pytest.approx((10 + 20 + 3) / 3)
    assert rep.namespaces["a"].requests == 4 and rep.namespaces["b"].requests == 2
    assert rep.namespaces["b"].success_rate == 1.0
    assert rep.workloads[("a", "Deployment", "web")].rolled_back == 1
    assert rep.window.oldest_request == pytest.approx(T0)


def test_a_failed_change_without_rollback_is_restored_by_the_next_success_of_its_workload() -> None:
    data = runs(
        body("broken", "Failed", created=0, started=1, completed=30, detected=30, reason="RolloutFailed"),
        body("other", "Succeeded", deployment="api", created=31, started=32, completed=40),
        body("fix", "Succeeded", created=50, started=51, completed=90),
        body("broken2", "Failed", created=100, started=101, completed=120, reason="ChangedElsewhere"),
    )
    total = compute(data, now=T0 + 200).total
    assert (total.failed_changes, total.restores, total.unrestored) == (2, 1, 1)
    assert total.time_to_restore_mean_seconds == pytest.approx(60.0)  # detected at 30, restored at 90
    assert total.failed_by_cause == {"ChangedElsewhere": 1, "RolloutFailed": 1}


def test_time_to_restore_mean_and_p90_by_nearest_rank() -> None:
    data = runs(
        *(
            body(
                f"rb{i}",
                "RolledBack",
                created=i * 100,
                started=i * 100,
                completed=i * 100 + 10 + i,
                detected=i * 100 + 10,
            )
            for i in range(10)
        )
    )
    total = compute(data, now=T0 + 2000).total
    assert total.time_to_restore_mean_seconds == pytest.approx(4.5)
    assert total.time_to_detect_mean_seconds is None  # no patch time recorded
    assert total.time_to_restore_p90_seconds == pytest.approx(8.0)
    assert p90([5.0]) == 5.0 and p90([]) is None


def test_overlapping_active_windows_are_counted_within_a_namespace_only() -> None:
    sequential = runs(
        body("one", "Succeeded", started=0, completed=10),
        body("two", "Succeeded", started=10.001, completed=20),
        body("elsewhere", "Succeeded", ns="b", started=5, completed=15),
    )
    assert compute(sequential, now=T0 + 100).total.overlapping_deploys == 0
    overlapping = runs(
        body("one", "Succeeded", started=0, completed=10),
        body("two", "RolledBack", started=9, completed=20, detected=15),
        body("three", "Deploying", started=19, completed=None),
    )
    rep = compute(overlapping, now=T0 + 100)
    assert rep.total.overlapping_deploys == 2  # one-two, two-three (three still active)
    assert rep.total.in_progress == 1


def test_manual_interventions_by_kind() -> None:
    data = runs(
        body("rb", "Succeeded", labels={"deployreq.dev/rollback-of": "web"}, completed=5),
        body("again", "Succeeded", rerun="123", completed=6),
        body("skip", "Succeeded", skip=True, rerun="9", completed=7),
        body("plain", "Succeeded", completed=8),
        body("approved", "Succeeded", approver="alice", completed=9),
    )
    total = compute(data, now=T0 + 10).total
    assert total.manual_interventions == 4
    assert total.manual_by_kind == {"rollback": 1, "rerun": 2, "gates_skipped": 1, "approval": 1}


def test_since_narrows_to_requests_ended_inside_the_window_and_downtime_adds_up() -> None:
    data = runs(
        body("old", "RolledBack", created=0, completed=10, detected=5, availability={"degradedSeconds": 9}),
        body(
            "new",
            "RolledBack",
            created=100,
            started=100,
            completed=130,
            detected=110,
            availability={"degradedSeconds": 20.5, "downSeconds": 4},
        ),
    )
    rep = compute(data, now=T0 + 200, since=T0 + 50)
    assert rep.total.requests == 1
    assert (rep.total.degraded_seconds, rep.total.downtime_seconds) == (20.5, 4.0)
    assert rep.window.start == T0 + 50 and rep.window.since_given
    assert rep.window.oldest_request == T0


def test_no_requests_gives_empty_figures_and_json_is_snake_case() -> None:
    rep = compute([], now=T0)
    assert rep.total.success_rate is None and rep.total.requests == 0
    out = report.as_json(rep)
    assert out["window"]["oldest_request"] is None
    assert set(out) == {"window", "total", "namespaces", "workloads"}
    assert all(key == key.lower() for key in out["total"])


def test_run_of_reads_a_request_without_status() -> None:
    run = run_of({"metadata": {"name": "x", "namespace": "n"}, "spec": {"deployment": "web"}})
    assert (run.phase.value, run.started, run.patched, run.manual) == ("Pending", None, False, frozenset())


def test_time_to_detect_runs_from_the_patch_to_the_failure_detected() -> None:
    data = runs(
        body("a", "RolledBack", started=0, patched_at=1, detected=4, completed=5),
        body("b", "RolledBack", started=10, patched_at=11, detected=20, completed=21),
        body("ok", "Succeeded", started=30, patched_at=31, completed=35),
    )
    assert compute(data, now=T0 + 100).total.time_to_detect_mean_seconds == pytest.approx(6.0)


def test_a_release_is_reported_by_its_one_kind_or_as_a_release_of_several() -> None:

    image = [{"container": "app", "image": "r/app:2"}]
    status = {
        "phase": "RolledBack",
        "workloads": [
            {"kind": "StatefulSet", "name": "db", "patchedGeneration": 2, "patchedAt": "2027-01-15T08:00:00Z"}
        ],
    }
    one = {
        "metadata": {"name": "r", "namespace": "ns"},
        "spec": {"workloads": [{"kind": "StatefulSet", "name": "db", "images": image}]},
        "status": status,
    }
    run = run_of(one)
    assert (run.kind, run.workload, run.patched) == ("StatefulSet", "db", True) and run.patched_at
    two = {
        **one,
        "spec": {
            "workloads": [
                {"name": "api", "images": image},
                {"kind": "StatefulSet", "name": "db", "images": image},
            ]
        },
    }
    run = run_of(two)
    assert (run.kind, run.workload) == ("Release", "deployment/api,statefulset/db")

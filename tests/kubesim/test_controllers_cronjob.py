"""CronJob schedules and the CronJob controller, in-process with a clock the test moves (a schedule's minute need
not pass in real time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubesim.api import cron
from tests.kubesim.controllers_support import Cluster, running_cluster

Obj = dict[str, Any]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "why"),
    [
        ("*/5 * * * *", None),
        ("@hourly", None),
        ("0 9 * JAN MON", None),
        ("bad", "expected exactly 5 fields, found 1: [bad]"),
        ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
        ("61 * * * *", "end of range (61) above maximum (59): 61"),
        ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("TZ=UTC * * * * *", "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
    ],
)
def test_schedules_are_refused_with_robfig_crons_words(schedule: str, why: str | None) -> None:
    assert cron.problem(schedule) == why


def test_the_latest_due_time_and_the_next_one() -> None:
    assert cron.next_after("*/15 * * * *", at("2026-01-01T00:01:00")) == at("2026-01-01T00:15:00")
    assert cron.next_after("@daily", at("2026-01-01T00:01:00")) == at("2026-01-02T00:00:00")
    assert cron.last_due("*/15 * * * *", at("2026-01-01T00:01:00"), at("2026-01-01T00:50:00")) == at(
        "2026-01-01T00:45:00"
    )
    assert cron.last_due("0 3 * * *", at("2026-01-01T04:00:00"), at("2026-01-01T05:00:00")) is None
    # 03:00 in Berlin is 02:00 UTC in winter
    assert cron.next_after("0 3 * * *", at("2026-01-01T00:00:00"), "Europe/Berlin") == at(
        "2026-01-01T02:00:00"
    )


def cronjob(c: Cluster, name: str, schedule: str = "* * * * *", **spec: Any) -> Obj:
    template = {
        "spec": {"restartPolicy": "Never", "containers": [{"name": "app", "image": "registry.example/r:1"}]}
    }
    body = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            "schedule": schedule,
            "jobTemplate": {"metadata": {"labels": {"app": name}}, "spec": {"template": template}},
            **spec,
        },
    }
    return c.store.create(c.store.require("batch", "cronjobs"), "default", body)


def jobs(c: Cluster) -> list[Obj]:
    return sorted(
        c.store.iter(c.store.require("batch", "jobs"), "default"), key=lambda j: j["metadata"]["name"]
    )


def advance(c: Cluster, seconds: float) -> None:
    """Move the store's clock and touch every CronJob, as the controller's timer would fire."""
    before = c.store.clock
    c.store.clock = lambda: before() + seconds
    rt = c.store.require("batch", "cronjobs")
    for obj in list(c.store.iter(rt, "default")):
        touched = dict(obj, metadata={**obj["metadata"], "labels": {"tick": str(seconds)}})
        c.store.update(rt, "default", obj["metadata"]["name"], touched)


def advance_to(c: Cluster, when: datetime) -> None:
    """Move the store's clock to ``when`` (unless it is already past it), wherever in its minute real time is."""
    advance(c, max(0.0, when.timestamp() - c.store.clock()))


async def test_a_job_at_each_scheduled_minute_then_the_history_limit() -> None:
    async with running_cluster() as c:
        created = cronjob(c, "tick", successfulJobsHistoryLimit=1)
        assert jobs(c) == []
        start = datetime.fromisoformat(created["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
        due = cron.next_after("* * * * *", start)
        # A second after the first scheduled minute, not 61 s after now: from a CronJob made in the last second
        # of a minute, now + 61 s is past the second scheduled minute too, and the controller (as Kubernetes')
        # starts only the latest missed run.
        advance_to(c, due + timedelta(seconds=1))
        first = await c.wait_for(lambda: jobs(c), what="the first Job")
        (job,) = first
        assert job["metadata"]["name"] == f"tick-{int(due.timestamp()) // 60}"
        assert job["metadata"]["labels"] == {"app": "tick"}
        assert job["metadata"]["annotations"][
            "batch.kubernetes.io/cronjob-scheduled-timestamp"
        ] == due.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
        rt = c.store.require("batch", "cronjobs")
        status = await c.wait_for(
            lambda: (
                (c.store.get(rt, "default", "tick").get("status") or {}).get("lastSuccessfulTime")
                and c.store.get(rt, "default", "tick")["status"]
            ),
            what="the Job seen completed",
        )
        assert "active" not in status and status["lastScheduleTime"] == due.strftime("%Y-%m-%dT%H:%M:%SZ")
        advance(c, 121)
        await c.wait_for(
            lambda: len(jobs(c)) == 1 and jobs(c)[0]["metadata"]["name"] != job["metadata"]["name"]
        )


async def test_forbid_skips_a_run_while_one_is_active_and_suspend_stops_runs() -> None:
    async with running_cluster(pod_ready_seconds=3600) as c:
        cronjob(c, "busy", concurrencyPolicy="Forbid")
        advance(c, 61)
        await c.wait_for(lambda: len(jobs(c)) == 1, what="the first Job")
        advance(c, 121)
        await c.quiet(0.3)
        assert len(jobs(c)) == 1
        cronjob(c, "off", suspend=True)
        advance(c, 181)
        await c.quiet(0.3)
        assert [j["metadata"]["labels"]["app"] for j in jobs(c)] == ["busy"]

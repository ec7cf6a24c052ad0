"""Whose turn it is in a namespace, the queue's writes, the next due request and a run's start, as values."""

from __future__ import annotations

from typing import Any

from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.api.times import rfc3339_ms
from deployreq.decide import namespace
from tests.unit.decide.test_progress import NOW, deployment


def req(name: str, phase: str | None = None, created: str = "2027-01-15T08:00:00Z", **status: Any) -> Request:
    body: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"{name}-uid",
            "generation": 1,
            "creationTimestamp": created,
        },
        "spec": {"deployment": "web", "images": [{"container": "app", "image": f"img/{name}:2"}]},
        "status": {**status, **({"phase": phase} if phase else {})},
    }
    return Request.parse(body)


def test_the_lock_holders_active_request_is_driven_and_a_finished_one_released() -> None:
    active = req("a", "Deploying", startedAt="2027-01-15T08:01:00.000Z")
    other = req("b", "Verifying", startedAt="2027-01-15T08:00:30.000Z")
    assert namespace.turn([active, other], "a-uid", True) == namespace.Drive(active)
    assert namespace.turn([active, other], None, False) == namespace.Drive(other)  # the oldest run first
    done = Request.parse(
        {
            **req("a", "Succeeded").body,
            "metadata": {**req("a").body["metadata"], "finalizers": ["deployreq.dev/rollback-on-delete"]},
        }
    )
    assert namespace.turn([done], "a-uid", True) == namespace.Release(done)
    assert namespace.turn([done], "a-uid", False) == namespace.StartNext()


def test_waiting_requests_are_queued_with_their_positions_and_older_duplicates_superseded() -> None:
    old = req("old", created="2027-01-15T08:00:00Z")
    new = req("new", created="2027-01-15T08:00:05Z")
    upkeep = namespace.upkeep([old, new], None, NOW)
    assert upkeep.waiting == 1
    [(superseded, change, note)] = upkeep.superseded
    assert superseded is old and change.phase == Phase.SUPERSEDED
    assert change.message == note.message == 'Superseded by the newer request "new".'
    assert (note.reason, note.warning) == ("Superseded", False)
    [(queued, mark)] = upkeep.queued
    assert queued is new and mark.phase == Phase.QUEUED and mark.fields.queue_position == 1
    assert namespace.upkeep([new], "new", NOW).queued == []  # about to start: not marked Queued first


def test_a_request_waiting_for_its_retry_is_not_due_and_says_when() -> None:
    at = NOW + 30
    waiting = req(
        "r",
        "Queued",
        attempt=1,
        nextAttemptAt=rfc3339_ms(at),
        failure="Deployment gone",
        observedGeneration=1,
        queuePosition=1,
    )
    due = namespace.next_due([waiting], NOW)
    assert due.request is None and due.wake_at == at and due.any_waiting
    assert namespace.next_due([waiting], at + 1).request is waiting
    mark = namespace.queued(waiting, 2, NOW)
    assert (
        mark is not None
        and mark.message is not None
        and mark.message.startswith("Waiting to retry: Deployment gone.")
    )


def test_a_run_starts_deploying_with_what_the_patch_records_or_checking_with_pre_gates() -> None:
    start = namespace.start(req("r"), deployment(), "r@op", NOW)
    assert start.phase == Phase.DEPLOYING and start.attempt == 1
    assert [n.reason for n in start.notes] == ["Started"]
    fields = start.status.fields
    assert fields.previous_revision == 1 and fields.deployment_uid == "dep-uid"
    assert [(i.container, i.image) for i in fields.previous_images or []] == [("app", "img/app:1")]
    assert fields.started_at == rfc3339_ms(NOW) and fields.lock_holder == "r@op"
    assert "patched_generation" in fields.model_fields_set  # the last run's records cleared
    retry = namespace.start(req("r", "Queued", attempt=2, observedGeneration=1), None, None, NOW)
    assert retry.attempt == 3 and retry.status.fields.previous_images is None

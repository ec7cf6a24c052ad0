"""Who runs next in a namespace, and who is superseded."""

from __future__ import annotations

from deployreq.queue import QueueEntry, plan, queue_order, superseded


def entry(
    name: str,
    priority: str = "normal",
    created: str = "2027-01-01T00:00:00Z",
    phase: str = "Queued",
    deployment: str = "web",
    containers: tuple[str, ...] = ("app",),
) -> QueueEntry:
    return QueueEntry("ns", name, f"uid-{name}", priority, created, phase, deployment, frozenset(containers))


def test_higher_priority_runs_first_then_arrival_then_name() -> None:
    entries = [
        entry("b", "normal", "2027-01-01T00:00:01Z", containers=("b",)),
        entry("a", "normal", "2027-01-01T00:00:01Z", containers=("a",)),
        entry("old", "normal", "2027-01-01T00:00:00Z", containers=("c",)),
        entry("urgent", "urgent", "2027-01-01T00:00:09Z", containers=("d",)),
        entry("low", "low", "2027-01-01T00:00:00Z", containers=("e",)),
    ]
    assert [e.name for e in queue_order(entries)] == ["urgent", "old", "a", "b", "low"]


def test_finished_and_active_requests_are_not_in_the_queue() -> None:
    entries = [
        entry("done", phase="Succeeded"),
        entry("running", phase="Deploying", containers=("x",)),
        entry("waiting", containers=("y",)),
    ]
    result = plan(entries, None)
    assert result.positions == {"waiting": 1}
    assert result.next == "waiting"


def test_a_newer_request_for_the_same_containers_supersedes_a_waiting_one() -> None:
    entries = [
        entry("v1", created="2027-01-01T00:00:01Z"),
        entry("v2", created="2027-01-01T00:00:02Z"),
        entry("v3", created="2027-01-01T00:00:03Z"),
    ]
    assert superseded(entries) == {"v1": "v3", "v2": "v3"}
    assert plan(entries, None).positions == {"v3": 1}


def test_a_request_covering_fewer_containers_does_not_supersede() -> None:
    entries = [
        entry("both", containers=("app", "side"), created="2027-01-01T00:00:01Z"),
        entry("one", containers=("app",), created="2027-01-01T00:00:02Z"),
    ]
    assert superseded(entries) == {}


def test_an_active_request_is_never_superseded_but_does_supersede_nothing_older_that_runs() -> None:
    entries = [
        entry("running", phase="Verifying", created="2027-01-01T00:00:01Z"),
        entry("newer", created="2027-01-01T00:00:02Z"),
    ]
    assert superseded(entries) == {}


def test_other_deployments_do_not_supersede() -> None:
    entries = [entry("a", deployment="web"), entry("b", deployment="api", created="2027-01-02T00:00:00Z")]
    assert superseded(entries) == {}


def test_nothing_starts_while_the_lock_is_held() -> None:
    assert plan([entry("waiting")], "someone").next is None

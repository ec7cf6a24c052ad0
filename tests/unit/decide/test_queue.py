"""Who runs next in a namespace, and who is superseded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deployreq.decide.queue import QueueEntry, plan, queue_order, superseded


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


def test_a_finished_newer_request_supersedes_nothing() -> None:
    entries = [
        entry("old", created="2027-01-01T00:00:01Z"),
        entry("done", phase="Failed", created="2027-01-01T00:00:02Z"),
    ]
    assert superseded(entries) == {}


def test_a_newer_request_already_running_supersedes_an_older_waiting_one() -> None:
    entries = [
        entry("normal", created="2027-01-01T00:00:01Z"),
        entry(
            "urgent", "urgent", created="2027-01-01T00:00:02Z", phase="Deploying", containers=("app", "side")
        ),
    ]
    result = plan(entries, "urgent")
    assert result.superseded == {"normal": "urgent"}
    assert result.positions == {}
    assert result.next is None


PHASES = ["Pending", "Queued", "Checking", "Deploying", "Succeeded", "Failed", "Superseded"]
entries_strategy = st.lists(
    st.builds(
        entry,
        name=st.sampled_from(["a", "b", "c", "d", "e", "f"]),
        priority=st.sampled_from(["low", "normal", "high", "urgent"]),
        created=st.sampled_from(["2027-01-01T00:00:01Z", "2027-01-01T00:00:02Z", "2027-01-01T00:00:03Z"]),
        phase=st.sampled_from(PHASES),
        deployment=st.sampled_from(["web", "api"]),
        containers=st.sampled_from([("app",), ("side",), ("app", "side")]),
    ),
    max_size=6,
    unique_by=lambda e: e.name,
)


@given(entries_strategy, st.sampled_from([None, "a"]))
@settings(max_examples=200, deadline=None)
def test_queue_positions_are_contiguous_and_the_next_one_is_first(
    entries: list[QueueEntry], holder: str | None
) -> None:
    result = plan(entries, holder)
    assert sorted(result.positions.values()) == list(range(1, len(result.positions) + 1))
    assert not set(result.positions) & set(result.superseded)
    waiting = {e.name for e in entries if e.phase in ("Pending", "Queued")}
    assert set(result.positions) | set(result.superseded) == waiting
    if holder is None and result.positions:
        assert result.positions[str(result.next)] == 1
    else:
        assert result.next is None
    for old, new in result.superseded.items():
        assert old != new

"""The namespace lock decision, as client-go's leader election makes it."""

from __future__ import annotations

import pytest

from deployreq.api.times import micro_time
from deployreq.decide.locking import (
    Create,
    LeaseRecord,
    Renew,
    Take,
    Takeover,
    Wait,
    decide,
    lease_body,
    record_of,
    release_body,
)


def record(holder: str = "other", transitions: int = 2, duration: int = 15) -> LeaseRecord:
    return LeaseRecord(
        holder=holder,
        duration_seconds=duration,
        acquire_time="2027-01-01T00:00:00.000000Z",
        renew_time="2027-01-01T00:00:05.000000Z",
        transitions=transitions,
        resource_version="42",
    )


@pytest.mark.parametrize(
    ("rec", "now", "observed_at", "expected"),
    [
        pytest.param(None, 100.0, 0.0, Create(), id="no lease: create it"),
        pytest.param(record("me"), 1000.0, 0.0, Renew(), id="we hold it: renew even when long unseen"),
        pytest.param(record(""), 100.0, 99.0, Take(3), id="released: take it at once, one more transition"),
        pytest.param(
            record("other"), 110.0, 100.0, Wait(115.0, "other"), id="live holder: wait out the duration"
        ),
        pytest.param(
            record("other"),
            115.0,
            100.0,
            Takeover(3, "other"),
            id="holder silent a whole duration: take over",
        ),
    ],
)
def test_decision(rec: LeaseRecord | None, now: float, observed_at: float, expected: object) -> None:
    assert decide(rec, "me", now, observed_at) == expected


def test_a_holder_of_this_operator_hands_the_lock_over_in_one_take() -> None:
    live = record("done@op")
    assert decide(live, "next@op", 110.0, 100.0, hand_over_from="done@op") == Take(3)
    # only the named holder: a live lock of anyone else is still waited out
    assert decide(live, "next@op", 110.0, 100.0, hand_over_from="other@op") == Wait(115.0, "done@op")


def test_record_renew_time_is_never_compared_with_the_local_clock() -> None:
    # renewTime is far in the past by the local clock, but we only just saw the record change.
    ancient = LeaseRecord("other", 15, "1999-01-01T00:00:00.000000Z", "1999-01-01T00:00:00.000000Z", 0, "1")
    assert decide(ancient, "me", now=2_000_000_000.0, observed_at=2_000_000_000.0) == Wait(
        2_000_000_015.0, "other"
    )


def test_micro_time_format() -> None:
    assert micro_time(1_800_000_000.5) == "2027-01-15T08:00:00.500000Z"


def test_renew_keeps_acquire_time_and_transitions() -> None:
    rec = record("me", transitions=4)
    body = lease_body(Renew(), rec, "me", 15, 1_800_000_000.0)
    assert body == {
        "holderIdentity": "me",
        "leaseDurationSeconds": 15,
        "acquireTime": rec.acquire_time,
        "renewTime": "2027-01-15T08:00:00.000000Z",
        "leaseTransitions": 4,
    }


@pytest.mark.parametrize(
    ("decision", "transitions"),
    [(Create(), 0), (Take(3), 3), (Takeover(5, "other"), 5)],
    ids=["create starts at zero", "take counts the transition", "takeover counts the transition"],
)
def test_acquiring_sets_acquire_and_renew_time_now(
    decision: Create | Take | Takeover, transitions: int
) -> None:
    body = lease_body(decision, record(), "me", 20, 1_800_000_000.0)
    assert body["holderIdentity"] == "me"
    assert body["leaseDurationSeconds"] == 20
    assert body["acquireTime"] == body["renewTime"] == "2027-01-15T08:00:00.000000Z"
    assert body["leaseTransitions"] == transitions


def test_wait_writes_nothing() -> None:
    with pytest.raises(ValueError, match="writes nothing"):
        lease_body(Wait(1.0, "other"), record(), "me", 15, 0.0)


def test_release_clears_the_holder_like_client_go() -> None:
    body = release_body(record("me", transitions=7), 1_800_000_000.0)
    assert body == {
        "holderIdentity": "",
        "leaseDurationSeconds": 1,
        "acquireTime": "2027-01-15T08:00:00.000000Z",
        "renewTime": "2027-01-15T08:00:00.000000Z",
        "leaseTransitions": 7,
    }


def test_record_of_reads_a_lease_object() -> None:
    lease = {
        "metadata": {"name": "deployreq-lock", "resourceVersion": "9"},
        "spec": {"holderIdentity": "a@op", "leaseDurationSeconds": 15, "leaseTransitions": 1},
    }
    assert record_of(lease) == LeaseRecord("a@op", 15, "", "", 1, "9")
    assert record_of(None) is None
    assert record_of({"metadata": {}, "spec": {}}) == LeaseRecord("", 0, "", "", 0, "")

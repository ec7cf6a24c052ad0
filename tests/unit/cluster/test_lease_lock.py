"""The namespace lock over a fake API: optimistic writes, no needless renewals, and a stalled holder that must
renew (and so learns it lost the lock) before it acts again. Found by the chaos run: every pass used to renew."""

from __future__ import annotations

from typing import Any

from deployreq import errors
from deployreq.cluster.lease import LeaseLock


class FakeLeases:
    """One Lease with resourceVersions and 409s, as the API server keeps it."""

    def __init__(self) -> None:
        self.lease: dict[str, Any] | None = None
        self.writes = 0

    async def get_or_none(self, path: str) -> dict[str, Any] | None:
        return None if self.lease is None else {**self.lease}

    def _store(self, body: dict[str, Any]) -> dict[str, Any]:
        rv = int((self.lease or {}).get("metadata", {}).get("resourceVersion", "0")) + 1
        self.lease = {**body, "metadata": {**body["metadata"], "resourceVersion": str(rv)}}
        self.writes += 1
        return {**self.lease}

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.lease is not None:
            raise errors.Conflict(409, "AlreadyExists", "exists")
        return self._store(body)

    async def replace(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.lease is not None
        if body["metadata"].get("resourceVersion") != self.lease["metadata"]["resourceVersion"]:
            raise errors.Conflict(409, "Conflict", "the object has been modified")
        return self._store(body)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lock(api: FakeLeases, operator: str, clock: Clock) -> LeaseLock:
    lease_lock = LeaseLock(api, "ns", operator, 15.0, clock=clock, wall=clock)  # type: ignore[arg-type]
    lease_lock.min_renew_interval = 5.0
    return lease_lock


async def test_holding_the_lock_does_not_rewrite_it_on_every_step() -> None:
    api, clock = FakeLeases(), Clock()
    mine = lock(api, "op-a", clock)
    assert await mine.acquire("r1", "uid-1")
    writes = api.writes
    for _ in range(10):
        clock.now += 0.1
        assert await mine.acquire("r1", "uid-1")
    assert api.writes == writes
    clock.now += 6
    assert await mine.acquire("r1", "uid-1")
    assert api.writes == writes + 1


async def test_a_stalled_holder_learns_it_lost_the_lock_before_acting() -> None:
    api, clock = FakeLeases(), Clock()
    stalled, other = lock(api, "op-a", clock), lock(api, "op-b", clock)
    assert await stalled.acquire("r1", "uid-1")
    await other.refresh()
    assert not await other.acquire("r2", "uid-2")  # live holder: wait
    clock.now += 16  # op-a is stopped; op-b sees no change for a whole lease duration
    assert await other.acquire("r2", "uid-2")
    assert other.takeovers == 1
    # op-a resumes: its next step must not believe it still holds the lock.
    assert not await stalled.acquire("r1", "uid-1")
    assert not stalled.held_by_me()


async def test_a_finished_requests_lock_passes_to_the_next_in_one_write() -> None:
    api, clock = FakeLeases(), Clock()
    mine = lock(api, "op-a", clock)
    assert await mine.acquire("r1", "uid-1")
    writes = api.writes
    assert not await mine.acquire("r2", "uid-2")  # without a hand-over, r1's live lock is waited out
    assert await mine.acquire("r2", "uid-2", hand_over=True)
    assert api.writes == writes + 1
    assert api.lease is not None and api.lease["spec"]["holderIdentity"] == "r2@op-a"
    assert api.lease["spec"]["leaseTransitions"] == 1


async def test_no_hand_over_from_another_operators_holder() -> None:
    api, clock = FakeLeases(), Clock()
    theirs, mine = lock(api, "op-b", clock), lock(api, "op-a", clock)
    assert await theirs.acquire("r1", "uid-1")
    await mine.refresh()
    assert not await mine.acquire("r2", "uid-2", hand_over=True)
    assert api.lease is not None and api.lease["spec"]["holderIdentity"] == "r1@op-b"


async def test_a_foreign_lease_deleted_by_hand_frees_the_queue_within_one_lease_duration() -> None:
    """A Lease someone else wrote with a day-long duration (the redirect attack of the gate review) used to hold
    the namespace until the operator restarted, even after it was deleted."""
    api, clock = FakeLeases(), Clock()
    api.lease = {
        "metadata": {"name": "deployreq-lock", "resourceVersion": "7"},
        "spec": {"holderIdentity": "attacker", "leaseDurationSeconds": 86400},
    }
    mine = lock(api, "op-a", clock)
    assert not await mine.acquire("r1", "uid-1")
    assert mine.recheck_at() == clock.now + 15.0  # not a day later
    api.lease = None  # an admin deletes it
    clock.now += 5.0
    assert not await mine.acquire("r1", "uid-1")  # not read again before one lease duration
    clock.now += 10.0
    assert await mine.acquire("r1", "uid-1")
    assert mine.held_by_me()


async def test_a_holder_that_was_stopped_finds_its_lock_stale_and_must_renew_before_writing() -> None:
    api, clock = FakeLeases(), Clock()
    mine = lock(api, "op-a", clock)
    assert await mine.acquire("r1", "uid-1")
    assert mine.fresh()
    clock.now += 15.0 * 2 / 3  # a SIGSTOP as long as two thirds of the lease: another may take over soon
    assert mine.held_by_me() and not mine.fresh()
    assert await mine.renew() and mine.fresh()
    # taken over meanwhile: the renewal fails and the lock is no longer ours
    other = lock(api, "op-b", clock)
    assert not await other.acquire("r2", "uid-2")  # sees op-a's lock, and from then on whether it is renewed
    clock.now += 16.0
    assert await other.acquire("r2", "uid-2")
    assert not await mine.renew() and not mine.fresh()

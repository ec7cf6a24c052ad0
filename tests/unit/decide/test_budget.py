"""maxConcurrent budgets as slot Leases (issue 19): one slot per active request, never more live than the budget."""

from __future__ import annotations

from deployreq.decide.budget import Claim, Full, Slot, claim
from deployreq.decide.locking import Create, LeaseRecord, Renew, Take, Takeover


def held(index: int, holder: str, observed_at: float = 100.0, duration: int = 15) -> Slot:
    record = LeaseRecord(holder, duration, "t", "t", 1, "7")
    return Slot(index, record, observed_at)


def test_an_empty_budget_gives_the_first_slot() -> None:
    assert claim([], 2, "ns-a/r1", now=100.0) == Claim(0, Create())


def test_a_holder_keeps_its_own_slot() -> None:
    slots = [held(0, "ns-b/r2"), held(1, "ns-a/r1")]
    assert claim(slots, 2, "ns-a/r1", now=101.0) == Claim(1, Renew())


def test_a_full_budget_waits_until_the_earliest_holder_could_lapse() -> None:
    slots = [held(0, "ns-a/r1", observed_at=100.0), held(1, "ns-b/r2", observed_at=104.0)]
    assert claim(slots, 2, "ns-c/r3", now=105.0) == Full(115.0, ("ns-a/r1", "ns-b/r2"))


def test_a_released_slot_is_taken_and_a_lapsed_one_taken_over() -> None:
    released = Slot(0, LeaseRecord("", 15, "t", "t", 3, "9"), 100.0)
    assert claim([released, held(1, "ns-b/r2")], 2, "ns-c/r3", now=101.0) == Claim(0, Take(4))
    lapsed = held(0, "ns-a/r1", observed_at=100.0)
    assert claim([lapsed, held(1, "ns-b/r2", observed_at=120.0)], 2, "ns-c/r3", now=116.0) == Claim(
        0, Takeover(2, "ns-a/r1")
    )


def test_a_missing_slot_below_the_size_is_created() -> None:
    assert claim([held(0, "ns-a/r1")], 3, "ns-c/r3", now=101.0) == Claim(1, Create())


def test_a_lowered_budget_counts_slots_beyond_it_while_their_holders_run() -> None:
    slots = [Slot(0, LeaseRecord("", 15, "t", "t", 2, "1"), 100.0), held(1, "ns-a/r1"), held(2, "ns-b/r2")]
    assert isinstance(claim(slots, 2, "ns-c/r3", now=101.0), Full), "two live holders fill a budget of two"
    assert claim(slots[:2], 2, "ns-c/r3", now=101.0) == Claim(0, Take(3))


def test_the_same_request_driven_by_another_operator_keeps_its_slot() -> None:
    """An HA successor holding the request's namespace lock takes its slot at once, never a second one."""
    slots = [held(0, "ns-b/r2@op-a"), held(1, "ns-a/r1@op-a")]
    assert claim(slots, 3, "ns-a/r1@op-b", now=101.0, adopt=True) == Claim(1, Take(2))


def test_before_the_lock_the_same_request_under_another_operator_is_someone_else() -> None:
    """Two operators both see the request waiting; the one without its namespace lock must not take its slot (the
    chaos run found it then freed the slot, and a request of another namespace started beside the running one)."""
    slots = [held(0, "ns-a/r1@op-a")]
    full = claim(slots, 1, "ns-a/r1@op-b", now=101.0, active=frozenset({"ns-a/r1"}))
    assert isinstance(full, Full) and full.holders == ("ns-a/r1@op-a",)


def test_a_lapsed_slot_whose_request_still_runs_is_not_taken_over() -> None:
    lapsed = held(0, "ns-a/r1@op-a", observed_at=100.0)
    full = claim([lapsed], 1, "ns-c/r3@op-b", now=116.0, active=frozenset({"ns-a/r1"}))
    assert isinstance(full, Full) and full.holders == ("ns-a/r1@op-a",)
    assert claim([lapsed], 1, "ns-c/r3@op-b", now=116.0) == Claim(0, Takeover(2, "ns-a/r1@op-a"))

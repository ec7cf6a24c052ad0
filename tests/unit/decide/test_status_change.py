"""A typed status change applied and turned into the merge patch: only what differs, None clearing a field."""

from __future__ import annotations

from deployreq.api.change import Fields, StatusChange
from deployreq.api.phases import Phase
from deployreq.api.status_model import DeploymentRequestStatus
from deployreq.decide import status

NOW = 1_800_000_000.0


def test_only_the_fields_that_change_are_patched_and_none_clears() -> None:
    before = DeploymentRequestStatus.model_validate({"phase": "Queued", "queuePosition": 2, "failure": "x"})
    change = StatusChange(Fields(queue_position=2, failure=None, attempt=1))
    assert status.patch(before, status.apply(before, change, NOW, 1)) == {"failure": None, "attempt": 1}
    assert status.patch(before, status.apply(before, StatusChange(Fields(queue_position=2)), NOW, 1)) == {}


def test_a_phase_change_brings_its_message_history_and_conditions_in_camel_case() -> None:
    before = DeploymentRequestStatus.model_validate({"phase": "Deploying", "observedGeneration": 3})
    change = StatusChange(Fields(completed_at="2027-01-15T08:00:00.000Z"), Phase.SUCCEEDED, "done")
    patch = status.patch(before, status.apply(before, change, NOW, 1))
    assert set(patch) == {"phase", "message", "history", "conditions", "completedAt"}
    assert patch["history"] == [{"phase": "Succeeded", "time": "2027-01-15T08:00:00Z", "message": "done"}]
    assert {c["observedGeneration"] for c in patch["conditions"]} == {3}  # the observed generation by default


def test_a_member_of_an_object_no_longer_set_is_cleared() -> None:
    """A merge patch merges objects: a member left out would stay, so it is written as null."""
    before = DeploymentRequestStatus.model_validate(
        {"availability": {"degradedSince": "t", "degradedSeconds": 0}}
    )
    after = before.model_copy(
        update={
            "availability": before.availability.model_copy(
                update={"degraded_since": None, "degraded_seconds": 2.0}
            )
        }
    )  # type: ignore[union-attr]
    assert status.patch(before, after) == {"availability": {"degradedSince": None, "degradedSeconds": 2.0}}

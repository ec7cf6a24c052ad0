"""Conditions that kubectl wait and kstatus read, and when a request runs again."""

from __future__ import annotations

from typing import Any

import pytest

from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.api.status_model import DeploymentRequestStatus
from deployreq.decide import run, status


def transition(
    before: dict[str, Any], phase: str, now: float, message: str, generation: int
) -> dict[str, Any]:
    """:func:`status.transition` on a status as the API shows it, the result as the API would store it."""
    typed = DeploymentRequestStatus.model_validate(before)
    after = status.transition(typed, Phase(phase), now, message, generation)
    return after.model_dump(by_alias=True, mode="json", exclude_none=True)


def needs_run(generation: int, annotations: dict[str, str], st: dict[str, Any]) -> bool:
    meta = {"name": "r", "generation": generation, "annotations": annotations}
    spec = {"deployment": "web", "images": [{"container": "app", "image": "img:2"}]}
    return run.needs_run(Request.parse({"metadata": meta, "spec": spec, "status": st}))


def by_type(st: dict) -> dict:  # type: ignore[type-arg]
    return {c["type"]: c for c in st["conditions"]}


def test_a_terminal_phase_sets_complete_and_the_outcome_with_the_generation() -> None:
    st = transition({}, "RolledBack", 1_800_000_000, "rolled back", 3)
    conds = by_type(st)
    assert conds["Complete"]["status"] == "True"
    assert conds["Succeeded"]["status"] == "False"
    assert conds["Stalled"]["status"] == "True"
    assert conds["Ready"]["status"] == "False"
    assert all(c["observedGeneration"] == 3 for c in st["conditions"])


def test_success_is_ready_and_not_reconciling() -> None:
    running = transition({}, "Deploying", 1_800_000_000, "deploying", 1)
    assert by_type(running)["Reconciling"]["status"] == "True"
    assert by_type(running)["Succeeded"]["status"] == "Unknown"
    done = transition(running, "Succeeded", 1_800_000_100, "done", 1)
    conds = by_type(done)
    assert conds["Ready"]["status"] == conds["Succeeded"]["status"] == "True"
    assert conds["Reconciling"]["status"] == "False"


def test_transition_time_is_kept_while_a_condition_does_not_change() -> None:
    first = transition({}, "Queued", 1_800_000_000, "q", 1)
    second = transition(first, "Deploying", 1_800_000_500, "d", 1)
    assert (
        by_type(second)["Complete"]["lastTransitionTime"] == by_type(first)["Complete"]["lastTransitionTime"]
    )


def test_history_is_bounded() -> None:
    st: dict = {}  # type: ignore[type-arg]
    for i in range(50):
        st = transition(st, "Queued" if i % 2 else "Deploying", 1_800_000_000 + i, str(i), 1)
    assert len(st["history"]) == status.HISTORY_LIMIT
    assert st["history"][-1]["message"] == "49"


def test_an_unchanged_reapply_never_starts_a_run() -> None:
    assert not needs_run(1, {}, {"phase": "Succeeded", "observedGeneration": 1})
    assert not needs_run(1, {}, {"phase": "RolledBack", "observedGeneration": 1})


def test_a_spec_change_or_a_new_rerun_value_after_the_end_starts_a_run() -> None:
    assert needs_run(2, {}, {"phase": "Failed", "observedGeneration": 1})
    assert needs_run(1, {"deployreq.dev/rerun": "x"}, {"phase": "RolledBack", "observedGeneration": 1})
    assert not needs_run(
        1,
        {"deployreq.dev/rerun": "x"},
        {"phase": "RolledBack", "observedGeneration": 1, "observedRerun": "x"},
    )


def test_a_running_request_is_not_restarted_by_a_spec_change() -> None:
    assert not needs_run(2, {}, {"phase": "Verifying", "observedGeneration": 1})


@pytest.mark.parametrize(
    ("phase", "stalled", "reconciling"),
    [
        ("Queued", "False", "True"),
        ("Verifying", "False", "True"),
        ("Failed", "True", "False"),
        ("RolledBack", "True", "False"),
        ("Cancelled", "False", "False"),
        ("Superseded", "False", "False"),
        ("Succeeded", "False", "False"),
    ],
)
def test_kstatus_stalled_only_when_a_person_must_act(phase: str, stalled: str, reconciling: str) -> None:
    st = transition({}, phase, 100.0, "m", 1)
    values = {c["type"]: c["status"] for c in st["conditions"]}
    assert (values["Stalled"], values["Reconciling"]) == (stalled, reconciling)
    assert all(c["reason"] == phase and c["observedGeneration"] == 1 for c in st["conditions"])


@pytest.mark.parametrize("phase", ["Failed", "RolledBack", "Succeeded", "Cancelled"])
def test_an_ended_request_stays_ended_when_reapplied_unchanged(phase: str) -> None:
    ended = {"phase": phase, "observedGeneration": 2, "observedRerun": "x"}
    assert not needs_run(2, {"deployreq.dev/rerun": "x"}, ended)
    assert needs_run(2, {"deployreq.dev/rerun": "y"}, ended)

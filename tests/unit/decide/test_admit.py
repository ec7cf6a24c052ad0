"""May a request start (decide/admit.py): limits refuse, freezes and windows hold with the policy and the time it may
start, budgets are named for the engine to claim; the held status and the refused one, as values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deployreq.api.phases import Phase
from deployreq.api.policy import DeployPolicy, DeployPolicySpec
from deployreq.api.request import Request
from deployreq.decide import admit

MONDAY_NOON = datetime(2027, 1, 18, 12, 0, tzinfo=UTC).timestamp()


def policy(name: str, **spec: Any) -> DeployPolicy:
    return DeployPolicy(name=name, spec=DeployPolicySpec.model_validate({"namespaceSelector": {}, **spec}))


def req(priority: str = "normal", phase: str | None = None, **spec: Any) -> Request:
    body: dict[str, Any] = {
        "metadata": {"name": "r", "namespace": "ns", "uid": "u", "generation": 1},
        "spec": {
            "deployment": "web",
            "images": [{"container": "app", "image": "img:2"}],
            "priority": priority,
            **spec,
        },
        "status": {"phase": phase} if phase else {},
    }
    return Request.parse(body)


def test_no_policy_lets_everything_start() -> None:
    assert admit.admit(req(), [], MONDAY_NOON) == admit.Go()


def test_a_budget_is_named_for_the_engine_to_claim() -> None:
    policies = [policy("a", maxConcurrent=2), policy("b")]
    assert admit.admit(req(), policies, MONDAY_NOON) == admit.Go((("a", 2),))


def test_a_limit_refuses_naming_the_policy_that_sets_it() -> None:
    policies = [policy("loose"), policy("strict", limits={"allowedPriorities": ["normal"]})]
    verdict = admit.admit(req("urgent"), policies, MONDAY_NOON)
    assert isinstance(verdict, admit.Refuse) and verdict.policy == "strict"
    change, note = admit.refused(req("urgent", "Queued"), verdict, MONDAY_NOON)
    assert change.phase == Phase.FAILED and change.fields.reason == "PolicyLimitExceeded"
    assert "Refused by policy strict: priority urgent is not allowed" in (change.message or "")
    assert note.warning


def test_outside_a_window_holds_until_it_opens() -> None:
    window = {"days": ["Mon"], "start": "14:00", "end": "15:00", "timeZone": "UTC"}
    verdict = admit.admit(req(), [policy("office", windows=[window])], MONDAY_NOON)
    opens = datetime(2027, 1, 18, 14, 0, tzinfo=UTC).timestamp()
    assert verdict == admit.Hold(
        "office",
        admit.OUTSIDE_WINDOW,
        "outside the deploy windows of policy office; starts at 2027-01-18T14:00:00Z",
        opens,
    )


def test_a_freeze_holds_normal_and_lets_urgent_pass() -> None:
    freeze = {
        "start": "2027-01-18T00:00:00Z",
        "end": "2027-01-19T00:00:00Z",
        "reason": "audit",
        "allowUrgent": True,
    }
    frozen = admit.admit(req(), [policy("f", freezes=[freeze])], MONDAY_NOON)
    assert isinstance(frozen, admit.Hold) and frozen.reason == admit.FROZEN
    assert frozen.message.startswith("frozen by policy f (audit) until 2027-01-19T00:00:00Z")
    assert admit.admit(req("urgent"), [policy("f", freezes=[freeze])], MONDAY_NOON) == admit.Go()


def test_the_held_status_is_written_once_and_names_the_policy() -> None:
    hold = admit.budget_full("shared-db", 1, ["other/r@op"], MONDAY_NOON + 15)
    change = admit.held(req(phase="Pending"), hold, 1)
    assert change is not None and change.phase == Phase.QUEUED
    assert change.fields.held_by == "shared-db"
    assert change.message == (
        "Held by policy shared-db: waiting for a slot of policy shared-db's budget (maxConcurrent 1; running: "
        "other/r). Position 1 in the queue of namespace ns."
    )
    shown = Request.parse(
        {
            **req().body,
            "status": {
                "phase": "Queued",
                "heldBy": "shared-db",
                "message": change.message,
                "queuePosition": 1,
            },
        }
    )
    assert admit.held(shown, hold, 1) is None


def test_every_waiting_request_beyond_a_limit_is_refused_wherever_it_stands() -> None:
    strict = policy("strict", limits={"allowedPriorities": ["normal", "low"], "maxVerificationSeconds": 30})
    fine, urgent = req(), req("urgent", "Queued")
    long = req("low", "Queued", verification={"durationSeconds": 300})
    refused = admit.refusals([fine, urgent, long], [policy("loose"), strict])
    assert [(r.spec.priority, refuse.policy) for r, refuse in refused] == [
        ("urgent", "strict"),
        ("low", "strict"),
    ]
    assert "exceeds policy strict's limit of 30s" in refused[1][1].message


def test_no_limits_set_refuses_nothing() -> None:
    assert admit.refusals([req("urgent", "Queued")], [policy("budget", maxConcurrent=1)]) == []

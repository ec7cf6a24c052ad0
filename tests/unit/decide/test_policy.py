"""DeployPolicy decisions (issue 19): selection, windows across time zones and DST, freezes, approval, limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from deployreq.api.model import Priority
from deployreq.api.policy import DeployPolicy
from deployreq.decide.policy import (
    approval_needed,
    budgets,
    governing,
    limit_violation,
    may_start,
    selects,
)


def policy(name: str = "prod", **spec: Any) -> DeployPolicy:
    return DeployPolicy.model_validate({"name": name, "spec": {"namespaceSelector": {}, **spec}})


BERLIN_WORKDAYS = {
    "days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
    "start": "09:00",
    "end": "17:00",
    "timeZone": "Europe/Berlin",
}


def test_selectors_follow_kubernetes_label_selector_rules() -> None:
    labelled = policy(namespaceSelector={"matchLabels": {"tier": "prod"}})
    assert selects(labelled.spec.namespace_selector, {"tier": "prod", "team": "a"})
    assert not selects(labelled.spec.namespace_selector, {"tier": "dev"})
    expressions = policy(
        namespaceSelector={
            "matchExpressions": [
                {"key": "team", "operator": "In", "values": ["a", "b"]},
                {"key": "legacy", "operator": "DoesNotExist"},
            ]
        }
    )
    assert selects(expressions.spec.namespace_selector, {"team": "b"})
    assert not selects(expressions.spec.namespace_selector, {"team": "c"})
    assert not selects(expressions.spec.namespace_selector, {"team": "a", "legacy": "yes"})
    assert selects(policy().spec.namespace_selector, {}), "{} selects every namespace"
    assert [p.name for p in governing([labelled, policy("all")], {"tier": "dev"})] == ["all"]


def test_a_closed_window_says_when_it_opens_in_utc_across_a_weekend() -> None:
    rules = [policy(windows=[BERLIN_WORKDAYS])]
    friday_evening = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)  # 18:30 in Berlin (CET, UTC+1)
    rule = may_start(rules, friday_evening, Priority.NORMAL)
    assert not rule.allowed
    assert rule.next_start == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday 09:00 CET
    assert "outside the deploy windows of policy prod" in rule.message
    assert may_start(rules, datetime(2026, 12, 7, 8, 0, tzinfo=UTC), Priority.NORMAL).allowed


def test_windows_follow_daylight_saving_time() -> None:
    rules = [policy(windows=[BERLIN_WORKDAYS])]
    summer_morning = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)  # 09:30 CEST (UTC+2)
    assert may_start(rules, summer_morning, Priority.NORMAL).allowed
    winter_morning = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)  # 08:30 CET: not yet
    assert may_start(rules, winter_morning, Priority.NORMAL).next_start == datetime(
        2026, 12, 2, 8, 0, tzinfo=UTC
    )


def test_a_freeze_holds_normal_requests_and_lets_urgent_pass_when_allowed() -> None:
    freeze = {
        "start": "2026-12-24T00:00:00Z",
        "end": "2026-12-27T00:00:00Z",
        "reason": "holidays",
        "allowUrgent": True,
    }
    rules = [policy(freezes=[freeze])]
    christmas = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)
    held = may_start(rules, christmas, Priority.NORMAL)
    assert not held.allowed and "frozen by policy prod (holidays)" in held.message
    assert held.next_start == datetime(2026, 12, 27, tzinfo=UTC)
    assert may_start(rules, christmas, Priority.URGENT).allowed
    strict = [policy(freezes=[{**freeze, "allowUrgent": False}])]
    assert not may_start(strict, christmas, Priority.URGENT).allowed


def test_the_strictest_policy_wins_when_several_select_a_namespace() -> None:
    mornings = policy("a", windows=[{"days": ["Mon"], "start": "08:00", "end": "12:00"}])
    afternoons = policy("b", windows=[{"days": ["Mon"], "start": "11:00", "end": "15:00"}])
    monday_nine = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    rule = may_start([mornings, afternoons], monday_nine, Priority.NORMAL)
    assert not rule.allowed and "policy b" in rule.message
    assert rule.next_start == datetime(2026, 12, 7, 11, 0, tzinfo=UTC), "both open from 11:00"
    disjoint = policy("c", windows=[{"days": ["Tue"], "start": "08:00", "end": "09:00"}])
    never = may_start([mornings, disjoint], monday_nine, Priority.NORMAL)
    assert never.next_start is None and "no opening within a week" in never.message
    assert budgets([policy("x", maxConcurrent=2), policy("y"), policy("z", maxConcurrent=1)]) == [
        ("x", 2),
        ("z", 1),
    ]


def test_approval_by_priority() -> None:
    rules = [policy(approval={"required": True, "priorities": ["high", "urgent"]})]
    assert approval_needed(rules, Priority.NORMAL) is None
    assert approval_needed(rules, Priority.URGENT) == "prod"
    assert approval_needed([policy(approval={"required": True})], Priority.LOW) == "prod"


def test_limits_name_the_policy_and_what_to_fix() -> None:
    rules = [policy(limits={"maxVerificationSeconds": 300, "allowedPriorities": ["low", "normal", "high"]})]
    assert limit_violation(rules, Priority.NORMAL, 300, 600) is None
    assert (
        limit_violation(rules, Priority.NORMAL, 900, 600)
        == "verification of 900s exceeds policy prod's limit of 300s"
    )
    assert limit_violation(rules, Priority.URGENT, 0, 600) == (
        "priority urgent is not allowed by policy prod (allowed: low, normal, high)"
    )


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"windows": [{**BERLIN_WORKDAYS, "timeZone": "Mars/Olympus"}]}, 'unknown time zone "Mars/Olympus"'),
        ({"windows": [{**BERLIN_WORKDAYS, "end": "08:00"}]}, "window end 08:00 must be after start 09:00"),
        ({"windows": [{**BERLIN_WORKDAYS, "start": "9:00"}]}, "String should match pattern"),
        (
            {"freezes": [{"start": "2026-12-27T00:00:00Z", "end": "2026-12-24T00:00:00Z"}]},
            "must be after start",
        ),
        (
            {"freezes": [{"start": "2026-12-24T00:00:00", "end": "2026-12-27T00:00:00"}]},
            "need a time zone offset",
        ),
        ({"maxConcurrent": 0}, "greater than or equal to 1"),
        (
            {"namespaceSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
            "In needs at least one value",
        ),
    ],
)
def test_invalid_policies_are_refused_with_a_clear_message(spec: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        policy(**spec)


def test_the_selector_must_be_written() -> None:
    with pytest.raises(ValidationError, match="namespaceSelector"):
        DeployPolicy.model_validate({"name": "p", "spec": {"maxConcurrent": 1}})

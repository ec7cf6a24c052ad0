"""What a DeployPolicy's status shows (decide/policy_status.py): its namespaces, active requests, whether it is open
and when that flips (windows in their own time zone, freezes), whether it is valid; and when to look again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deployreq.api import policy as api
from deployreq.api.policy_status import SHOWN_NAMESPACES, DeployPolicyStatus
from deployreq.decide.policy_status import Shown, patch_of, seen_of, show

Obj = dict[str, Any]
BERLIN = {
    "days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
    "start": "09:00",
    "end": "17:00",
    "timeZone": "Europe/Berlin",
}
NAMESPACES = {"shop": {"tier": "prod"}, "cart": {"tier": "prod"}, "dev": {"tier": "dev"}}


def body(generation: int = 1, status: Obj | None = None, **spec: Any) -> Obj:
    obj: Obj = {
        "metadata": {"name": "prod", "generation": generation},
        "spec": {"namespaceSelector": {"matchLabels": {"tier": "prod"}}, **spec},
    }
    if status is not None:
        obj["status"] = status
    return obj


def shown(obj: Obj, now: datetime, active: dict[str, int] | None = None, namespaces: Any = None) -> Shown:
    seen = seen_of(obj, api.parse(obj))
    return show(seen, NAMESPACES if namespaces is None else namespaces, active or {}, now)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_the_selected_namespaces_sorted_and_their_active_requests_counted() -> None:
    result = shown(body(maxConcurrent=2), at("2026-12-01T12:00:00+00:00"), {"shop": 1, "cart": 1, "dev": 3})
    status = result.status
    assert (status["namespaces"], status["namespaceCount"], status["active"]) == (["cart", "shop"], 2, 2)
    assert status["open"] is True and status["message"] == ""
    assert "nextChange" not in status and "nextWindowOpens" not in status, (
        "no windows, no freezes: never flips"
    )
    assert result.next_change is None, "nothing changes by time alone: no timer"
    assert status["observedGeneration"] == 1
    DeployPolicyStatus.model_validate(status)  # what the CRD's schema accepts


def test_many_namespaces_are_capped_and_counted() -> None:
    many = {f"ns-{i:04d}": {"tier": "prod"} for i in range(SHOWN_NAMESPACES + 20)}
    status = shown(body(), at("2026-12-01T12:00:00+00:00"), namespaces=many).status
    assert status["namespaceCount"] == SHOWN_NAMESPACES + 20
    assert status["namespaces"] == sorted(many)[:SHOWN_NAMESPACES]


def test_outside_the_window_it_is_closed_until_the_window_opens_in_its_own_time_zone() -> None:
    # Tuesday 07:30 UTC is 08:30 in Berlin (UTC+1 in December): the window opens at 08:00 UTC.
    result = shown(body(windows=[BERLIN]), at("2026-12-01T07:30:00+00:00"))
    status = result.status
    assert status["open"] is False
    assert status["message"] == "outside the deploy windows of policy prod; starts at 2026-12-01T08:00:00Z"
    assert status["nextChange"] == status["nextWindowOpens"] == "2026-12-01T08:00:00Z"
    assert result.next_change == at("2026-12-01T08:00:00+00:00")


def test_inside_the_window_it_is_open_until_it_closes_and_the_next_window_is_tomorrow() -> None:
    # Friday 16:00 UTC is 17:00 in Berlin in summer (UTC+2): closed; 14:00 UTC is inside.
    result = shown(body(windows=[BERLIN]), at("2026-07-03T14:00:00+00:00"))
    status = result.status
    assert status["open"] is True
    assert status["nextChange"] == "2026-07-03T15:00:00Z", "closes at 17:00 Berlin summer time"
    assert status["nextWindowOpens"] == "2026-07-06T07:00:00Z", "Monday 09:00 in Berlin"
    assert result.next_change == at("2026-07-03T15:00:00+00:00")


def test_a_freeze_closes_it_until_its_end_and_the_timer_is_set_for_the_end() -> None:
    freeze = {"start": "2026-12-24T00:00:00Z", "end": "2026-12-27T00:00:00Z", "reason": "holidays"}
    before = shown(body(freezes=[freeze]), at("2026-12-20T00:00:00+00:00"))
    assert before.status["open"] is True and before.status["nextChange"] == "2026-12-24T00:00:00Z"
    assert before.next_change == at("2026-12-24T00:00:00+00:00"), "a timer for a freeze days ahead"
    during = shown(body(freezes=[freeze]), at("2026-12-25T00:00:00+00:00"))
    assert during.status["open"] is False
    assert during.status["message"].startswith("frozen by policy prod (holidays) until 2026-12-27T00:00:00Z")
    assert during.status["nextChange"] == "2026-12-27T00:00:00Z"
    assert "nextWindowOpens" not in during.status


def test_a_freeze_over_a_window_keeps_it_closed_past_the_window_opening() -> None:
    freeze = {"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z"}
    result = shown(body(windows=[BERLIN], freezes=[freeze]), at("2026-12-01T07:30:00+00:00"))
    status = result.status
    assert status["open"] is False
    assert status["nextChange"] == "2026-12-02T08:00:00Z", "the first window after the freeze"
    assert status["nextWindowOpens"] == "2026-12-01T08:00:00Z", "the window opens, frozen"
    assert result.next_change == at("2026-12-01T08:00:00+00:00"), "the message changes there: look again"


def test_an_unknown_time_zone_makes_it_invalid_with_the_reason_and_still_shows_whom_it_selects() -> None:
    window = {**BERLIN, "timeZone": "Mars/Olympus"}
    result = shown(body(generation=3, windows=[window]), at("2026-12-01T12:00:00+00:00"), {"shop": 1})
    status = result.status
    [valid] = status["conditions"]
    assert (valid["type"], valid["status"], valid["reason"]) == ("Valid", "False", "UnknownTimeZone")
    assert (
        'unknown time zone "Mars/Olympus"' in valid["message"] and "ignores this policy" in valid["message"]
    )
    assert (valid["observedGeneration"], valid["lastTransitionTime"]) == (3, "2026-12-01T12:00:00Z")
    assert "open" not in status and "nextChange" not in status
    assert (status["namespaceCount"], status["active"]) == (2, 1)
    assert result.next_change is None


def test_the_valid_conditions_transition_time_is_kept_while_its_status_stays() -> None:
    first = shown(body(), at("2026-12-01T12:00:00+00:00")).status
    again = shown(body(generation=2, status=first), at("2026-12-05T12:00:00+00:00")).status
    [valid] = again["conditions"]
    assert valid["status"] == "True" and valid["lastTransitionTime"] == "2026-12-01T12:00:00Z"
    assert valid["observedGeneration"] == 2
    broken = body(generation=3, status=again, windows=[{**BERLIN, "timeZone": "Mars/Olympus"}])
    [invalid] = shown(broken, at("2026-12-06T12:00:00+00:00")).status["conditions"]
    assert invalid["status"] == "False" and invalid["lastTransitionTime"] == "2026-12-06T12:00:00Z"


def test_the_same_inputs_show_the_same_status_so_nothing_is_written_again() -> None:
    now = at("2026-12-01T07:30:00+00:00")
    first = shown(body(windows=[BERLIN]), now).status
    assert shown(body(windows=[BERLIN], status=first), now).status == first


def test_the_patch_removes_what_the_status_no_longer_shows() -> None:
    status = shown(
        body(windows=[{**BERLIN, "timeZone": "Mars/Olympus"}]), at("2026-12-01T12:00:00+00:00")
    ).status
    patch = patch_of(status)["status"]
    assert patch["open"] is None and patch["nextChange"] is None and patch["nextWindowOpens"] is None
    assert {k: v for k, v in patch.items() if v is not None} == status

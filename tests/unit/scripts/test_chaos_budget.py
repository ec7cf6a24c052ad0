"""The chaos budget invariant (scripts/chaos_budget.py): requests active at once across a policy's namespaces, from
the accepted status writes in the order they took effect; an overlap beyond the budget is reported."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from scripts import chaos_budget

Obj = dict[str, Any]


def status(ns: str, name: str, at: float, phase: str, code: int = 200) -> Obj:
    return {
        "time": at,
        "duration_ms": 2,
        "verb": "patch",
        "resource": "deploymentrequests",
        "subresource": "status",
        "namespace": ns,
        "name": name,
        "code": code,
        "requestObject": {"status": {"phase": phase}},
    }


RUN = [  # a and b one after the other in a budget of one; c's Queued write changes nothing
    status("a", "r", 1.0, "Deploying"),
    status("c", "r", 1.5, "Queued"),
    status("a", "r", 2.0, "Verifying"),
    status("a", "r", 3.0, "Succeeded"),
    status("b", "r", 3.1, "Checking"),
    status("b", "r", 4.0, "RolledBack"),
]


def test_one_at_a_time_keeps_a_budget_of_one() -> None:
    assert chaos_budget.check(RUN, {"a", "b", "c"}, 1) == ([], 1)


def test_an_overlap_beyond_the_budget_is_reported() -> None:
    trail = [*RUN, status("c", "r", 3.5, "Deploying")]
    violations, most = chaos_budget.check(trail, {"a", "b", "c"}, 1)
    assert most == 2
    assert violations == ["budget of 1 (chaos-budget): 2 requests active at 3.502: ['b/r', 'c/r']"]


def test_refused_writes_and_namespaces_outside_the_policy_do_not_count() -> None:
    trail = [*RUN, status("c", "r", 3.5, "Deploying", code=409), status("other", "r", 3.5, "Deploying")]
    assert chaos_budget.check(trail, {"a", "b", "c"}, 1) == ([], 1)


def test_a_run_where_nothing_was_active_proves_nothing() -> None:
    violations, most = chaos_budget.check([status("a", "r", 1.0, "Queued")], {"a"}, 1)
    assert most == 0 and "proves nothing" in violations[0]

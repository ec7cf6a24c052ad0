"""The chaos checker checks: a recorded trail of a clean run passes, and each planted violation is reported."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from scripts.chaos import LOST_MARK, check

Obj = dict[str, Any]
A, B = "op-a", "op-b"


def lease(ns: str, at: float, op: str, holder: str, verb: str = "update", took: float = 0.002) -> Obj:
    return {
        "time": at,
        "duration_ms": took * 1000,
        "verb": verb,
        "resource": "leases",
        "namespace": ns,
        "name": "" if verb == "create" else "deployreq-lock",
        "code": 201 if verb == "create" else 200,
        "userAgent": f"deployreq/{op}",
        "requestObject": {
            "metadata": {"name": "deployreq-lock"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 3},
        },
    }


def patch(
    ns: str, at: float, op: str, run: str, verb: str = "patch", took: float = 0.002, **extra: Any
) -> Obj:
    body = {"metadata": {"annotations": {"deployreq.dev/run": run}}, "spec": {"template": {}}}
    return {
        "time": at,
        "duration_ms": took * 1000,
        "verb": verb,
        "resource": "deployments",
        "namespace": ns,
        "name": "web",
        "code": 200,
        "userAgent": f"deployreq/{op}",
        "requestObject": body,
        **extra,
    }


def undo(ns: str, at: float, op: str) -> Obj:
    ops = [
        {"op": "test", "path": "/metadata/generation", "value": 2},
        {"op": "replace", "path": "/spec/template", "value": {}},
        {"op": "replace", "path": "/metadata/annotations", "value": {}},
    ]
    return {**patch(ns, at, op, ""), "requestObject": ops}


def recorded_trail() -> list[Obj]:
    """Two namespaces, two operators: hand-over, an undo, a takeover after a stall, releases."""
    return [
        lease("a", 1.0, A, "r1@op-a", verb="create"),
        patch("a", 1.1, A, "r1/u1/1/"),
        lease("b", 1.2, B, "s1@op-b", verb="create"),
        patch("b", 1.3, B, "s1/v1/1/"),
        lease("b", 1.4, B, "s1@op-b"),  # renewal
        lease("a", 1.5, A, "r2@op-a"),  # hand-over to the next request
        patch("a", 1.6, A, "r2/u2/1/"),
        undo("a", 1.9, A),
        lease("a", 2.0, A, ""),  # release
        lease("b", 5.0, A, "s1@op-a"),  # op-b stalled: op-a takes over 3.6 s after the last renewal
        undo("b", 5.1, A),
        lease("b", 5.2, A, ""),
    ]


FINAL = {
    "a": {
        "r1": {
            "spec": {"images": [{"image": "app:2"}]},
            "status": {"phase": "Succeeded", "completedAt": "1"},
        },
        "r2": {"spec": {"images": [{"image": "app:9"}]}, "status": {"phase": "RolledBack"}},
    },
    "b": {"s1": {"spec": {"images": [{"image": "app:9"}]}, "status": {"phase": "RolledBack"}}},
}
DEPLOYMENTS = {"a": {"app": "app:2"}, "b": {"app": "app:1"}}
INITIAL = {"a": "app:1", "b": "app:1"}


def violations(
    trail: list[Obj], final: Obj = FINAL, deployments: Obj = DEPLOYMENTS, leases: Obj | None = None
) -> list[str]:
    found, _ = check(trail, final, deployments, leases or {}, INITIAL)
    return found


def test_the_recorded_trail_of_a_clean_run_passes_and_counts_what_it_examined() -> None:
    found, stats = check(recorded_trail(), FINAL, DEPLOYMENTS, {}, INITIAL)
    assert found == []
    assert (stats.deployment_writes, stats.image_patches, stats.undos) == (5, 3, 2)
    assert stats.takeovers == 1 and stats.lock_holders == {A, B} and stats.overlaps >= 1


def planted(*records: Obj) -> list[Obj]:
    return recorded_trail() + list(records)


@pytest.mark.parametrize(
    ("trail", "reported"),
    [
        pytest.param(
            planted(patch("b", 1.35, A, "s1/v1/1/")), "the lock was held by s1@op-b", id="other operator"
        ),
        pytest.param(
            planted(patch("a", 1.65, A, "r3/u3/1/")),
            "patch of run r3/u3/1/ while r2@op-a",
            id="wrong request",
        ),
        pytest.param(
            planted(patch("a", 1.7, B, "x", verb="update")), "the lock was held by r2@op-a", id="a PUT counts"
        ),
        pytest.param(planted(undo("a", 1.95, A)), "run r2/u2/1/ wrote its undo 2 times", id="doubled undo"),
        pytest.param(
            planted(patch("b", 1.32, B, "s1/v1/1/")),
            "run s1/v1/1/ wrote its patch 2 times",
            id="doubled patch",
        ),
        pytest.param(
            planted(lease("b", 2.0, A, "s1@op-a")),
            "took the lock from s1@op-b 0.60s after",
            id="early takeover",
        ),
        pytest.param(
            planted(lease("a", 1.7, A, "r1@op-a"), undo("a", 1.75, A)),
            "r1 wrote again after r2",
            id="interleaved",
        ),
        pytest.param(planted(patch("a", 2.5, A, "r2/u2/1/")), "no request held the lock", id="no lock"),
        pytest.param(
            planted({**patch("a", 1.62, A, ""), "requestObject": {"spec": {"replicas": 5}}}),
            "neither an image patch nor an undo",
            id="unexplained write",
        ),
        pytest.param(
            # received before op-a's takeover at 5.0 but committed after it (0.3 s of injected latency): arrival order
            # would pass it, the moment it took effect does not
            planted(patch("b", 4.9, B, "s1/v1/1/", took=0.3)),
            "the lock was held by s1@op-a",
            id="committed after a takeover",
        ),
    ],
)
def test_each_planted_violation_is_reported(trail: list[Obj], reported: str) -> None:
    found = violations(trail)
    assert any(reported in v for v in found), found


def test_a_retry_of_a_write_whose_response_was_lost_is_no_double_write() -> None:
    trail = recorded_trail()
    trail[1] = {**trail[1], "userAgent": f"deployreq/{A} {LOST_MARK}"}
    assert violations([*trail, patch("a", 1.12, A, "r1/u1/1/")]) == []
    # ... but a second retry, or one after another write, is
    assert violations([*trail, patch("a", 1.12, A, "r1/u1/1/"), patch("a", 1.13, A, "r1/u1/1/")])


def test_a_run_where_one_operator_never_takes_a_lock_fails() -> None:
    trail = [r for r in recorded_trail() if r["namespace"] == "a"]
    final = {"a": FINAL["a"]}
    found, _ = check(trail, final, {"a": DEPLOYMENTS["a"]}, {}, INITIAL)
    assert found == ["only ['op-a'] ever held a lock: the run proves nothing about 2 operators"]


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        ("stuck", "a: request r2 never ended"),
        ("image", "a: Deployment runs app:9, expected app:2"),
        ("lease", "b: lock still held by op-b"),
    ],
)
def test_final_state_violations_are_reported(change: str, reported: str) -> None:
    final, deployments, leases = copy.deepcopy(FINAL), copy.deepcopy(DEPLOYMENTS), {}
    if change == "stuck":
        final["a"]["r2"]["status"]["phase"] = "RollingBack"
    elif change == "image":
        deployments["a"]["app"] = "app:9"
    else:
        leases = {"b": "op-b"}
    assert reported in violations(recorded_trail(), final, deployments, leases)


def with_revisions(trail: list[Obj]) -> list[Obj]:
    """The trail as the real API server's audit log gives it (scripts/real_cluster.py): each accepted write with
    etcd's revision at its commit (here 10, 20, ... in the order of the trail's times)."""
    ordered = sorted(trail, key=lambda r: r["time"] + r["duration_ms"] / 1000)
    return [{**r, "revision": 10 * (i + 1)} for i, r in enumerate(ordered)]


def test_the_real_audit_logs_records_are_checked_in_commit_order() -> None:
    trail = with_revisions(recorded_trail())
    found, stats = check(trail, FINAL, DEPLOYMENTS, {}, INITIAL)
    assert found == [] and stats.takeovers == 1 and (stats.image_patches, stats.undos) == (3, 2)
    takeover = next(r for r in trail if r["namespace"] == "b" and r["time"] == 5.0)["revision"]
    # op-b's write answered before op-a's takeover (its times) but committed after it (its revision): a violation
    late = {**patch("b", 4.9, B, "s1/v1/9/"), "revision": takeover + 5}
    assert any("the lock was held by s1@op-a" in v for v in violations([*trail, late]))
    # ... and one answered after the takeover but committed before it passes: the commit decides, not the clock
    early = {**patch("b", 5.05, B, "s1/v1/9/"), "revision": takeover - 5}
    assert violations([*trail, early]) == []

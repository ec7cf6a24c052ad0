"""The Deployment controller's pure calculations."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim.controllers import deployment_math as dm


def dep(
    replicas: int, surge: Any = "25%", unavailable: Any = "25%", kind: str = "RollingUpdate"
) -> dict[str, Any]:
    strategy: dict[str, Any] = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"generation": 1}, "spec": {"replicas": replicas, "strategy": strategy}}


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "expected"),
    [
        (10, "25%", "25%", (3, 2)),  # surge rounds up, unavailable down
        (1, "25%", "25%", (1, 0)),
        (4, 0, 0, (0, 1)),  # both zero: one may be unavailable
        (3, "0%", "0%", (0, 1)),
        (5, 2, "100%", (2, 5)),
    ],
)
def test_surge_and_unavailable(
    replicas: int, surge: Any, unavailable: Any, expected: tuple[int, int]
) -> None:
    assert dm.surge_and_unavailable(dep(replicas, surge, unavailable)) == expected


def test_recreate_allows_neither_surge_nor_unavailability() -> None:
    assert dm.max_surge(dep(3, kind="Recreate")) == 0
    assert dm.max_unavailable(dep(3, kind="Recreate")) == 0
    assert dm.max_unavailable(dep(0)) == 0


def test_template_hash_is_stable_short_and_safe() -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "x"}]}}
    first = dm.template_hash(template)
    assert first == dm.template_hash(dict(reversed(list(template.items()))))
    assert 1 <= len(first) <= 10
    assert set(first) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert dm.template_hash(template, 1) != first


def test_without_hash_ignores_only_the_pod_template_hash_label() -> None:
    a = {"metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}}, "spec": {}}
    assert dm.without_hash(a) == {"metadata": {"labels": {"app": "web"}}, "spec": {}}
    only = {"metadata": {"labels": {"pod-template-hash": "abc"}}, "spec": {}}
    assert dm.without_hash(only) == {"metadata": {}, "spec": {}}


def rs(name: str, replicas: int, created: str, max_replicas: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "annotations": {dm.MAX_REPLICAS: str(max_replicas)},
        },
        "spec": {"replicas": replicas},
    }


def test_proportional_sizes_scale_up_and_down() -> None:
    old = rs("old", 8, "2026-01-01T00:00:00Z", 13)
    new = rs("new", 5, "2026-01-01T00:01:00Z", 13)
    up = {r["metadata"]["name"]: n for r, n in dm.proportional_sizes(dep(15, 3, 2), [old, new])}
    assert up == {"old": 11, "new": 7}
    down = {r["metadata"]["name"]: n for r, n in dm.proportional_sizes(dep(5, 3, 2), [old, new])}
    assert sum(down.values()) == 8  # 5 + surge 3
    assert down == {"old": 5, "new": 3}


def test_made_progress_and_complete() -> None:
    assert dm.made_progress({"updatedReplicas": 1}, {"updatedReplicas": 2})
    assert dm.made_progress({"replicas": 4, "updatedReplicas": 2}, {"replicas": 3, "updatedReplicas": 2})
    assert not dm.made_progress({"readyReplicas": 2}, {"readyReplicas": 1})
    status = {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}
    assert dm.complete(dep(3), status)
    assert not dm.complete(dep(3), {**status, "replicas": 4})

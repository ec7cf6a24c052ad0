"""Pods get the QoS class the real API server computes from their containers' cpu and memory."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kubesim.controllers.qos import qos_class, quantity


def pod(*resources: dict[str, Any], init: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(resources)]
    }
    if init is not None:
        spec["initContainers"] = [{"name": "init", "resources": init}]
    return {"spec": spec}


BOTH = {"cpu": "500m", "memory": "128Mi"}


@pytest.mark.parametrize(
    ("text", "value"),
    [("500m", "0.5"), ("2", "2"), ("128Mi", str(128 * 2**20)), ("1G", "1e9"), ("1e3", "1000"), ("x", "0")],
)
def test_quantities_parse_like_resource_quantity(text: str, value: str) -> None:
    assert quantity(text) == Decimal(value)


def test_no_resources_is_best_effort() -> None:
    assert qos_class(pod({})) == "BestEffort"
    assert qos_class(pod({"requests": {"cpu": "0"}})) == "BestEffort"
    assert qos_class(pod({"requests": {"ephemeral-storage": "1Gi"}})) == "BestEffort"


def test_limits_on_cpu_and_memory_everywhere_is_guaranteed() -> None:
    assert qos_class(pod({"limits": BOTH})) == "Guaranteed"
    assert qos_class(pod({"limits": BOTH, "requests": {"cpu": "0.5", "memory": "128Mi"}})) == "Guaranteed"
    assert qos_class(pod({"limits": BOTH}, {"limits": {"cpu": "1", "memory": "1Gi"}})) == "Guaranteed"


def test_partial_or_unequal_resources_are_burstable() -> None:
    assert qos_class(pod({"requests": {"cpu": "100m"}})) == "Burstable"
    assert qos_class(pod({"limits": {"cpu": "1"}})) == "Burstable"
    assert qos_class(pod({"limits": BOTH, "requests": {"cpu": "100m"}})) == "Burstable"
    assert qos_class(pod({"limits": BOTH}, {})) == "Burstable"
    assert qos_class(pod({"limits": BOTH}, init={"requests": {"memory": "1Mi"}})) == "Burstable"


def test_odd_objects_do_not_break_it() -> None:
    assert qos_class({}) == "BestEffort"
    assert (
        qos_class({"spec": {"containers": [{"name": "a", "resources": {"limits": "nonsense"}}]}})
        == "BestEffort"
    )

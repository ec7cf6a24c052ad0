"""A pod's QoS class as the API server computes it (pkg/apis/core/helper/qos/qos.go ComputePodQOS): only cpu and
memory count, zero quantities are ignored, and a container's unset requests default to its limits."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_QOS_RESOURCES = ("cpu", "memory")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1)}
_DECIMAL |= {"k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12")}
_DECIMAL |= {"P": Decimal("1e15"), "E": Decimal("1e18")}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def quantity(value: Any) -> Decimal:
    """A resource.Quantity's value (``500m``, ``128Mi``, ``1e3``, ``2``); unparsable values count as zero."""
    match = _QUANTITY.match(str(value).strip())
    if match is None:
        return Decimal(0)
    number, suffix = match.groups()
    try:
        base = Decimal(number)
        if suffix in _BINARY:
            return base * _BINARY[suffix]
        if suffix in _DECIMAL:
            return base * _DECIMAL[suffix]
        return base * Decimal(10) ** int(suffix[1:])
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _positive(resources: Any) -> dict[str, Decimal]:
    if not isinstance(resources, dict):
        return {}
    found = {name: quantity(resources[name]) for name in _QOS_RESOURCES if name in resources}
    return {name: amount for name, amount in found.items() if amount > 0}


def qos_class(pod: dict[str, Any]) -> str:
    """``Guaranteed`` when every container limits cpu and memory and requests equal limits, ``BestEffort``
    when nothing is requested or limited, else ``Burstable``."""
    spec = pod.get("spec") or {}
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        found = container.get("resources") if isinstance(container, dict) else None
        resources: dict[str, Any] = found if isinstance(found, dict) else {}
        container_limits = _positive(resources.get("limits"))
        # Defaulting (SetDefaults_ResourceRequirements) copies limits into unset requests.
        raw = resources.get("requests")
        raw_requests: dict[str, Any] = raw if isinstance(raw, dict) else {}
        container_requests = {k: v for k, v in container_limits.items() if k not in raw_requests}
        container_requests |= _positive(raw_requests)
        for name, amount in container_requests.items():
            requests[name] = requests.get(name, Decimal(0)) + amount
        for name, amount in container_limits.items():
            limits[name] = limits.get(name, Decimal(0)) + amount
        if not all(name in container_limits for name in _QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    equal = all(limits.get(name) == amount for name, amount in requests.items())
    if guaranteed and equal and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"

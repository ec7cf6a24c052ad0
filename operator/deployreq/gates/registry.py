"""Gate kind -> check factory. Adding a gate kind is adding a module and a line here.

An unknown kind is an error, never a fallback (Flagger's counter-example silently falls back to Prometheus).
Specs may be the pydantic ``deployreq.api.model.Gate`` or its camelCase dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from deployreq.api.model import Gate
from deployreq.gates.base import Check, GateError
from deployreq.gates.http import HttpCheck
from deployreq.gates.job import JobCheck
from deployreq.gates.pods import PodsCheck
from deployreq.gates.prometheus import PrometheusCheck

Factory = Callable[[Gate], Check]

FACTORIES: Mapping[str, Factory] = {
    "http": HttpCheck.from_spec,
    "prometheus": PrometheusCheck.from_spec,
    "pods": PodsCheck.from_spec,
    "job": JobCheck.from_spec,
}

COMMON_FIELDS = frozenset(
    {
        "name",
        "intervalSeconds",
        "timeoutSeconds",
        "initialDelaySeconds",
        "successThreshold",
        "failureThreshold",
    }
)


def as_gate(spec: Gate | Mapping[str, Any]) -> Gate:
    """The pydantic gate; GateError naming an unknown kind or the first validation problem."""
    if isinstance(spec, Gate):
        return spec
    unknown = sorted(k for k in spec if k not in COMMON_FIELDS and k not in FACTORIES)
    if unknown:
        raise GateError(
            f"gate {spec.get('name', '?')}: unknown gate kind {unknown[0]!r} (known: {', '.join(FACTORIES)})",
            final=True,
        )
    try:
        return Gate.model_validate(dict(spec))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        prefix = f"{where}: " if where else ""
        raise GateError(f"gate {spec.get('name', '?')}: {prefix}{message}", final=True) from None


def gate_kind(gate: Gate) -> str:
    """The one member set (http, prometheus or pods); GateError when none or several are."""
    kinds = [kind for kind in FACTORIES if getattr(gate, kind, None) is not None]
    if len(kinds) != 1:
        raise GateError(f"gate {gate.name}: exactly one of {', '.join(FACTORIES)} must be set", final=True)
    return kinds[0]


def build_check(spec: Gate | Mapping[str, Any]) -> Check:
    """A fresh check for one gate (checks may keep state: build one per stage run)."""
    gate = as_gate(spec)
    kind = gate_kind(gate)
    try:
        return FACTORIES[kind](gate)
    except GateError as exc:
        raise GateError(f"gate {gate.name}: {exc}", final=True) from None


def validate_gates(specs: Iterable[Gate | Mapping[str, Any]]) -> list[str]:
    """Problems building these gates (unknown kind, bad regex, duplicate name), for admission messages."""
    problems: list[str] = []
    seen: set[str] = set()
    for spec in specs:
        try:
            gate = as_gate(spec)
            build_check(gate)
        except GateError as exc:
            problems.append(str(exc))
            continue
        if gate.name in seen:
            problems.append(f"gate {gate.name}: the name is used twice")
        seen.add(gate.name)
    return problems

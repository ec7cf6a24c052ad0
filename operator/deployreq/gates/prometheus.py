"""The ``prometheus`` gate: an instant PromQL query whose value must be above and/or below thresholds.

Real Prometheus HTTP API: ``GET <address>/api/v1/query?query=...``. A ``vector`` result passes only when EVERY
series passes; a ``scalar`` is one value. An empty vector is judged by ``emptyResult`` (Fail, Pass or
Inconclusive). ``NaN`` never passes. A per-gate ``address`` must be on the operator's allow-list and pass the
guard; without one the operator's configured Prometheus is queried.
"""

from __future__ import annotations

import math
from typing import Any

import httpx

from deployreq.gates.base import GateEnv, GateError, Observation
from deployreq.gates.fetch import fetch
from deployreq.gates.redact import excerpt

MAX_SERIES_SHOWN = 5


def _normalized(address: str) -> str:
    return address.strip().rstrip("/")


class PrometheusCheck:
    """One ``prometheus`` gate; built by :func:`from_spec`."""

    kind = "prometheus"

    def __init__(self, spec: Any, timeout: float) -> None:
        if spec.above is None and spec.below is None:
            raise GateError("a prometheus gate needs above or below", final=True)
        self.spec = spec
        self.timeout = timeout

    @classmethod
    def from_spec(cls, gate: Any) -> PrometheusCheck:
        return cls(gate.prometheus, float(gate.timeout_seconds))

    def address(self, env: GateEnv) -> tuple[str, bool]:
        """The Prometheus to query and whether it is trusted (the operator's own)."""
        if self.spec.address:
            wanted = _normalized(self.spec.address)
            allowed = {_normalized(a) for a in env.settings.prometheus_allowed_addresses}
            if wanted not in allowed:
                raise GateError(
                    f"refused: Prometheus address {wanted} is not allowed by the operator "
                    "(--prometheus-allowed-address)",
                    final=True,
                )
            return wanted, False
        if not env.settings.prometheus_url:
            raise GateError(
                "no Prometheus configured: set the gate's address or the operator's --prometheus-url",
                final=True,
            )
        return _normalized(env.settings.prometheus_url), True

    async def observe(self, env: GateEnv) -> Observation:
        base, trusted = self.address(env)
        url = f"{base}/api/v1/query"
        query_url = str(httpx.URL(url, params={"query": self.spec.query}))
        response = await fetch(env, "GET", query_url, trusted=trusted, request_timeout=self.timeout)
        try:
            payload = response.json()
        except GateError:
            return Observation(False, f"HTTP {response.status}", "Prometheus answered with a non-JSON body")
        if not isinstance(payload, dict):
            return Observation(
                False, f"HTTP {response.status}", "Prometheus answered with an unexpected body"
            )
        if payload.get("status") != "success":
            reason = f"{payload.get('errorType', 'error')}: {payload.get('error', 'query failed')}"
            return Observation(False, f"HTTP {response.status}", f"Prometheus: {excerpt(reason, 160)}")
        return self.judge(payload.get("data") or {})

    def judge(self, data: dict[str, Any]) -> Observation:
        """Judge the ``data`` member of a successful query response."""
        kind = data.get("resultType")
        result = data.get("result")
        values: list[tuple[dict[str, Any], float]]
        try:
            if kind == "scalar":
                values = [({}, _sample_value(result))]
            elif kind == "vector" and isinstance(result, list):
                values = [(item.get("metric") or {}, _sample_value(item.get("value"))) for item in result]
            else:
                return Observation(
                    False,
                    "",
                    f"result type {kind!r} is not supported (use an instant vector or scalar query)",
                )
        except (TypeError, ValueError, AttributeError):
            return Observation(False, "", "Prometheus answered with a malformed sample")
        if not values:
            return self._empty()
        shown = ", ".join(_fmt(v) for _, v in values[:MAX_SERIES_SHOWN])
        if len(values) > MAX_SERIES_SHOWN:
            shown += f", … ({len(values)} series)"
        failing = [(metric, v) for metric, v in values if not self.passes(v)]
        if failing:
            metric, v = failing[0]
            where = f" for {_labels(metric)}" if metric else ""
            return Observation(
                False,
                shown,
                f"{_fmt(v)}{where} is not {self.wanted()}"
                + (f" ({len(failing)} of {len(values)} series fail)" if len(values) > 1 else ""),
            )
        return Observation(True, shown)

    def passes(self, value: float) -> bool:
        if math.isnan(value):
            return False
        above, below = self.spec.above, self.spec.below
        return (above is None or value > above) and (below is None or value < below)

    def wanted(self) -> str:
        parts = []
        if self.spec.above is not None:
            parts.append(f"above {_fmt(self.spec.above)}")
        if self.spec.below is not None:
            parts.append(f"below {_fmt(self.spec.below)}")
        return " and ".join(parts)

    def _empty(self) -> Observation:
        policy = str(getattr(self.spec.empty_result, "value", self.spec.empty_result))
        if policy == "Pass":
            return Observation(True, "empty")
        if policy == "Inconclusive":
            return Observation(None, "empty", "the query returned no series yet")
        return Observation(False, "empty", "the query returned no series")


def _sample_value(sample: Any) -> float:
    if not isinstance(sample, list) or len(sample) != 2:
        raise ValueError("not a [timestamp, value] pair")
    return float(sample[1])


def _fmt(value: float) -> str:
    return f"{value:g}"


def _labels(metric: dict[str, Any]) -> str:
    return excerpt("{" + ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items())) + "}", 160)

"""Health gates: checks run before the operator changes a Deployment (pre) and while it verifies (post).

One module per gate kind (``http``, ``prometheus``, ``pods``) behind the :class:`~deployreq.gates.base.Check`
protocol, a registry mapping the spec's member name to a factory, a pure tracker turning observations into
a gate phase, a runner driving a stage's gates concurrently, and the SSRF guard every user-named URL passes.
"""

from __future__ import annotations

from deployreq.gates.base import Check, GateEnv, GateError, Observation
from deployreq.gates.client import GateClients, make_clients
from deployreq.gates.flags import add_gate_flags, gate_settings_from
from deployreq.gates.guard import Guard, RefusedError, api_server_endpoints
from deployreq.gates.http import GATE_SECRET_LABEL
from deployreq.gates.registry import build_check, gate_kind, validate_gates
from deployreq.gates.runner import Clock, Stage, StageResult, SystemClock, run_stage, skip_refusal
from deployreq.gates.service import (
    dns_service_url,
    endpoint_addresses,
    proxy_service_url,
    service_external_name,
    service_port,
)
from deployreq.gates.settings import GateSettings
from deployreq.gates.tracker import GatePhase, GateRecord, Thresholds

__all__ = [
    "GATE_SECRET_LABEL",
    "Check",
    "Clock",
    "GateClients",
    "GateEnv",
    "GateError",
    "GatePhase",
    "GateRecord",
    "GateSettings",
    "Guard",
    "Observation",
    "RefusedError",
    "Stage",
    "StageResult",
    "SystemClock",
    "Thresholds",
    "add_gate_flags",
    "api_server_endpoints",
    "build_check",
    "dns_service_url",
    "endpoint_addresses",
    "gate_kind",
    "gate_settings_from",
    "make_clients",
    "proxy_service_url",
    "run_stage",
    "service_external_name",
    "service_port",
    "skip_refusal",
    "validate_gates",
]
